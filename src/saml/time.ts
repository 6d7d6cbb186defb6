import { SamlError } from "./errors.ts";

// xs:dateTime in UTC, as SAML core 1.3.3 requires ("MUST be expressed in UTC form"): a 'Z'
// suffix, 0 to 9 fractional digits (Entra sends 3, ADFS 7).
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/** Milliseconds since the epoch for a SAML instant; throws schema_invalid naming `field`. */
export function parseInstant(value: string | undefined, field: string): number {
  if (value === undefined)
    throw new SamlError("schema_invalid", { field, received: undefined, note: "required" });
  // Fixed positions first (this runs half a dozen times per login), the regex as the definition.
  const t = value.length >= 20 && value.length <= 30 ? fastInstant(value) : Number.NaN;
  if (!Number.isNaN(t)) return t;
  const m = INSTANT.exec(value);
  if (m === null) {
    throw new SamlError("schema_invalid", {
      field,
      expected: "a UTC instant like 2023-11-17T18:39:30.314Z",
      received: value,
    });
  }
  throw new SamlError("schema_invalid", {
    field,
    note: "not a real date and time",
    received: value,
  });
}

/** YYYY-MM-DDThh:mm:ss[.f{1,9}]Z read by position; NaN for anything else (then the slow path decides). */
function fastInstant(v: string): number {
  if (
    v.charCodeAt(4) !== 45 ||
    v.charCodeAt(7) !== 45 ||
    v.charCodeAt(10) !== 84 ||
    v.charCodeAt(13) !== 58 ||
    v.charCodeAt(16) !== 58
  )
    return Number.NaN;
  if (v.charCodeAt(v.length - 1) !== 90) return Number.NaN;
  const y = digits(v, 0, 4);
  const mo = digits(v, 5, 2);
  const d = digits(v, 8, 2);
  const h = digits(v, 11, 2);
  const mi = digits(v, 14, 2);
  const s = digits(v, 17, 2);
  let ms = 0;
  const end = v.length - 1;
  if (end > 19) {
    if (v.charCodeAt(19) !== 46 || end - 20 < 1 || end - 20 > 9) return Number.NaN;
    const frac = digits(v, 20, end - 20);
    if (Number.isNaN(frac)) return Number.NaN;
    ms = Math.floor(frac / 10 ** (end - 20 - 3));
    if (end - 20 < 3) ms = frac * 10 ** (3 - (end - 20));
  } else if (end !== 19) return Number.NaN;
  if (
    Number.isNaN(y + mo + d + h + mi + s) ||
    mo < 1 ||
    mo > 12 ||
    d < 1 ||
    h > 23 ||
    mi > 59 ||
    s > 59
  )
    return Number.NaN;
  // A day beyond the month's end (2023-02-30) would roll over in Date.UTC: refuse it.
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (mo === 2 ? (leap ? 29 : 28) : DAYS_IN_MONTH[mo]!) || y < 1000) return Number.NaN;
  return Date.UTC(y, mo - 1, d, h, mi, s, ms);
}

const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function digits(v: string, from: number, count: number): number {
  let n = 0;
  for (let i = from; i < from + count; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return Number.NaN;
    n = n * 10 + c;
  }
  return n;
}

export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}

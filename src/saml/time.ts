import { SamlError } from "./errors.ts";

// xs:dateTime in UTC, as SAML core 1.3.3 requires ("MUST be expressed in UTC form"): a 'Z'
// suffix, 0 to 9 fractional digits (Entra sends 3, ADFS 7).
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/** Milliseconds since the epoch for a SAML instant; throws schema_invalid naming `field`. */
export function parseInstant(value: string | undefined, field: string): number {
  if (value === undefined)
    throw new SamlError("schema_invalid", { field, received: undefined, note: "required" });
  const m = INSTANT.exec(value);
  if (m === null) {
    throw new SamlError("schema_invalid", {
      field,
      expected: "a UTC instant like 2023-11-17T18:39:30.314Z",
      received: value,
    });
  }
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac === undefined ? 0 : Number((frac + "00").slice(0, 3));
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  const check = new Date(t);
  if (
    Number.isNaN(t) ||
    check.getUTCDate() !== Number(d) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    Number(h) > 23 ||
    Number(mi) > 59 ||
    Number(s) > 59
  ) {
    throw new SamlError("schema_invalid", {
      field,
      note: "not a real date and time",
      received: value,
    });
  }
  return t;
}

export function formatInstant(ms: number): string {
  return new Date(ms).toISOString();
}

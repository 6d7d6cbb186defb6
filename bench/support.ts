/**
 * Shared setup of the Response-validation benchmarks: Entra-shaped responses signed with the
 * committed test key, the validators under comparison (Gatehouse, @node-saml/node-saml, samlify,
 * and the floor), and a sequential timing loop.
 *
 * Every validator is given the same pool of responses, in the same order, so all of them work on
 * the same bytes. The pool holds distinct responses (new Response and Assertion IDs, new
 * signatures) so Gatehouse's replay check does real work: its cache records every Assertion ID
 * and forgets them only when the pool wraps around.
 */

import {
  createHash,
  createPrivateKey,
  type KeyObject,
  randomUUID,
  timingSafeEqual,
  verify,
} from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SAML, ValidateInResponseTo } from "@node-saml/node-saml";
import * as samlify from "samlify";
import { buildEntraResponse, ENTRA_CLAIMS, entraIssuer } from "../src/mock-idp/response.ts";
import { DSIG_NS } from "../src/saml/algorithms.ts";
import { readCertificate, type TrustedCertificate } from "../src/saml/certs.ts";
import { decodeBase64Strict, signatureChildren } from "../src/saml/dsig.ts";
import { SAML_ASSERTION_NS } from "../src/saml/namespaces.ts";
import {
  type ReplayCache,
  type ResponseValidationOptions,
  validateResponse,
} from "../src/saml/response.ts";
import { canonicalize } from "../src/saml/xml/c14n.ts";
import { parseXml } from "../src/saml/xml/parse.ts";
import { child, childElements, directText } from "../src/saml/xml/tree.ts";

const KEYS_DIR = join(import.meta.dirname, "..", "test", "fixtures", "keys");

export const TENANT = "8f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a6b";
export const IDP_ENTITY_ID = entraIssuer(TENANT);
export const ACS_URL = "https://sso.example.test/api/auth/saml/callback";
export const SP_ENTITY_ID = "https://sso.example.test/saml/acme";
export const USER_UPN = "ada.lovelace@contoso.example";

export interface IdpKey {
  readonly privateKey: KeyObject;
  readonly certificatePem: string;
  /** Base64 DER, as Entra puts it in KeyInfo and as admins paste it. */
  readonly certificateBase64: string;
  readonly trusted: TrustedCertificate;
}

/** The committed Entra-like IdP key (test/fixtures/keys/idp-rsa.*, RSA-2048). */
export function loadIdpKey(): IdpKey {
  const certificatePem = readFileSync(join(KEYS_DIR, "idp-rsa.crt"), "utf8");
  return {
    privateKey: createPrivateKey(readFileSync(join(KEYS_DIR, "idp-rsa.key"), "utf8")),
    certificatePem,
    certificateBase64: certificatePem
      .replace(/-----(BEGIN|END) CERTIFICATE-----/g, "")
      .replace(/\s+/g, ""),
    trusted: readCertificate(certificatePem, "idp-rsa.crt"),
  };
}

export interface Sample {
  readonly xml: string;
  /** The SAMLResponse form value, exactly as the browser posts it. */
  readonly base64: string;
  readonly assertionId: string;
}

export interface Pool {
  readonly groupCount: number;
  readonly samples: readonly Sample[];
  /** Size of one decoded response, in bytes. */
  readonly bytes: number;
}

/**
 * `size` distinct Entra responses for one user with `groupCount` groups, Assertion signed
 * (Entra's default: RSA-SHA256, SHA-256 digest), unsolicited (no InResponseTo), issued `now`.
 */
export function buildPool(key: IdpKey, groupCount: number, size: number, now: Date): Pool {
  const groups = Array.from({ length: groupCount }, (_, i) => uuidFrom(`group-${i}`));
  const user = {
    upn: USER_UPN,
    mail: USER_UPN,
    objectId: uuidFrom("user"),
    givenName: "Ada",
    surname: "Lovelace",
    displayName: "Ada Lovelace",
    groups,
  };
  const samples: Sample[] = [];
  for (let i = 0; i < size; i++) {
    const assertionId = `_${randomUUID()}`;
    const xml = buildEntraResponse({
      tenantId: TENANT,
      user,
      acsUrl: ACS_URL,
      audience: SP_ENTITY_ID,
      now,
      signingKey: key.privateKey,
      signingCertificate: key.certificateBase64,
      signing: "assertion",
      // Entra's own limit: up to 150 groups still travel as values (above, groups.link).
      groupsOverageLimit: 150,
      assertionId,
    });
    samples.push({ xml, base64: Buffer.from(xml, "utf8").toString("base64"), assertionId });
  }
  return { groupCount, samples, bytes: Buffer.byteLength(samples[0]!.xml, "utf8") };
}

/** A stable GUID-shaped value derived from a label, so both pools describe the same user. */
function uuidFrom(label: string): string {
  const h = createHash("sha256").update(label).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * A validator under test: `run` validates the next response of the pool (cycling), `check`
 * throws unless a result is the expected user with every group.
 */
export interface Contender {
  readonly name: string;
  readonly note?: string;
  run(): Promise<unknown> | unknown;
  check(result: unknown): void;
}

/** Cycles through the pool; `onWrap` runs each time it starts over. */
function cycler(pool: Pool, onWrap?: () => void): () => Sample {
  let i = 0;
  const samples = pool.samples;
  return () => {
    if (i === samples.length) {
      i = 0;
      onWrap?.();
    }
    return samples[i++]!;
  };
}

/**
 * An in-memory replay cache that really records every Assertion ID (a Map lookup and insert per
 * validation, as the SQLite/PostgreSQL stores do an atomic insert), and forgets everything when
 * told to: the benchmark calls `forget` when its pool of responses starts over.
 */
export function forgetfulReplayCache(): ReplayCache & { forget(): void; readonly size: number } {
  const seen = new Map<string, number>();
  return {
    consume(key, expiresAt) {
      if (seen.has(key)) return false;
      seen.set(key, expiresAt.getTime());
      return true;
    },
    forget() {
      seen.clear();
    },
    get size() {
      return seen.size;
    },
  };
}

/** Accepts every Assertion ID: what the peers do (neither checks replay by itself). */
export const noReplayCache: ReplayCache = { consume: () => true };

export function gatehouseOptions(
  key: IdpKey,
  replayCache: ReplayCache,
  now: Date,
): ResponseValidationOptions {
  return {
    idpCertificates: [key.trusted],
    idpEntityId: IDP_ENTITY_ID,
    spEntityId: SP_ENTITY_ID,
    acsUrl: ACS_URL,
    allowUnsolicited: true,
    requireSignedAssertion: true,
    clockSkewSeconds: 180,
    replayCache,
    now,
  };
}

export function gatehouse(key: IdpKey, pool: Pool, replay: "memory" | "none"): Contender {
  let cache: ReplayCache = noReplayCache;
  let onWrap: (() => void) | undefined;
  if (replay === "memory") {
    const forgetful = forgetfulReplayCache();
    cache = forgetful;
    onWrap = () => forgetful.forget();
  }
  const next = cycler(pool, onWrap);
  const base = gatehouseOptions(key, cache, new Date());
  return {
    name:
      replay === "memory" ? "gatehouse (in-memory replay cache)" : "gatehouse (no replay check)",
    // A server reads the clock on each request; so does each run.
    run: () => validateResponse(next().base64, { ...base, now: new Date() }),
    check(result) {
      const r = result as Awaited<ReturnType<typeof validateResponse>>;
      expectUser(r.nameId, r.attributes[ENTRA_CLAIMS.groups]?.length, pool.groupCount);
    },
  };
}

export function nodeSaml(key: IdpKey, pool: Pool): Contender {
  const saml = new SAML({
    callbackUrl: ACS_URL,
    idpCert: key.certificatePem,
    issuer: SP_ENTITY_ID,
    audience: SP_ENTITY_ID,
    idpIssuer: IDP_ENTITY_ID,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: 180_000,
    // Unsolicited responses, as for Gatehouse's allowUnsolicited (no request cache to consult).
    validateInResponseTo: ValidateInResponseTo.never,
  });
  const next = cycler(pool);
  return {
    name: "@node-saml/node-saml",
    run: () => saml.validatePostResponseAsync({ SAMLResponse: next().base64 }),
    check(result) {
      const profile = (result as { profile: Record<string, unknown> | null }).profile;
      const groups = profile?.[ENTRA_CLAIMS.groups];
      expectUser(
        profile?.["nameID"] as string | undefined,
        Array.isArray(groups) ? groups.length : groups === undefined ? undefined : 1,
        pool.groupCount,
      );
    },
  };
}

let samlifySchemaSkipped = false;

export function samlifyContender(key: IdpKey, pool: Pool): Contender {
  if (!samlifySchemaSkipped) {
    // samlify refuses to run without a schema validator; the available ones are separate
    // packages (one needs Java). Skipping it favours samlify: its real cost is higher.
    samlify.setSchemaValidator({ validate: () => Promise.resolve("skipped") });
    samlifySchemaSkipped = true;
  }
  const binding = samlify.Constants.namespace.binding;
  const sp = samlify.ServiceProvider({
    entityID: SP_ENTITY_ID,
    assertionConsumerService: [{ Binding: binding.post, Location: ACS_URL }],
    wantAssertionsSigned: true,
    clockDrifts: [-180_000, 180_000],
  });
  const idp = samlify.IdentityProvider({
    entityID: IDP_ENTITY_ID,
    signingCert: key.certificatePem,
    singleSignOnService: [
      { Binding: binding.redirect, Location: `https://login.microsoftonline.com/${TENANT}/saml2` },
    ],
    singleLogoutService: [
      { Binding: binding.redirect, Location: `https://login.microsoftonline.com/${TENANT}/saml2` },
    ],
  });
  const next = cycler(pool);
  return {
    name: "samlify",
    note: "schema validation skipped (setSchemaValidator returns 'skipped')",
    run: () => sp.parseLoginResponse(idp, "post", { body: { SAMLResponse: next().base64 } }),
    check(result) {
      const extract = (
        result as { extract: { nameID?: string; attributes?: Record<string, unknown> } }
      ).extract;
      const groups = extract.attributes?.[ENTRA_CLAIMS.groups];
      expectUser(
        extract.nameID,
        Array.isArray(groups) ? groups.length : groups === undefined ? undefined : 1,
        pool.groupCount,
      );
    },
  };
}

function expectUser(nameId: string | undefined, groups: number | undefined, want: number): void {
  if (nameId !== USER_UPN) throw new Error(`wrong NameID: ${String(nameId)}`);
  if (groups !== want) throw new Error(`wrong group count: ${String(groups)} (want ${want})`);
}

interface FloorInput {
  readonly base64: string;
  /** Canonical SignedInfo, as the signer signed it. */
  readonly signedInfo: Buffer;
  readonly signatureValue: Buffer;
  /** Canonical Assertion minus its Signature (the enveloped transform), as the signer digested it. */
  readonly canonicalAssertion: string;
  readonly digestValue: Buffer;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The floor: the work no validator can skip, nothing else. Per response:
 * 1. base64 decode of the form value and strict UTF-8 decode;
 * 2. one parse with Gatehouse's parser (the XML has to be read once);
 * 3. one RSA-SHA256 verification of the canonical SignedInfo bytes (precomputed);
 * 4. one SHA-256 over the canonical Assertion (precomputed string, encoded as UTF-8), compared
 *    with the DigestValue.
 * Not in it: canonicalization, locating the signature, any SAML check, the replay cache.
 */
export function floor(key: IdpKey, pool: Pool): Contender {
  const inputs = pool.samples.map((s): FloorInput => {
    const response = parseXml(s.xml);
    const assertion = child(response, SAML_ASSERTION_NS, "Assertion")!;
    const signature = signatureChildren(assertion)[0]!;
    const [signedInfo, signatureValue] = childElements(signature);
    const reference = childElements(signedInfo!).find(
      (e) => e.ns === DSIG_NS && e.local === "Reference",
    )!;
    const digestValue = child(reference, DSIG_NS, "DigestValue")!;
    return {
      base64: s.base64,
      signedInfo: Buffer.from(canonicalize(signedInfo!), "utf8"),
      signatureValue: decodeBase64Strict(directText(signatureValue!), "SignatureValue"),
      canonicalAssertion: canonicalize(assertion, { exclude: signature }),
      digestValue: decodeBase64Strict(directText(digestValue), "DigestValue"),
    };
  });
  const publicKey = key.trusted.publicKey;
  let i = 0;
  return {
    name: "floor (decode + parse + 1 RSA verify + 1 SHA-256)",
    run() {
      if (i === inputs.length) i = 0;
      const f = inputs[i++]!;
      const xml = utf8.decode(Buffer.from(f.base64, "base64"));
      parseXml(xml);
      const signatureOk = verify("sha256", f.signedInfo, publicKey, f.signatureValue);
      const digest = createHash("sha256").update(f.canonicalAssertion, "utf8").digest();
      return signatureOk && timingSafeEqual(digest, f.digestValue);
    },
    check(result) {
      if (result !== true) throw new Error("the floor's signature or digest did not verify");
    },
  };
}

export interface Measurement {
  readonly ops: number;
  readonly seconds: number;
  readonly opsPerSecond: number;
  /** Per-validation latency, microseconds. */
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
}

/** Latencies gathered over one or more timed slices of the same case. */
export class Timings {
  #latencies = new Float64Array(1 << 16);
  #n = 0;
  #seconds = 0;

  add(microseconds: number): void {
    if (this.#n === this.#latencies.length) {
      const grown = new Float64Array(this.#latencies.length * 2);
      grown.set(this.#latencies);
      this.#latencies = grown;
    }
    this.#latencies[this.#n++] = microseconds;
  }

  addElapsed(seconds: number): void {
    this.#seconds += seconds;
  }

  summary(): Measurement {
    const n = this.#n;
    const sorted = this.#latencies.slice(0, n).sort();
    let sum = 0;
    for (let i = 0; i < n; i++) sum += sorted[i]!;
    return {
      ops: n,
      seconds: this.#seconds,
      opsPerSecond: n / this.#seconds,
      p50: quantile(sorted, 0.5),
      p99: quantile(sorted, 0.99),
      mean: sum / n,
    };
  }
}

/** Runs `run` sequentially (each call awaited before the next) for `seconds`, untimed. */
export async function warmUp(run: () => unknown, seconds: number): Promise<void> {
  const hr = process.hrtime.bigint;
  const end = hr() + BigInt(Math.round(seconds * 1e9));
  while (hr() < end) await run();
}

/**
 * Runs `run` sequentially (each call awaited before the next: one core, no overlap) for
 * `seconds`, timing every call with hrtime into `into`.
 */
export async function timeSlice(run: () => unknown, seconds: number, into: Timings): Promise<void> {
  const hr = process.hrtime.bigint;
  const start = hr();
  const end = start + BigInt(Math.round(seconds * 1e9));
  let t1 = start;
  while (t1 < end) {
    const t0 = hr();
    await run();
    t1 = hr();
    into.add(Number(t1 - t0) / 1000);
  }
  into.addElapsed(Number(t1 - start) / 1e9);
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** A full collection when node runs with --expose-gc; nothing otherwise. */
export function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return false;
  gc();
  return true;
}

/** A positive number from the environment, else `fallback`. */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw.replaceAll("_", ""));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
}

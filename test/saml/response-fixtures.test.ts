// Table-driven over test/fixtures/responses/ (and test/fixtures/encrypted/ where a case.json is
// present): each directory is one case, validated through both entry points (the base64 form
// value and the XML text), with the outcome case.json pins. Format: test/fixtures/README.md.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { readCertificate } from "../../src/saml/certs.ts";
import { SamlError, type SamlErrorCode } from "../../src/saml/errors.ts";
import {
  type ReplayCache,
  type ResponseValidationOptions,
  type VerifiedResponse,
  validateResponse,
  validateResponseXml,
} from "../../src/saml/response.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures");
const KEYS = join(FIXTURES, "keys");
const RESPONSES = join(FIXTURES, "responses");

interface CaseFile {
  description: string;
  generator?: "mock-idp-ecdsa" | "xmlsec1";
  options: {
    idpEntityId: string;
    spEntityId: string;
    acsUrl: string;
    expectedRequestId?: string;
    allowUnsolicited?: boolean;
    now: string;
    clockSkewSeconds?: number;
    allowSha1?: boolean;
    certificates: string[];
    requireSignedAssertion?: boolean;
    requireSignedResponse?: boolean;
    replayFirst?: true;
    maxBytes?: number;
    spDecryptionKeys?: string[];
  };
  expect:
    | ({
        ok: true;
        attributes?: Record<string, string[]>;
        absentAttributes?: string[];
        certificate?: string;
      } & Record<string, unknown>)
    | { ok: false; code: SamlErrorCode; messageIncludes?: string[] };
}

interface Fixture {
  name: string;
  dir: string;
  spec: CaseFile;
  xml?: string;
  b64?: string;
}

/** Codes that report a comparison: their message must name the field, what was expected and what came. */
const COMPARISON_CODES: ReadonlySet<SamlErrorCode> = new Set([
  "issuer_invalid",
  "destination_invalid",
  "recipient_invalid",
  "audience_invalid",
  "in_response_to_mismatch",
  "in_response_to_unexpected",
  "in_response_to_missing",
  "algorithm_not_allowed",
  "status_not_success",
]);

function load(root: string, requireCase: boolean): Fixture[] {
  if (!existsSync(root)) return [];
  const out: Fixture[] = [];
  for (const name of readdirSync(root).sort()) {
    const dir = join(root, name);
    if (!name.startsWith("good-") && !name.startsWith("bad-")) continue;
    const casePath = join(dir, "case.json");
    if (!existsSync(casePath)) {
      if (requireCase) throw new Error(`${dir} has no case.json`);
      continue;
    }
    const spec = JSON.parse(readFileSync(casePath, "utf8")) as CaseFile;
    const f: Fixture = { name, dir, spec };
    if (existsSync(join(dir, "response.xml")))
      f.xml = readFileSync(join(dir, "response.xml"), "utf8");
    if (existsSync(join(dir, "response.b64")))
      f.b64 = readFileSync(join(dir, "response.b64"), "utf8");
    out.push(f);
  }
  return out;
}

const fixtures = [...load(RESPONSES, true), ...load(join(FIXTURES, "encrypted"), false)];

function memoryReplayCache(): ReplayCache {
  const seen = new Map<string, Date>();
  return {
    consume(key, expiresAt) {
      if (seen.has(key)) return false;
      seen.set(key, expiresAt);
      return true;
    },
  };
}

function optionsFor(spec: CaseFile, replayCache: ReplayCache): ResponseValidationOptions {
  const o = spec.options;
  return {
    idpCertificates: o.certificates.map((n) =>
      readCertificate(readFileSync(join(KEYS, `${n}.crt`), "utf8"), n),
    ),
    idpEntityId: o.idpEntityId,
    spEntityId: o.spEntityId,
    acsUrl: o.acsUrl,
    expectedRequestId: o.expectedRequestId,
    allowUnsolicited: o.allowUnsolicited,
    now: new Date(o.now),
    clockSkewSeconds: o.clockSkewSeconds,
    algorithms: { allowSha1: o.allowSha1 === true },
    requireSignedAssertion: o.requireSignedAssertion,
    requireSignedResponse: o.requireSignedResponse,
    maxBytes: o.maxBytes,
    spDecryptionKeys: (o.spDecryptionKeys ?? []).map((n) =>
      createPrivateKey(readFileSync(join(KEYS, `${n}.key`), "utf8")),
    ),
    replayCache,
  };
}

type Outcome = { ok: true; result: VerifiedResponse } | { ok: false; error: SamlError };

async function attempt(run: () => Promise<VerifiedResponse>): Promise<Outcome> {
  try {
    return { ok: true, result: await run() };
  } catch (e) {
    if (e instanceof SamlError) return { ok: false, error: e };
    throw e;
  }
}

/** The entry points a fixture goes through: the form value always, the XML text when it is XML. */
function entryPoints(
  f: Fixture,
): [string, (o: ResponseValidationOptions) => Promise<VerifiedResponse>][] {
  const out: [string, (o: ResponseValidationOptions) => Promise<VerifiedResponse>][] = [];
  if (f.b64 !== undefined) out.push(["validateResponse", (o) => validateResponse(f.b64!, o)]);
  if (f.xml !== undefined) {
    const b64 = Buffer.from(f.xml, "utf8").toString("base64");
    out.push(["validateResponse", (o) => validateResponse(b64, o)]);
    out.push(["validateResponseXml", (o) => validateResponseXml(f.xml!, o)]);
  }
  return out;
}

/** JSON's view of a result value: Dates as ISO strings, undefined as null. */
function plain(v: unknown): unknown {
  if (v === undefined) return null;
  if (v instanceof Date) return v.toISOString();
  return v;
}

function checkAccepted(f: Fixture, result: VerifiedResponse): void {
  const expect = f.spec.expect;
  assert.ok(expect.ok);
  const { ok: _ok, attributes, absentAttributes, certificate, ...fields } = expect;
  for (const [field, value] of Object.entries(fields)) {
    assert.deepEqual(
      plain((result as unknown as Record<string, unknown>)[field]),
      value,
      `${f.name}: ${field}`,
    );
  }
  for (const [name, values] of Object.entries(attributes ?? {})) {
    assert.deepEqual(result.attributes[name], values, `${f.name}: attribute ${name}`);
  }
  for (const name of absentAttributes ?? []) {
    assert.equal(result.attributes[name], undefined, `${f.name}: attribute ${name} must be absent`);
  }
  if (certificate !== undefined) {
    const cert = readCertificate(readFileSync(join(KEYS, `${certificate}.crt`), "utf8"));
    assert.equal(result.certificateFingerprint, cert.fingerprint256, `${f.name}: certificate`);
  }
}

function checkRefused(f: Fixture, outcome: Outcome): void {
  const expect = f.spec.expect;
  assert.ok(!expect.ok);
  if (outcome.ok) assert.fail(`${f.name}: accepted, expected ${expect.code}`);
  const e = outcome.error;
  assert.equal(e.code, expect.code, `${f.name}: ${e.message}`);
  for (const s of expect.messageIncludes ?? []) {
    assert.ok(
      e.message.includes(s),
      `${f.name}: message ${JSON.stringify(e.message)} lacks ${JSON.stringify(s)}`,
    );
  }
  if (COMPARISON_CODES.has(e.code)) {
    assert.ok(e.detail.field !== undefined, `${f.name}: ${e.code} must name the field`);
    assert.ok(
      e.detail.expected !== undefined || e.detail.received !== undefined,
      `${f.name}: ${e.code} must say what was expected or received`,
    );
    assert.ok(
      (expect.messageIncludes ?? []).length > 0,
      `${f.name}: a comparison fixture must pin what its message names (messageIncludes)`,
    );
  }
}

describe("Response fixtures (test/fixtures/responses)", () => {
  it("there are fixtures, each named after what it expects", () => {
    assert.ok(fixtures.length >= 100, `only ${fixtures.length} fixtures`);
    for (const f of fixtures) {
      assert.ok(
        f.xml !== undefined || f.b64 !== undefined,
        `${f.name}: no response.xml or response.b64`,
      );
      assert.ok(f.spec.description.length > 0, `${f.name}: description`);
      if (f.spec.expect.ok) assert.ok(f.name.startsWith("good-"), `${f.name} expects success`);
      else {
        const prefix = `bad-${f.spec.expect.code}`;
        assert.ok(
          f.name === prefix || f.name.startsWith(`${prefix}-`),
          `${f.name} expects ${f.spec.expect.code}`,
        );
      }
    }
  });

  for (const f of fixtures) {
    it(`${f.name}: ${f.spec.description}`, async () => {
      for (const [entry, run] of entryPoints(f)) {
        const cache = memoryReplayCache();
        const options = optionsFor(f.spec, cache);
        if (f.spec.options.replayFirst === true) {
          const first = await attempt(() => run(options));
          assert.ok(first.ok, `${f.name} (${entry}): the first use must be accepted`);
        }
        const outcome = await attempt(() => run(options));
        if (f.spec.expect.ok) {
          if (!outcome.ok) assert.fail(`${f.name} (${entry}): refused: ${outcome.error.message}`);
          checkAccepted(f, outcome.result);
        } else {
          checkRefused(f, outcome);
        }
      }
    });
  }
});

describe("test/fixtures/generate.ts", () => {
  const xmlsec1 = spawnSync("xmlsec1", ["--version"]).status === 0;

  it("reproduces the committed fixtures byte for byte", { timeout: 120_000 }, () => {
    const out = mkdtempSync(join(tmpdir(), "gatehouse-fixtures-"));
    try {
      const r = spawnSync(process.execPath, [join(FIXTURES, "generate.ts"), out], {
        encoding: "utf8",
        timeout: 110_000,
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(readdirSync(out).sort(), readdirSync(RESPONSES).sort());
      for (const name of readdirSync(RESPONSES)) {
        const spec = JSON.parse(
          readFileSync(join(RESPONSES, name, "case.json"), "utf8"),
        ) as CaseFile;
        const files = readdirSync(join(RESPONSES, name)).sort();
        assert.deepEqual(readdirSync(join(out, name)).sort(), files, name);
        for (const file of files) {
          // ECDSA signatures carry a random nonce; xmlsec1 may be absent here.
          if (file !== "case.json" && spec.generator === "mock-idp-ecdsa") continue;
          if (file !== "case.json" && spec.generator === "xmlsec1" && !xmlsec1) continue;
          assert.ok(
            readFileSync(join(out, name, file)).equals(readFileSync(join(RESPONSES, name, file))),
            `${name}/${file} differs from a fresh run of the generator`,
          );
        }
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

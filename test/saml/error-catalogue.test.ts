// The refusal catalogue (src/saml/errors.ts) is an interface: codes are stable and shown to
// admins, logged and matched on. This pins it, the way fastify's test/internals/errors.test.js
// pins its catalogue: adding, removing or renaming a code is a deliberate edit of CODES below,
// and no code may exist without a fixture directory that triggers it.

import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SAML_ERROR_CODES, SAML_ERRORS, SamlError } from "../../src/saml/errors.ts";

const CODES = [
  "input_too_large",
  "malformed_base64",
  "malformed_xml",
  "xml_dtd_forbidden",
  "xml_entity_forbidden",
  "xml_pi_forbidden",
  "xml_too_deep",
  "not_a_response",
  "schema_invalid",
  "assertion_missing",
  "assertion_multiple",
  "signature_missing",
  "signature_invalid",
  "signature_unknown_key",
  "digest_mismatch",
  "signature_reference_invalid",
  "duplicate_id",
  "algorithm_not_allowed",
  "transform_not_allowed",
  "signed_value_tampered",
  "status_not_success",
  "issuer_invalid",
  "destination_invalid",
  "recipient_invalid",
  "audience_invalid",
  "subject_invalid",
  "not_yet_valid",
  "expired",
  "in_response_to_missing",
  "in_response_to_unexpected",
  "in_response_to_mismatch",
  "unsolicited_not_allowed",
  "assertion_replayed",
  "decryption_failed",
  "logout_invalid",
  "metadata_invalid",
  "metadata_is_sp",
  "metadata_missing_endpoint",
  "certificate_invalid",
  "certificate_expired",
];

const FIXTURES = join(import.meta.dirname, "..", "fixtures");

/** Every directory name under test/fixtures/, at any depth. */
function fixtureDirectories(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (!statSync(path).isDirectory()) continue;
    out.push(name);
    fixtureDirectories(path, out);
  }
  return out;
}

describe("the refusal catalogue (src/saml/errors.ts)", () => {
  it("holds exactly the pinned codes, in order", () => {
    assert.deepEqual([...SAML_ERROR_CODES], CODES);
  });

  it("codes are snake_case identifiers", () => {
    for (const code of SAML_ERROR_CODES) assert.match(code, /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/);
  });

  for (const code of SAML_ERROR_CODES) {
    it(`${code} has a title and a fix an admin can act on`, () => {
      const { title, fix } = SAML_ERRORS[code];
      assert.ok(title.trim().length >= 10, `${code}: title`);
      assert.ok(!title.endsWith("."), `${code}: a title is a phrase, not a sentence`);
      assert.ok(fix.trim().length >= 20, `${code}: fix`);
      assert.notEqual(
        title as string,
        fix as string,
        `${code}: the fix must say more than the title`,
      );
      const e = new SamlError(code);
      assert.equal(e.code, code);
      assert.equal(e.publicMessage, title);
      assert.equal(e.fix, fix);
    });
  }

  it("titles are distinct", () => {
    const titles = SAML_ERROR_CODES.map((c) => SAML_ERRORS[c].title);
    assert.equal(new Set(titles).size, titles.length);
  });

  it("every code has at least one fixture directory bad-<code>[-variant] under test/fixtures/", () => {
    const dirs = fixtureDirectories(FIXTURES);
    const missing = SAML_ERROR_CODES.filter(
      (code) => !dirs.some((d) => d === `bad-${code}` || d.startsWith(`bad-${code}-`)),
    );
    assert.deepEqual(missing, [], `codes without a fixture: ${missing.join(", ")}`);
  });

  it("every bad-* fixture directory names a code of the catalogue", () => {
    const codes = [...SAML_ERROR_CODES].sort((a, b) => b.length - a.length);
    for (const d of fixtureDirectories(FIXTURES)) {
      if (!d.startsWith("bad-")) continue;
      const rest = d.slice(4);
      assert.ok(
        codes.some((c) => rest === c || rest.startsWith(`${c}-`)),
        `${d} does not start with bad-<code> for a known code`,
      );
    }
  });
});

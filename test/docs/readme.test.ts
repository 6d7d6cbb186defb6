import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { README, withTable } from "../../scripts/readme-errors.ts";
import { SAML_ERROR_CODES } from "../../src/saml/errors.ts";

describe("README.md", () => {
  const readme = readFileSync(README, "utf8");

  it("documents every error code, in sync with the catalogue (node scripts/readme-errors.ts)", () => {
    assert.equal(readme, withTable(readme));
    for (const code of SAML_ERROR_CODES) assert.ok(readme.includes(`| \`${code}\` |`), code);
  });

  it("gives the two commands a newcomer runs", () => {
    assert.match(readme, /npm install && npm start/);
    assert.match(readme, /npm install && npm test/);
  });
});

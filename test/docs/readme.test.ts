import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { README, regenerated } from "../../scripts/readme.ts";
import { VARIABLES } from "../../src/config/schema.ts";
import { SAML_ERROR_CODES } from "../../src/saml/errors.ts";

describe("README.md", () => {
  const readme = readFileSync(README, "utf8");

  it("is in sync with the code it documents (run: node scripts/readme.ts)", () => {
    assert.equal(readme, regenerated(readme));
  });

  it("documents every error code", () => {
    for (const code of SAML_ERROR_CODES) assert.ok(readme.includes(`| \`${code}\` |`), code);
  });

  it("documents every configuration variable", () => {
    for (const v of VARIABLES) assert.ok(readme.includes(`\`${v.name}\``), v.name);
  });

  it("gives the two commands a newcomer runs", () => {
    assert.match(readme, /npm install && npm start/);
    assert.match(readme, /npm install && npm test/);
  });
});

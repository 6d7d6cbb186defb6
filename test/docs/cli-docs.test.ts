import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { it } from "node:test";
import { CLI_DOC, cliReference } from "../../scripts/cli-docs.ts";

it("docs/cli.md is the commands' own usage (run: node scripts/cli-docs.ts)", async () => {
  assert.equal(readFileSync(CLI_DOC, "utf8"), await cliReference());
});

// Regenerates the error-code table in README.md from the catalogue (src/saml/errors.ts).
// `node scripts/readme-errors.ts` writes it; test/docs/readme.test.ts fails when it is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { SAML_ERRORS } from "../src/saml/errors.ts";

export const README = resolve(import.meta.dirname, "../README.md");
const START = "<!-- error-codes:start -->";
const END = "<!-- error-codes:end -->";

export function errorTable(): string {
  const rows = Object.entries(SAML_ERRORS).map(
    ([code, e]) => `| \`${code}\` | ${e.title} | ${e.fix.replaceAll("|", "\\|")} |`,
  );
  return ["| code | meaning | what to do |", "| --- | --- | --- |", ...rows].join("\n");
}

export function withTable(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md lacks the ${START} ... ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${errorTable()}\n${readme.slice(b)}`;
}

if (import.meta.main) {
  writeFileSync(README, withTable(readFileSync(README, "utf8")));
}

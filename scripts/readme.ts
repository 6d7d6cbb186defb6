// Regenerates the tables in README.md that come from code: the error codes (src/saml/errors.ts)
// and the configuration variables (src/config/schema.ts). `node scripts/readme.ts` writes them;
// test/docs/readme.test.ts fails when README.md is stale.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { configReference } from "../src/config/schema.ts";
import { SAML_ERRORS } from "../src/saml/errors.ts";

export const README = resolve(import.meta.dirname, "../README.md");

export function errorTable(): string {
  const rows = Object.entries(SAML_ERRORS).map(
    ([code, e]) => `| \`${code}\` | ${e.title} | ${e.fix.replaceAll("|", "\\|")} |`,
  );
  return ["| code | meaning | what to do |", "| --- | --- | --- |", ...rows].join("\n");
}

const SECTIONS: Readonly<Record<string, () => string>> = {
  "error-codes": errorTable,
  config: () => configReference().trim(),
};

/** README text with every generated section replaced by its current content. */
export function regenerated(readme: string): string {
  let out = readme;
  for (const [name, make] of Object.entries(SECTIONS)) {
    const start = `<!-- ${name}:start -->`;
    const end = `<!-- ${name}:end -->`;
    const a = out.indexOf(start);
    const b = out.indexOf(end);
    if (a < 0 || b < a) throw new Error(`README.md lacks the ${start} ... ${end} markers`);
    out = `${out.slice(0, a + start.length)}\n${make()}\n${out.slice(b)}`;
  }
  return out;
}

if (import.meta.main) {
  writeFileSync(README, regenerated(readFileSync(README, "utf8")));
}

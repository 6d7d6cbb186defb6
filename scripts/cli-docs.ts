// Writes docs/cli.md from the commands' own usage texts (src/cli/commands/*.ts), so the reference
// cannot drift from what `gatehouse help COMMAND` prints. test/docs/cli-docs.test.ts checks it.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { COMMANDS } from "../src/cli/commands.ts";

export const CLI_DOC = resolve(import.meta.dirname, "../docs/cli.md");

export async function cliReference(): Promise<string> {
  const parts = [
    "# The `gatehouse` command",
    "",
    "Generated from the commands' usage (`node scripts/cli-docs.ts`); `gatehouse help COMMAND` prints the same.",
    "Run it as `npx gatehouse …` or `node src/cli/main.ts …` after `npm install`. Exit codes: 0 done, 1 refused, 2 usage or configuration problems.",
    "",
    "| command | what it does |",
    "| --- | --- |",
    ...Object.entries(COMMANDS).map(([name, c]) => `| \`${name}\` | ${c.summary} |`),
  ];
  for (const [name, c] of Object.entries(COMMANDS)) {
    const mod = await c.load();
    parts.push("", `## ${name}`, "", "```", mod.usage.trimEnd(), "```");
  }
  return `${parts.join("\n")}\n`;
}

if (import.meta.main) writeFileSync(CLI_DOC, await cliReference());

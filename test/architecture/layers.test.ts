// The layering of DESIGN.md, enforced: each folder imports only the layers below it.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, it } from "node:test";

const root = resolve(import.meta.dirname, "../..");
const src = join(root, "src");

/** Which src/ folders each layer may import (besides itself and node built-ins). */
const allowed: Record<string, readonly string[]> = {
  saml: [],
  domain: ["saml"],
  store: ["domain"],
  config: [],
  mail: [],
  "mock-idp": ["saml"],
  http: ["domain", "saml", "store", "config", "mail", "mock-idp"],
  cli: ["saml", "domain", "store", "http", "config", "mail", "mock-idp"],
};

function* sourceFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) yield* sourceFiles(p);
    else if (/\.(ts|js|mjs)$/.test(entry.name)) yield p;
  }
}

function importsOf(text: string): string[] {
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+["']([^"']+)["']/g))
    specs.push(m[1]!);
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+["']([^"']+)["']/g)) specs.push(m[1]!);
  for (const m of text.matchAll(/import\(\s*["']([^"']+)["']\s*\)/g)) specs.push(m[1]!);
  return specs;
}

function violationsOf(layer: string, may: readonly string[], file: string, text: string): string[] {
  const out: string[] = [];
  for (const spec of importsOf(text)) {
    if (!spec.startsWith(".")) {
      // Packages: the SAML core uses node built-ins only (DESIGN.md).
      if (layer === "saml" && !spec.startsWith("node:"))
        out.push(`${relative(root, file)} -> ${spec}`);
      continue;
    }
    const target = relative(src, resolve(dirname(file), spec));
    const targetLayer = target.split("/")[0]!;
    if (target.startsWith("..")) out.push(`${relative(root, file)} -> ${spec} (outside src/)`);
    else if (targetLayer !== layer && !may.includes(targetLayer))
      out.push(`${relative(root, file)} -> ${spec}`);
  }
  return out;
}

describe("layers (DESIGN.md)", () => {
  for (const layer of readdirSync(src, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    it(`src/${layer.name} imports only what its layer may`, () => {
      const may = allowed[layer.name];
      assert.ok(
        may !== undefined,
        `src/${layer.name} is not a layer of DESIGN.md; add it to this test and to DESIGN.md`,
      );
      const violations: string[] = [];
      for (const file of sourceFiles(join(src, layer.name))) {
        violations.push(...violationsOf(layer.name, may, file, readFileSync(file, "utf8")));
      }
      assert.deepEqual(violations, []);
    });
  }

  it("the check itself catches forbidden imports", () => {
    const file = join(src, "saml", "example.ts");
    const text =
      'import { x } from "../domain/users.ts";\nimport { y } from "fastify";\nimport type { Z } from "./xml/tree.ts";\n';
    assert.deepEqual(violationsOf("saml", [], file, text), [
      "src/saml/example.ts -> ../domain/users.ts",
      "src/saml/example.ts -> fastify",
    ]);
    assert.deepEqual(
      violationsOf(
        "domain",
        ["saml"],
        join(src, "domain", "a.ts"),
        'import { v } from "../http/app.ts";',
      ),
      ["src/domain/a.ts -> ../http/app.ts"],
    );
  });
});

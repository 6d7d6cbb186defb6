// Fuzzing the reader and the validator with mutations of good signed responses: byte flips,
// markup fragments, tree-level duplication/moves/deletions, attribute and namespace changes,
// re-encoded characters. Two properties: (a) nothing but SamlError is ever thrown, and no call
// takes more than a second; (b) whenever validation succeeds, the values read are the original
// ones (a mutation may legitimately pass when it only touches unsigned parts, never by changing
// what the application receives). Bounded in time by FUZZ_SECONDS (default 15), fixed seed.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { SamlError } from "../../src/saml/errors.ts";
import type { VerifiedResponse } from "../../src/saml/response.ts";
import { parseXml } from "../../src/saml/xml/parse.ts";
import { outcome, SIGNING_OPTIONS, signedResponse } from "../support/entra.ts";
import {
  clone,
  elementChildren,
  type MElement,
  type MNode,
  parentOf,
  parseMutable,
  serialize,
} from "../support/xml-tree.ts";

const FUZZ_SECONDS = Number(process.env.FUZZ_SECONDS ?? "15");
const SEED = Number(process.env.FUZZ_SEED ?? "424242");
const SLOW_MS = 1000;

const SOURCES = SIGNING_OPTIONS.map((signing) => ({ signing, xml: signedResponse({ signing }) }));

const FRAGMENTS = [
  "<",
  ">",
  "&",
  ";",
  '"',
  "'",
  "=",
  "/",
  "<!---->",
  "<!-- x -->",
  "<![CDATA[x]]>",
  "]]>",
  "&amp;",
  "&lt;",
  "&#65;",
  "&#0;",
  "&#xD800;",
  "&nbsp;",
  "<?pi?>",
  "<!DOCTYPE r>",
  "<a>",
  "</a>",
  "<a/>",
  " ",
  "\t",
  "\r\n",
  "\u0001",
  "\uFFFE",
  "\uD800",
  "é",
  'xmlns=""',
  'xmlns:p="urn:p"',
  ' ID="_x"',
  "<Assertion>",
  "</Assertion>",
  "<NameID>mallory@evil.example</NameID>",
  "mallory@evil.example",
  '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"/>',
  "<samlp:Extensions/>",
];
const URIS = [
  "urn:oasis:names:tc:SAML:2.0:assertion",
  "urn:oasis:names:tc:SAML:2.0:protocol",
  "http://www.w3.org/2000/09/xmldsig#",
  "urn:oasis:names:tc:SAML:1.0:assertion",
  "",
  "urn:evil",
];

type Op =
  | { kind: "flip"; at: number; code: number }
  | { kind: "insert"; at: number; text: string }
  | { kind: "delete"; at: number; len: number }
  | { kind: "reencode"; at: number; hex: boolean }
  | {
      kind: "tree";
      op: "dup" | "move" | "del" | "attr" | "ns" | "text" | "swap";
      a: number;
      b: number;
      value: string;
    };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    code: fc.integer({ min: 0, max: 0x2fff }),
  }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.constantFrom(...FRAGMENTS),
  }),
  fc.record({
    kind: fc.constant("delete" as const),
    at: fc.nat(),
    len: fc.integer({ min: 1, max: 40 }),
  }),
  fc.record({ kind: fc.constant("reencode" as const), at: fc.nat(), hex: fc.boolean() }),
  fc.record({
    kind: fc.constant("tree" as const),
    op: fc.constantFrom("dup", "move", "del", "attr", "ns", "text", "swap"),
    a: fc.nat(),
    b: fc.nat(),
    value: fc.constantFrom("mallory@evil.example", "", " ", "_x", "2.0", "&<>\"'", ...URIS),
  }),
);

function elementsOf(root: MElement): MElement[] {
  const out: MElement[] = [];
  const walk = (e: MElement): void => {
    out.push(e);
    for (const c of elementChildren(e)) walk(c);
  };
  walk(root);
  return out;
}

function applyTree(xml: string, op: Extract<Op, { kind: "tree" }>): string {
  let root: MElement;
  try {
    root = parseMutable(xml);
  } catch {
    return xml; // earlier byte mutations broke it: tree operations do not apply
  }
  const els = elementsOf(root);
  const a = els[op.a % els.length]!;
  const b = els[op.b % els.length]!;
  const pa = parentOf(root, a);
  switch (op.op) {
    case "dup":
      if (pa !== undefined) pa.children.splice(pa.children.indexOf(a), 0, clone(a));
      break;
    case "del":
      if (pa !== undefined) pa.children.splice(pa.children.indexOf(a), 1);
      break;
    case "move":
      // Move a into b (unless b lies inside a).
      if (pa !== undefined && !elementsOf(a).includes(b)) {
        pa.children.splice(pa.children.indexOf(a), 1);
        b.children.splice(op.b % (b.children.length + 1), 0, a);
      }
      break;
    case "swap": {
      const pb = parentOf(root, b);
      if (
        pa !== undefined &&
        pb !== undefined &&
        !elementsOf(a).includes(b) &&
        !elementsOf(b).includes(a)
      ) {
        const ia = pa.children.indexOf(a);
        const ib = pb.children.indexOf(b);
        pa.children[ia] = b;
        pb.children[ib] = a;
      }
      break;
    }
    case "attr":
      if (a.attrs.length > 0) a.attrs[op.b % a.attrs.length]!.value = op.value;
      else a.attrs.push({ qname: "ID", value: op.value });
      break;
    case "ns":
      if (a.ns.length > 0) a.ns[op.b % a.ns.length]!.uri = op.value;
      else a.ns.push({ prefix: "", uri: op.value });
      break;
    case "text":
      a.children = [{ type: "text", value: op.value } satisfies MNode];
      break;
  }
  return serialize(root);
}

function mutate(xml: string, ops: readonly Op[]): string {
  let m = xml;
  for (const op of ops) {
    const at = "at" in op ? op.at % (m.length + 1) : 0;
    switch (op.kind) {
      case "flip":
        m = m.slice(0, at) + String.fromCharCode(op.code) + m.slice(at + 1);
        break;
      case "insert":
        m = m.slice(0, at) + op.text + m.slice(at);
        break;
      case "delete":
        m = m.slice(0, at) + m.slice(at + op.len);
        break;
      case "reencode": {
        // Re-encode one character of content as a character reference (same value if it was
        // in text; a different document if it was markup).
        const c = m.codePointAt(at);
        if (c !== undefined) {
          const ref = op.hex ? `&#x${c.toString(16)};` : `&#${c};`;
          m = m.slice(0, at) + ref + m.slice(at + String.fromCodePoint(c).length);
        }
        break;
      }
      case "tree":
        m = applyTree(m, op);
        break;
    }
  }
  return m;
}

function values(r: VerifiedResponse): unknown {
  return {
    nameId: r.nameId,
    nameIdFormat: r.nameIdFormat,
    email: r.email,
    attributes: { ...r.attributes },
    issuer: r.issuer,
    assertionId: r.assertionId,
    inResponseTo: r.inResponseTo,
    sessionIndex: r.sessionIndex,
    notOnOrAfter: r.notOnOrAfter.toISOString(),
    authnInstant: r.authnInstant.toISOString(),
  };
}

describe(`fuzzing (${FUZZ_SECONDS}s, seed ${SEED}; FUZZ_SECONDS and FUZZ_SEED override)`, () => {
  it("mutated signed responses: only SamlError, no slow call, no changed value accepted", async () => {
    const originals = new Map<string, unknown>();
    for (const s of SOURCES) {
      const o = await outcome(s.xml);
      assert.ok(o.ok, s.signing);
      originals.set(s.signing, values(o.result));
    }
    const stats = { runs: 0, accepted: 0, refused: new Map<string, number>(), slowest: 0 };
    const timed = <T>(what: string, m: string, f: () => T): T => {
      const t = performance.now();
      const r = f();
      const ms = performance.now() - t;
      stats.slowest = Math.max(stats.slowest, ms);
      assert.ok(
        ms < SLOW_MS,
        `${what} took ${ms.toFixed(0)} ms on ${JSON.stringify(m.slice(0, 200))}`,
      );
      return r;
    };
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...SOURCES),
        fc.array(opArb, { minLength: 1, maxLength: 4 }),
        async (source, ops) => {
          stats.runs++;
          const m = mutate(source.xml, ops);
          timed("parseXml", m, () => {
            try {
              parseXml(m);
            } catch (e) {
              if (!(e instanceof SamlError)) throw e;
            }
          });
          const t = performance.now();
          const o = await outcome(m); // rethrows anything that is not a SamlError
          const ms = performance.now() - t;
          stats.slowest = Math.max(stats.slowest, ms);
          assert.ok(ms < SLOW_MS, `validation took ${ms.toFixed(0)} ms`);
          if (o.ok) {
            stats.accepted++;
            assert.deepEqual(
              values(o.result),
              originals.get(source.signing),
              "a mutation changed an accepted value",
            );
          } else {
            stats.refused.set(o.code, (stats.refused.get(o.code) ?? 0) + 1);
          }
        },
      ),
      {
        seed: SEED,
        numRuns: Number.MAX_SAFE_INTEGER,
        interruptAfterTimeLimit: FUZZ_SECONDS * 1000,
        markInterruptAsFailure: false,
      },
    );
    console.log(
      `fuzz: ${stats.runs} mutants in ${FUZZ_SECONDS}s (seed ${SEED}), ${stats.accepted} accepted with unchanged values, slowest call ${stats.slowest.toFixed(1)} ms; refusals: ` +
        [...stats.refused]
          .sort((x, y) => y[1] - x[1])
          .map(([c, n]) => `${c} ${n}`)
          .join(", "),
    );
    assert.ok(stats.runs > 50, "the fuzzer ran");
    assert.ok(stats.refused.size >= 5, "mutations reach several checks");
  });

  it("the tree mutator is effective (a check of the check)", () => {
    const xml = SOURCES[0]!.xml;
    assert.notEqual(mutate(xml, [{ kind: "tree", op: "dup", a: 5, b: 0, value: "" }]), xml);
    assert.notEqual(
      mutate(xml, [{ kind: "tree", op: "text", a: 9, b: 0, value: "mallory@evil.example" }]),
      xml,
    );
  });
});

// XML Signature Wrapping (Somorovsky et al., "On Breaking SAML: Be Whoever You Want to Be",
// USENIX Security 2012), generated systematically: every classic placement XSW1..XSW8, with the
// evil copy carrying the original ID or a new one, under each Entra signing option, plus modern
// variants (second Response wrapper, duplicated IDs, moved Signature, Extensions, Advice,
// namespace and comment tricks). Each variant must be refused, and no variant may ever yield a
// result carrying the attacker's value. The outcome table is printed at the end.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { signEnveloped } from "../../src/saml/dsig.ts";
import type { SamlErrorCode } from "../../src/saml/errors.ts";
import { CLAIM_EMAILADDRESS } from "../../src/saml/namespaces.ts";
import {
  ASSERTION_ID,
  certBase64,
  outcome,
  privateKey,
  SIGNING_OPTIONS,
  signedResponse,
  VICTIM,
} from "../support/entra.ts";
import {
  allNamed,
  childNamed,
  clone,
  elementChildren,
  getAttr,
  insertAfter,
  insertBefore,
  localOf,
  type MElement,
  parentOf,
  parseMutable,
  remove,
  serialize,
  setAttr,
  setText,
} from "../support/xml-tree.ts";

const EVIL = "mallory.admin@contoso.example";
const CLAIM_NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
const DS = "http://www.w3.org/2000/09/xmldsig#";
const SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol";
const SAML = "urn:oasis:names:tc:SAML:2.0:assertion";

type IdMode = "same-id" | "new-id";

/** An evil copy of `el`: every NameID and email/name claim set to EVIL, own Signature dropped. */
function evilCopy(el: MElement, idMode: IdMode): MElement {
  const e = clone(el);
  e.children = e.children.filter((c) => !(c.type === "element" && localOf(c) === "Signature"));
  for (const n of allNamed(e, "NameID")) setText(n, EVIL);
  for (const a of allNamed(e, "Attribute")) {
    const name = getAttr(a, "Name");
    if (name === CLAIM_EMAILADDRESS || name === CLAIM_NAME) {
      for (const v of allNamed(a, "AttributeValue")) setText(v, EVIL);
    }
  }
  if (idMode === "new-id") {
    for (const x of allNamed(e, localOf(e)).concat(allNamed(e, "Assertion"))) {
      const id = getAttr(x, "ID");
      if (id !== undefined && !id.startsWith("_evil")) setAttr(x, "ID", `_evil${id}`);
    }
  }
  return e;
}

interface Doc {
  root: MElement;
  response: MElement;
  assertion: MElement;
}

function load(xml: string): Doc {
  const root = parseMutable(xml);
  return { root, response: root, assertion: childNamed(root, "Assertion")! };
}

/**
 * Takes the Signature that authenticates `target` out of the document: its own, or, when the
 * target is unsigned under this signing option, the other one (the attacker moves whatever
 * valid Signature there is).
 */
function takeSignature(doc: Doc, target: MElement): MElement {
  let sig = childNamed(target, "Signature");
  if (sig === undefined) sig = allNamed(doc.root, "Signature")[0];
  if (sig === undefined) throw new Error("no signature in the document");
  remove(parentOf(doc.root, sig)!, sig);
  return sig;
}

/** Puts `e` where `target` was; returns the new root. */
function replace(doc: Doc, target: MElement, e: MElement): MElement {
  const parent = parentOf(doc.root, target);
  if (parent === undefined) return e;
  parent.children[parent.children.indexOf(target)] = e;
  return doc.root;
}

function afterIssuer(el: MElement, node: MElement): void {
  insertAfter(el, childNamed(el, "Issuer"), node);
}

/** Appends to the parent of `target`, or, for the root, to `e` standing in its place. */
function appendBesideTarget(doc: Doc, target: MElement, e: MElement, node: MElement): void {
  const parent = parentOf(doc.root, target);
  (parent ?? e).children.push(node);
}

function element(qname: string, nsPrefix: string, uri: string, children: MElement[]): MElement {
  return { type: "element", qname, ns: [{ prefix: nsPrefix, uri }], attrs: [], children };
}

type Variant = (doc: Doc, idMode: IdMode) => MElement;

// The eight placements of Somorovsky et al. XSW1/2 target the Response, XSW3..8 the Assertion.
const CLASSIC: Record<string, { target: "response" | "assertion"; make: Variant }> = {
  // Evil Response; the original Response inside the Signature (last child).
  XSW1: {
    target: "response",
    make(doc, idMode) {
      const t = doc.response;
      const e = evilCopy(t, idMode);
      const sig = takeSignature(doc, t);
      sig.children.push(t);
      afterIssuer(e, sig);
      return replace(doc, t, e);
    },
  },
  // Evil Response; the original Response as a sibling just before the (now detached) Signature.
  XSW2: {
    target: "response",
    make(doc, idMode) {
      const t = doc.response;
      const e = evilCopy(t, idMode);
      const sig = takeSignature(doc, t);
      afterIssuer(e, sig);
      insertBefore(e, sig, t);
      return replace(doc, t, e);
    },
  },
  // Evil Assertion before the original, which keeps its Signature.
  XSW3: {
    target: "assertion",
    make(doc, idMode) {
      const t = doc.assertion;
      const e = evilCopy(t, idMode);
      insertBefore(parentOf(doc.root, t)!, t, e);
      return doc.root;
    },
  },
  // Evil Assertion in place of the original, which becomes its child (Signature kept).
  XSW4: {
    target: "assertion",
    make(doc, idMode) {
      const t = doc.assertion;
      const e = evilCopy(t, idMode);
      const root = replace(doc, t, e);
      e.children.push(t);
      return root;
    },
  },
  // Signature moved to the evil Assertion; the original, unsigned, appended after it.
  XSW5: {
    target: "assertion",
    make(doc, idMode) {
      const t = doc.assertion;
      const e = evilCopy(t, idMode);
      const sig = takeSignature(doc, t);
      afterIssuer(e, sig);
      const root = replace(doc, t, e);
      appendBesideTarget({ ...doc, root }, e, e, t);
      return root;
    },
  },
  // Signature moved to the evil Assertion; the original inside it (first child).
  XSW6: {
    target: "assertion",
    make(doc, idMode) {
      const t = doc.assertion;
      const e = evilCopy(t, idMode);
      const sig = takeSignature(doc, t);
      sig.children.unshift(t);
      afterIssuer(e, sig);
      return replace(doc, t, e);
    },
  },
  // The original (signed) Assertion inside samlp:Extensions, the evil one in its place.
  XSW7: {
    target: "assertion",
    make(doc, idMode) {
      const t = doc.assertion;
      const e = evilCopy(t, idMode);
      const root = replace(doc, t, e);
      const ext = element("samlp:Extensions", "samlp", SAMLP, [t]);
      const r = parentOf(root, e)!;
      insertAfter(r, childNamed(r, "Signature") ?? childNamed(r, "Issuer"), ext);
      return root;
    },
  },
  // Signature moved to the evil Assertion; the original inside a ds:Object of it.
  XSW8: {
    target: "assertion",
    make(doc, idMode) {
      const t = doc.assertion;
      const e = evilCopy(t, idMode);
      const sig = takeSignature(doc, t);
      const sigTarget = childNamed(t, "Signature");
      if (sigTarget !== undefined) remove(t, sigTarget);
      sig.children.push(element("Object", "", DS, [t]));
      afterIssuer(e, sig);
      return replace(doc, t, e);
    },
  },
};

interface Modern {
  make: (doc: Doc) => MElement | string;
  /** The value the attack tries to get accepted (default EVIL). */
  evil?: string;
  /**
   * Signing options under which the change lies wholly outside the signed element, so that
   * acceptance is legitimate provided the result carries the original, signed values.
   */
  outsideSignedScope?: readonly string[];
}

const DUO_SIGNED = `${VICTIM.upn}.evil.example`;

// Modern variants, each under every signing option.
const MODERN: Record<string, Modern> = {
  // An evil Response wrapping the original one (Response-level wrapper).
  "second-response-outer": {
    make(doc) {
      const e = evilCopy(doc.response, "new-id");
      for (const s of allNamed(e, "Signature")) remove(parentOf(e, s)!, s);
      e.children.push(doc.response);
      return e;
    },
  },
  // A second Response, carrying an evil Assertion, inside the original one.
  "second-response-inner": {
    make(doc) {
      const e = evilCopy(doc.response, "new-id");
      for (const s of allNamed(e, "Signature")) remove(parentOf(e, s)!, s);
      doc.response.children.push(e);
      return doc.root;
    },
  },
  // An evil Assertion carrying the original ID, hidden in Status/StatusDetail.
  "duplicate-id-in-status-detail": {
    make(doc) {
      const status = childNamed(doc.response, "Status")!;
      status.children.push(
        element("samlp:StatusDetail", "samlp", SAMLP, [evilCopy(doc.assertion, "same-id")]),
      );
      return doc.root;
    },
  },
  // The Signature moved to an evil Assertion with the original ID; the original removed.
  "signature-moved-to-evil": {
    make(doc) {
      const t = doc.assertion;
      const e = evilCopy(t, "same-id");
      afterIssuer(e, takeSignature(doc, t));
      return replace(doc, t, e);
    },
  },
  // The same with a new ID: the Reference no longer names the element the Signature sits in.
  "signature-moved-to-evil-new-id": {
    make(doc) {
      const t = doc.assertion;
      const e = evilCopy(t, "new-id");
      afterIssuer(e, takeSignature(doc, t));
      return replace(doc, t, e);
    },
  },
  // An evil Assertion (new ID) inside samlp:Extensions, the original left in place.
  "evil-assertion-in-extensions": {
    make(doc) {
      const r = doc.response;
      const ext = element("samlp:Extensions", "samlp", SAMLP, [evilCopy(doc.assertion, "new-id")]);
      insertAfter(r, childNamed(r, "Signature") ?? childNamed(r, "Issuer"), ext);
      return doc.root;
    },
  },
  // An evil Assertion inside the original Assertion's Advice.
  "evil-assertion-in-advice": {
    make(doc) {
      const t = doc.assertion;
      const advice = element("Advice", "", SAML, [evilCopy(t, "new-id")]);
      insertBefore(t, childNamed(t, "AttributeStatement")!, advice);
      return doc.root;
    },
  },
  // The original Assertion inside the Advice of an evil Assertion that took its place.
  "original-in-evil-advice": {
    make(doc) {
      const t = doc.assertion;
      const e = evilCopy(t, "new-id");
      const root = replace(doc, t, e);
      insertBefore(e, childNamed(e, "AttributeStatement")!, element("Advice", "", SAML, [t]));
      return root;
    },
  },
  // The evil Assertion reached through a redefined prefix: samlp bound to the assertion namespace.
  "prefix-redefined-to-assertion-ns": {
    make(doc) {
      const e = evilCopy(doc.assertion, "new-id");
      e.qname = "samlp:Assertion";
      e.ns = [{ prefix: "samlp", uri: SAML }, ...e.ns];
      insertBefore(doc.response, doc.assertion, e);
      return doc.root;
    },
  },
  // A NameID in another namespace (prefix saml redefined on it) placed first in the Subject:
  // the same NameID once prefixes are stripped.
  "prefix-redefined-nameid": {
    make(doc) {
      const subject = childNamed(doc.assertion, "Subject")!;
      const fake: MElement = {
        type: "element",
        qname: "saml:NameID",
        ns: [{ prefix: "saml", uri: `${SAML}:evil` }],
        attrs: [
          { qname: "Format", value: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" },
        ],
        children: [{ type: "text", value: EVIL }],
      };
      insertBefore(subject, elementChildren(subject)[0]!, fake);
      return doc.root;
    },
  },
  // An Assertion in a look-alike namespace (SAML 1.0), same local names, before the original.
  // It is refused as an element the schema does not allow in a Response, before any signature.
  "lookalike-namespace-assertion": {
    outsideSignedScope: ["assertion"],
    make(doc) {
      const e = evilCopy(doc.assertion, "new-id");
      e.ns = e.ns.map((d) =>
        d.prefix === "" ? { prefix: "", uri: "urn:oasis:names:tc:SAML:1.0:assertion" } : d,
      );
      insertBefore(doc.response, doc.assertion, e);
      return doc.root;
    },
  },
  // The same, with a prefix that a prefix-stripping reader would drop.
  "lookalike-prefixed-assertion-after": {
    outsideSignedScope: ["assertion"],
    make(doc) {
      const e = evilCopy(doc.assertion, "new-id");
      const rename = (el: MElement): void => {
        el.qname = `evil:${el.qname}`;
        for (const c of elementChildren(el)) rename(c);
      };
      rename(e);
      e.ns = [{ prefix: "evil", uri: `${SAML} ` }];
      doc.response.children.push(e);
      return doc.root;
    },
  },
  // Duo-style comment split: the IdP signed "ada@contoso.example.evil.example"; a comment
  // inserted after the victim's address leaves the exclusive-C14N digest unchanged.
  "comment-split-nameid": {
    evil: VICTIM.upn,
    make(doc) {
      const nameId = allNamed(doc.assertion, "NameID")[0]!;
      nameId.children = [
        { type: "text", value: VICTIM.upn },
        { type: "comment", value: "" },
        { type: "text", value: ".evil.example" },
      ];
      return doc.root;
    },
  },
  "comment-split-email-attribute": {
    evil: VICTIM.upn,
    make(doc) {
      for (const a of allNamed(doc.assertion, "Attribute")) {
        if (getAttr(a, "Name") !== CLAIM_EMAILADDRESS) continue;
        const v = allNamed(a, "AttributeValue")[0]!;
        v.children = [
          { type: "text", value: VICTIM.upn },
          { type: "comment", value: "x" },
          { type: "text", value: ".evil.example" },
        ];
      }
      return doc.root;
    },
  },
  // The same comment injected as raw text, not through the tree.
  "comment-split-raw": {
    evil: VICTIM.upn,
    make(doc) {
      return serialize(doc.root).replace(`>${DUO_SIGNED}<`, `>${VICTIM.upn}<!---->.evil.example<`);
    },
  },
};

/** A signed response whose victim address is DUO_SIGNED for the comment variants. */
function source(signing: (typeof SIGNING_OPTIONS)[number], variant: string): string {
  if (variant.startsWith("comment-split")) {
    return signedResponse({
      signing,
      user: { ...VICTIM, upn: DUO_SIGNED, mail: DUO_SIGNED },
    });
  }
  return signedResponse({ signing });
}

const table = new Map<string, Map<string, string>>();
function record(row: string, column: string, value: string): void {
  let r = table.get(row);
  if (r === undefined) {
    r = new Map();
    table.set(row, r);
  }
  r.set(column, value);
}

async function expectRefused(
  xml: string,
  evil: string,
  row: string,
  column: string,
  mayPassUnchanged = false,
): Promise<SamlErrorCode | undefined> {
  const o = await outcome(xml);
  if (o.ok) {
    record(row, column, "accepted, signed values");
    assert.notEqual(o.result.nameId, evil, `${row}/${column}: attacker's NameID accepted`);
    assert.notEqual(o.result.email, evil, `${row}/${column}: attacker's email accepted`);
    assert.ok(
      !JSON.stringify(o.result.attributes).includes(evil),
      `${row}/${column}: attacker's claim accepted`,
    );
    assert.ok(mayPassUnchanged, `${row}/${column}: accepted (nameId ${o.result.nameId})`);
    assert.equal(o.result.nameId, VICTIM.upn);
    assert.equal(o.result.email, VICTIM.mail);
    return undefined;
  }
  record(row, column, o.code);
  return o.code;
}

describe("signature wrapping (XSW), generated", () => {
  it("the unmodified sources validate under every signing option (the baseline)", async () => {
    for (const signing of SIGNING_OPTIONS) {
      for (const upn of [VICTIM.upn, DUO_SIGNED]) {
        const o = await outcome(signedResponse({ signing, user: { ...VICTIM, upn, mail: upn } }));
        assert.ok(o.ok, `${signing}: ${o.ok ? "" : o.code}`);
        assert.equal(o.result.nameId, upn);
        assert.equal(o.result.assertionId, ASSERTION_ID);
      }
    }
  });

  it("the serializer round-trips signed responses (so the variants differ only by the attack)", async () => {
    for (const signing of SIGNING_OPTIONS) {
      const o = await outcome(serialize(load(signedResponse({ signing })).root));
      assert.ok(o.ok, signing);
    }
  });

  for (const [name, v] of Object.entries(CLASSIC)) {
    for (const idMode of ["same-id", "new-id"] as const) {
      for (const signing of SIGNING_OPTIONS) {
        it(`${name} (${v.target}, evil copy with ${idMode}), signed on ${signing}: refused`, async () => {
          const doc = load(source(signing, name));
          const xml = serialize(v.make(doc, idMode));
          assert.ok(xml.includes(EVIL), "the variant carries the attacker's value");
          await expectRefused(xml, EVIL, `${name} ${idMode}`, signing);
        });
      }
    }
  }

  for (const [name, v] of Object.entries(MODERN)) {
    for (const signing of SIGNING_OPTIONS) {
      const outside = v.outsideSignedScope?.includes(signing) === true;
      const title = outside ? "never read (outside the signed element)" : "refused";
      it(`${name}, signed on ${signing}: ${title}`, async () => {
        const made = v.make(load(source(signing, name)));
        const xml = typeof made === "string" ? made : serialize(made);
        await expectRefused(xml, v.evil ?? EVIL, name, signing, outside);
      });
    }
  }

  // The codes are pinned, so that a change in which check stops a family shows up here. Most
  // variants add a second Assertion and meet the one-Assertion rule first; the rest are stopped
  // by the signature pinning, the digest or the comment rule.
  it("every variant meets the expected check (pinned outcome table)", () => {
    const pinned: Record<string, readonly [string, string, string]> = {
      "signature-moved-to-evil": [
        "digest_mismatch",
        "signature_reference_invalid",
        "digest_mismatch",
      ],
      "signature-moved-to-evil-new-id": [
        "signature_reference_invalid",
        "signature_reference_invalid",
        "digest_mismatch",
      ],
      "prefix-redefined-nameid": ["digest_mismatch", "digest_mismatch", "digest_mismatch"],
      // Elements the schema does not allow directly in a Response (a nested Response, a
      // look-alike Assertion) are refused before any signature is looked at.
      "XSW2 same-id": ["schema_invalid", "schema_invalid", "schema_invalid"],
      "XSW2 new-id": ["schema_invalid", "schema_invalid", "schema_invalid"],
      "second-response-outer": ["schema_invalid", "schema_invalid", "schema_invalid"],
      "second-response-inner": ["schema_invalid", "schema_invalid", "schema_invalid"],
      "lookalike-namespace-assertion": ["schema_invalid", "schema_invalid", "schema_invalid"],
      "lookalike-prefixed-assertion-after": ["schema_invalid", "schema_invalid", "schema_invalid"],
    };
    for (const name of Object.keys(MODERN).filter((n) => n.startsWith("comment-split"))) {
      pinned[name] = ["signed_value_tampered", "signed_value_tampered", "signed_value_tampered"];
    }
    assert.equal(table.size, 2 * Object.keys(CLASSIC).length + Object.keys(MODERN).length);
    for (const [row, cells] of table) {
      const want = pinned[row] ?? [
        "assertion_multiple",
        "assertion_multiple",
        "assertion_multiple",
      ];
      assert.deepEqual(
        SIGNING_OPTIONS.map((c) => cells.get(c)),
        [...want],
        row,
      );
    }
  });

  after(() => {
    const cols = [...SIGNING_OPTIONS];
    const rows = [...table.keys()];
    const w0 = Math.max(...rows.map((r) => r.length), 7);
    const w = Math.max(
      ...[...table.values()].flatMap((r) => [...r.values()].map((x) => x.length)),
      10,
    );
    const line = (cells: string[]): string =>
      `| ${cells[0]!.padEnd(w0)} | ${cells
        .slice(1)
        .map((c) => c.padEnd(w))
        .join(" | ")} |`;
    const out = [
      `XSW outcomes (${rows.length} variants x ${cols.length} signing options = ${rows.length * cols.length} cases)`,
      line(["variant", ...cols.map((c) => `signed on ${c}`)]),
      line(["-".repeat(w0), ...cols.map(() => "-".repeat(w))]),
      ...rows.map((r) => line([r, ...cols.map((c) => table.get(r)?.get(c) ?? "(not run)")])),
    ];
    console.log(out.join("\n"));
  });
});

// Comment injection the IdP itself signed: the value a comment-dropping reader would see is the
// text before the comment. Refused with signed_value_tampered, under exclusive C14N with and
// without comments (in the second case the comment is inside the digest, and still refused).
describe("comment injection signed by the IdP", () => {
  const INJECTED = "admin@corp.com<!---->.evil.com";
  const signWith = (withComments: boolean, where: "nameid" | "attribute"): string =>
    signedResponse({
      signing: "none",
      mutateAssertion: (xml) => {
        const injected =
          where === "nameid"
            ? xml.replace(`>${VICTIM.upn}</NameID>`, `>${INJECTED}</NameID>`)
            : xml.replace(
                `Name="${CLAIM_EMAILADDRESS}"><AttributeValue>${VICTIM.mail}<`,
                `Name="${CLAIM_EMAILADDRESS}"><AttributeValue>${INJECTED}<`,
              );
        assert.ok(injected.includes(INJECTED));
        return signEnveloped(
          injected,
          { privateKey: privateKey("idp-rsa"), certificate: certBase64("idp-rsa") },
          { withComments },
        );
      },
    });

  for (const withComments of [false, true]) {
    for (const where of ["nameid", "attribute"] as const) {
      it(`${where} "${INJECTED}", exc-c14n${withComments ? "#WithComments" : ""}: signed_value_tampered`, async () => {
        const xml = signWith(withComments, where);
        if (withComments) assert.ok(xml.includes("xml-exc-c14n#WithComments"));
        const o = await outcome(xml);
        assert.equal(o.ok ? "accepted" : o.code, "signed_value_tampered");
      });
    }
  }

  it("the same response without the comment validates (the refusal is the comment's)", async () => {
    const o = await outcome(
      signedResponse({
        signing: "none",
        mutateAssertion: (xml) =>
          signEnveloped(
            xml,
            { privateKey: privateKey("idp-rsa"), certificate: certBase64("idp-rsa") },
            { withComments: true },
          ),
      }),
    );
    assert.ok(o.ok);
    assert.equal(o.result.nameId, VICTIM.upn);
  });
});

// Exclusive XML Canonicalization 1.0 (https://www.w3.org/TR/xml-exc-c14n/) computed from our
// tree: the specification's own example (section 2.2), interop-style vectors (default namespace
// undeclaration, InclusiveNamespaces PrefixList with #default, attribute order, escaping, comments),
// and a cross-check with xmlsec1, which canonicalizes independently: documents it signs we
// verify, documents we sign it verifies.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { C14N_EXCLUSIVE, C14N_EXCLUSIVE_WITH_COMMENTS } from "../../src/saml/algorithms.ts";
import { signatureChildren, signEnveloped, verifyEnvelopedSignature } from "../../src/saml/dsig.ts";
import { SamlError } from "../../src/saml/errors.ts";
import { canonicalize } from "../../src/saml/xml/c14n.ts";
import { parseXml } from "../../src/saml/xml/parse.ts";
import { descendants, type XmlElement } from "../../src/saml/xml/tree.ts";
import { KEYS_DIR, privateKey, signedResponse, trusted } from "../support/entra.ts";

const find = (root: XmlElement, local: string): XmlElement => {
  for (const e of descendants(root)) if (e.local === local) return e;
  throw new Error(`no ${local}`);
};

describe("exc-c14n: the specification's example (section 2.2)", () => {
  // The same n1:elem2 subtree in two contexts: inclusive C14N renders them differently (it
  // inherits n0/n3 or n1/n2 and xml:*), exclusive C14N identically.
  const doc1 =
    '<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org">\n' +
    '  <n1:elem2 xmlns:n1="http://example.net" xml:lang="en">\n' +
    '     <n3:stuff xmlns:n3="ftp://example.org"/>\n' +
    "  </n1:elem2>\n" +
    "</n0:local>";
  const doc2 =
    '<n2:pdu xmlns:n1="http://example.com"\n' +
    '           xmlns:n2="http://foo.example"\n' +
    '           xml:lang="fr"\n' +
    '           xml:space="retain">\n' +
    '  <n1:elem2 xmlns:n1="http://example.net" xml:lang="en">\n' +
    '     <n3:stuff xmlns:n3="ftp://example.org"/>\n' +
    "  </n1:elem2>\n" +
    "</n2:pdu>";
  const expected =
    '<n1:elem2 xmlns:n1="http://example.net" xml:lang="en">\n' +
    '     <n3:stuff xmlns:n3="ftp://example.org"></n3:stuff>\n' +
    "  </n1:elem2>";

  it("both contexts give the same canonical form", () => {
    assert.equal(canonicalize(find(parseXml(doc1), "elem2")), expected);
    assert.equal(canonicalize(find(parseXml(doc2), "elem2")), expected);
  });

  it("the whole first document", () => {
    assert.equal(
      canonicalize(parseXml(doc1)),
      '<n0:local xmlns:n0="foo:bar">\n' +
        '  <n1:elem2 xmlns:n1="http://example.net" xml:lang="en">\n' +
        '     <n3:stuff xmlns:n3="ftp://example.org"></n3:stuff>\n' +
        "  </n1:elem2>\n" +
        "</n0:local>",
    );
  });

  it("with InclusiveNamespaces n3 the apex of doc1 renders n3 (treated as in inclusive C14N)", () => {
    assert.equal(
      canonicalize(parseXml(doc1), { inclusivePrefixes: ["n3"] }).split("\n")[0],
      '<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org">',
    );
  });
});

// [name, document, subtree element (local name), options, canonical form]
const VECTORS: readonly (readonly [
  string,
  string,
  string,
  Parameters<typeof canonicalize>[1],
  string,
])[] = [
  [
    "default namespace undeclared below a rendered default",
    '<a xmlns="urn:a"><b xmlns=""><c/></b></a>',
    "a",
    {},
    '<a xmlns="urn:a"><b xmlns=""><c></c></b></a>',
  ],
  [
    'xmlns="" not rendered at an apex with no rendered default',
    '<a xmlns="urn:a"><b xmlns=""><c/></b></a>',
    "b",
    {},
    "<b><c></c></b>",
  ],
  [
    "default namespace inherited from outside the subtree is rendered at the apex",
    '<a xmlns="urn:a"><b><c/></b></a>',
    "b",
    {},
    '<b xmlns="urn:a"><c></c></b>',
  ],
  [
    "unused declarations are dropped, redundant ones too",
    '<a xmlns:p="urn:p" xmlns:q="urn:q"><p:b xmlns:p="urn:p"><p:c xmlns:q="urn:q"/></p:b></a>',
    "a",
    {},
    '<a><p:b xmlns:p="urn:p"><p:c></p:c></p:b></a>',
  ],
  [
    "a prefix visibly utilized by an attribute only",
    '<a xmlns:p="urn:p"><b p:x="1"/></a>',
    "b",
    {},
    '<b xmlns:p="urn:p" p:x="1"></b>',
  ],
  [
    "a prefix redeclared to another URI is rendered again",
    '<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"/></p:a>',
    "a",
    {},
    '<p:a xmlns:p="urn:1"><p:b xmlns:p="urn:2"></p:b></p:a>',
  ],
  [
    "InclusiveNamespaces PrefixList renders an unused prefix in scope",
    '<a xmlns:p="urn:p" xmlns:q="urn:q"><b/></a>',
    "b",
    { inclusivePrefixes: ["p"] },
    '<b xmlns:p="urn:p"></b>',
  ],
  [
    "PrefixList #default renders the default namespace on a prefixed element",
    '<r xmlns="urn:d" xmlns:x="urn:x"><x:b/></r>',
    "b",
    { inclusivePrefixes: ["#default"] },
    '<x:b xmlns="urn:d" xmlns:x="urn:x"></x:b>',
  ],
  [
    "PrefixList naming a prefix not in scope renders nothing",
    "<r><b/></r>",
    "b",
    { inclusivePrefixes: ["zz", "#default"] },
    "<b></b>",
  ],
  [
    "PrefixList prefix rendered once, not again below",
    '<r xmlns:p="urn:p"><b><c/></b></r>',
    "b",
    { inclusivePrefixes: ["p"] },
    '<b xmlns:p="urn:p"><c></c></b>',
  ],
  [
    "attributes: unqualified first by local name, then by namespace URI (not prefix), then local",
    '<r xmlns:b="urn:b" xmlns:a="urn:z" b:y="1" a:x="2" z="3" a="4" b:x="5"/>',
    "r",
    {},
    '<r xmlns:a="urn:z" xmlns:b="urn:b" a="4" z="3" b:x="5" b:y="1" a:x="2"></r>',
  ],
  [
    "namespace declarations sorted by prefix, default first; attributes by URI, not prefix",
    '<r xmlns:z="urn:1" xmlns="urn:d" xmlns:a="urn:2" a:x="" z:y=""/>',
    "r",
    {},
    '<r xmlns="urn:d" xmlns:a="urn:2" xmlns:z="urn:1" z:y="" a:x=""></r>',
  ],
  [
    "attribute escaping: tab, LF, CR as references; & < \" escaped; > and ' literal",
    `<r a="&#9;&#10;&#13;&amp;&lt;&gt;&quot;'"/>`,
    "r",
    {},
    `<r a="&#x9;&#xA;&#xD;&amp;&lt;>&quot;'"></r>`,
  ],
  [
    "attribute normalization happens before canonicalization",
    '<r a="x\ty\r\nz"/>',
    "r",
    {},
    '<r a="x y z"></r>',
  ],
  [
    "text escaping: & < > escaped, CR as &#xD;, quotes and tab literal",
    `<r>&amp;&lt;&gt;&#13;"'\t&#9;</r>`,
    "r",
    {},
    `<r>&amp;&lt;&gt;&#xD;"'\t\t</r>`,
  ],
  ["line ends normalized in text", "<r>a\r\nb\rc</r>", "r", {}, "<r>a\nb\nc</r>"],
  [
    "CDATA becomes escaped text",
    "<r><![CDATA[<b>&amp;</b>]]></r>",
    "r",
    {},
    "<r>&lt;b&gt;&amp;amp;&lt;/b&gt;</r>",
  ],
  ["comments dropped without WithComments", "<r>a<!-- c -->b</r>", "r", {}, "<r>ab</r>"],
  [
    "comments kept with WithComments",
    "<r>a<!-- c -->b<!---->c</r>",
    "r",
    { withComments: true },
    "<r>a<!-- c -->b<!---->c</r>",
  ],
  [
    "xml: attributes are not inherited into the subtree",
    '<a xml:lang="en" xml:space="preserve"><b/></a>',
    "b",
    {},
    "<b></b>",
  ],
  [
    "characters outside ASCII as themselves",
    '<r a="é&#x1F600;">名前&#233;</r>',
    "r",
    {},
    '<r a="é\u{1F600}">名前é</r>',
  ],
];

describe("exc-c14n vectors", () => {
  for (const [name, xml, local, options, expected] of VECTORS) {
    it(name, () => {
      assert.equal(canonicalize(find(parseXml(xml), local), options), expected);
    });
  }

  it("the enveloped-signature exclusion leaves out exactly that element", () => {
    const r = parseXml("<r><a/><s><x/></s><b/></r>");
    assert.equal(canonicalize(r, { exclude: find(r, "s") }), "<r><a></a><b></b></r>");
  });
});

// Regression: a "#ID" reference dereferences to the element's node-set WITHOUT comments
// (xmldsig-core 4.4.3.3), so exc-c14n#WithComments in the Transforms keeps none. We used to
// digest the comments, and disagreed with xmlsec1 both ways (see the cross-check below).
describe("WithComments under a bare-name reference (xmldsig-core 4.4.3.3)", () => {
  const doc = '<S xmlns="urn:s" ID="_s">a<!-- c -->b</S>';
  const signed = signEnveloped(doc, { privateKey: privateKey("idp-rsa") }, { withComments: true });
  const cert = trusted("idp-rsa");

  it("the DigestValue is that of the comment-free canonical form", () => {
    assert.match(signed, /xml-exc-c14n#WithComments/);
    const canonical = canonicalize(parseXml(doc));
    assert.equal(canonical, '<S xmlns="urn:s" ID="_s">ab</S>');
    const digest = createHash("sha256").update(canonical, "utf8").digest("base64");
    assert.ok(
      signed.includes(`<ds:DigestValue>${digest}</ds:DigestValue>`) ||
        signed.includes(`<DigestValue>${digest}</DigestValue>`),
    );
  });

  it("verification digests without comments: adding or removing one does not change the digest", () => {
    for (const variant of [
      signed,
      signed.replace("<!-- c -->", ""),
      signed.replace("b</S>", "b<!--x--></S>"),
    ]) {
      const root = parseXml(variant);
      verifyEnvelopedSignature(root, signatureChildren(root)[0]!, [cert], {});
    }
    // The text itself is covered.
    const tampered = parseXml(signed.replace("b</S>", "B</S>"));
    assert.throws(
      () => verifyEnvelopedSignature(tampered, signatureChildren(tampered)[0]!, [cert], {}),
      (e) => e instanceof SamlError && e.code === "digest_mismatch",
    );
  });
});

// ------------------------------------------------------------------------------------------
// Cross-check with xmlsec1.

const xmlsec = spawnSync("xmlsec1", ["--version"], { encoding: "utf8" });
const skip = xmlsec.status === 0 ? false : "xmlsec1 is not installed (Debian package xmlsec1)";
const DS = "http://www.w3.org/2000/09/xmldsig#";

const work = mkdtempSync(join(tmpdir(), "gatehouse-c14n-"));
after(() => rmSync(work, { recursive: true, force: true }));

function xmlsec1(args: string[]): { status: number | null; out: string } {
  const r = spawnSync("xmlsec1", args, { encoding: "utf8", timeout: 20_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

/** An empty signature template for xmlsec1 to fill in. */
function template(id: string, c14n: string, prefixList?: string): string {
  const inclusive =
    prefixList === undefined
      ? ""
      : `<ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="${prefixList}"/>`;
  return (
    `<ds:Signature xmlns:ds="${DS}"><ds:SignedInfo>` +
    `<ds:CanonicalizationMethod Algorithm="${C14N_EXCLUSIVE}"/>` +
    `<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
    `<ds:Reference URI="#${id}"><ds:Transforms>` +
    `<ds:Transform Algorithm="${DS}enveloped-signature"/>` +
    `<ds:Transform Algorithm="${c14n}">${inclusive}</ds:Transform></ds:Transforms>` +
    `<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/>` +
    `</ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>`
  );
}

// Documents whose canonical form exercises the rules above. {SIG} marks where the Signature goes
// (a direct child of the element with ID="_s"); the node name is for xmlsec1's --id-attr.
const CROSS: readonly (readonly [string, string, string, string, string?])[] = [
  [
    "namespaces: default undeclared, prefixes redeclared, unused ones, attribute order",
    '<w:wrap xmlns:w="urn:w" xmlns:u="urn:unused"><S xmlns="urn:s" xmlns:b="urn:b" xmlns:a="urn:z" ID="_s" b:y="1" a:x="2" z="3">{SIG}<e xmlns=""><f b:k="v"/></e><b:g xmlns:b="urn:other"/></S></w:wrap>',
    "urn:s:S",
    C14N_EXCLUSIVE,
  ],
  [
    "escaping: tab, LF, CR in attributes and text, markup characters, non-ASCII",
    `<S xmlns="urn:s" ID="_s" a="&#9;&#10;&#13;&amp;&lt;&gt;&quot;'" b="x\ty">{SIG}a&#13;b&amp;c&lt;d&gt;e"f'g\th\ni é 名前 \u{1F600}<![CDATA[<cdata&>]]></S>`,
    "urn:s:S",
    C14N_EXCLUSIVE,
  ],
  [
    "comments with WithComments",
    '<S xmlns="urn:s" ID="_s">{SIG}<!-- one -->x<!---->y<c><!-- two --></c></S>',
    "urn:s:S",
    C14N_EXCLUSIVE_WITH_COMMENTS,
  ],
  [
    "InclusiveNamespaces PrefixList with #default and an unused prefix",
    '<o xmlns="urn:d" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:p="urn:p"><p:S ID="_s">{SIG}<p:v>xs:string</p:v></p:S></o>',
    "urn:p:S",
    C14N_EXCLUSIVE,
    "xs #default",
  ],
];

function signedElement(root: XmlElement): XmlElement {
  for (const e of descendants(root)) if (e.attributes.some((a) => a.local === "ID")) return e;
  throw new Error("no element with an ID");
}

describe("cross-check with xmlsec1", { skip }, () => {
  const keyFile = join(KEYS_DIR, "idp-rsa.key");
  const certFile = join(KEYS_DIR, "idp-rsa.crt");
  const cert = trusted("idp-rsa");

  CROSS.forEach(([name, doc, node, c14n, prefixList], i) => {
    it(`xmlsec1 signs, we verify: ${name}`, () => {
      const file = join(work, `xmlsec-signed-${i}.xml`);
      writeFileSync(file, doc.replace("{SIG}", template("_s", c14n, prefixList)));
      const out = join(work, `xmlsec-signed-${i}.out.xml`);
      const r = xmlsec1([
        "--sign",
        "--privkey-pem",
        keyFile,
        "--id-attr:ID",
        node,
        "--output",
        out,
        file,
      ]);
      assert.equal(r.status, 0, r.out);
      const root = parseXml(readFileSync(out, "utf8"));
      const signed = signedElement(root);
      const [sig] = signatureChildren(signed);
      const v = verifyEnvelopedSignature(signed, sig!, [cert], {});
      assert.equal(v.certificate.fingerprint256, cert.fingerprint256);
      assert.equal(v.digestAlgorithm, "sha256");

      // And a one-character change inside the signed element is caught (digest), which shows
      // the digest really is over that content.
      const tampered = readFileSync(out, "utf8").replace('ID="_s"', 'ID="_s" extra="1"');
      const t = signedElement(parseXml(tampered));
      assert.throws(
        () => verifyEnvelopedSignature(t, signatureChildren(t)[0]!, [cert], {}),
        (e) => e instanceof SamlError && e.code === "digest_mismatch",
      );
    });

    it(`we sign, xmlsec1 verifies: ${name}`, () => {
      const unsigned = doc.replace("{SIG}", "");
      const root = parseXml(unsigned);
      const target = signedElement(root);
      // signEnveloped takes the element's own XML: the subtree, with every namespace it uses
      // declared on it; the rest of the document is put back around it.
      const start = unsigned.indexOf(`<${target.qname} `);
      const endTag = `</${target.qname}>`;
      const end = unsigned.lastIndexOf(endTag) + endTag.length;
      const inherited = root === target ? [] : inScopeDecls(target.parent!);
      const own = unsigned.slice(start, end).replace(
        `<${target.qname} `,
        `<${target.qname} ${inherited
          .filter((d) => !target.namespaces.some((n) => n.prefix === d[0]))
          .map(([p, u]) => (p === "" ? `xmlns="${u}"` : `xmlns:${p}="${u}"`))
          .join(" ")} `,
      );
      const signedXml = signEnveloped(
        own,
        { privateKey: privateKey("idp-rsa") },
        {
          prefix: "ds",
          withComments: c14n === C14N_EXCLUSIVE_WITH_COMMENTS,
        },
      );
      const file = join(work, `ours-signed-${i}.xml`);
      writeFileSync(file, unsigned.slice(0, start) + signedXml + unsigned.slice(end));
      const r = xmlsec1(["--verify", "--pubkey-cert-pem", certFile, "--id-attr:ID", node, file]);
      assert.equal(r.status, 0, r.out);
      assert.match(r.out, /OK/);
      // xmlsec1 refuses our signature once the content changes (the check can fail).
      writeFileSync(file, readFileSync(file, "utf8").replace('ID="_s"', 'ID="_s" extra="1"'));
      assert.notEqual(
        xmlsec1(["--verify", "--pubkey-cert-pem", certFile, "--id-attr:ID", node, file]).status,
        0,
      );
    });
  });

  it("an Entra response signed by our mock IdP verifies in xmlsec1 (Assertion and Response)", () => {
    for (const [signing, node] of [
      ["assertion", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion"],
      ["response", "urn:oasis:names:tc:SAML:2.0:protocol:Response"],
    ] as const) {
      const file = join(work, `entra-${signing}.xml`);
      writeFileSync(file, signedResponse({ signing }));
      const r = xmlsec1(["--verify", "--pubkey-cert-pem", certFile, "--id-attr:ID", node, file]);
      assert.equal(r.status, 0, `${signing}: ${r.out}`);
    }
  });
});

/** Namespace declarations in scope at `el` (nearest wins), as [prefix, uri]. */
function inScopeDecls(el: XmlElement): [string, string][] {
  const seen = new Map<string, string>();
  for (let e: XmlElement | null = el; e !== null; e = e.parent) {
    for (const d of e.namespaces) if (!seen.has(d.prefix)) seen.set(d.prefix, d.uri);
  }
  return [...seen].filter(([p, u]) => !(p === "" && u === ""));
}

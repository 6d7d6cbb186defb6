// The strict XML reader (src/saml/xml/parse.ts): every refusal with its exact code, and what it
// reads from what it accepts (XML 1.0 fifth edition and Namespaces in XML 1.0 third edition,
// sections cited per rule).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { SamlError, type SamlErrorCode } from "../../src/saml/errors.ts";
import { parseXml, parseXmlFragment } from "../../src/saml/xml/parse.ts";
import { childElements, XML_NS, type XmlElement, type XmlNode } from "../../src/saml/xml/tree.ts";

function refusal(xml: string, limits?: Parameters<typeof parseXml>[1]): SamlErrorCode | "accepted" {
  try {
    parseXml(xml, limits);
    return "accepted";
  } catch (e) {
    if (e instanceof SamlError) return e.code;
    throw e;
  }
}

const nest = (n: number): string => "<a>".repeat(n) + "</a>".repeat(n);
const attrs = (n: number): string =>
  `<r ${Array.from({ length: n }, (_, i) => `a${i}="${i}"`).join(" ")}/>`;

const BILLION_LAUGHS =
  '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
  Array.from(
    { length: 9 },
    (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i === 0 ? "" : i};`.repeat(10)}">`,
  ).join("") +
  "]><lolz>&lol9;</lolz>";
const XXE =
  '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><r>&xxe;</r>';
const XXE_PARAMETER = '<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:1/evil.dtd"> %p;]><r/>';

// [rule, document, exact code]
const REFUSED: readonly (readonly [string, string, SamlErrorCode])[] = [
  // Document type declarations (2.8): refused before anything is declared or expanded.
  ["DTD with an internal subset", '<!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>', "xml_dtd_forbidden"],
  ["DTD without a subset", "<!DOCTYPE r><r/>", "xml_dtd_forbidden"],
  ["billion laughs", BILLION_LAUGHS, "xml_dtd_forbidden"],
  ["external entity (XXE) file:///etc/passwd", XXE, "xml_dtd_forbidden"],
  ["parameter entity from a URL", XXE_PARAMETER, "xml_dtd_forbidden"],
  [
    "DOCTYPE after a BOM and comment",
    '\uFEFF<!-- c --><!DOCTYPE r SYSTEM "x.dtd"><r/>',
    "xml_dtd_forbidden",
  ],
  ["DOCTYPE inside content", "<r><!DOCTYPE r></r>", "xml_dtd_forbidden"],
  ["ENTITY declaration inside content", '<r><!ENTITY a "b"></r>', "xml_dtd_forbidden"],
  ["ENTITY declaration before the root", '<!ENTITY a "b"><r/>', "xml_dtd_forbidden"],
  // Entities (4.1, 4.6): only the five predefined ones.
  ["undeclared entity in text", "<r>&nbsp;</r>", "xml_entity_forbidden"],
  ["undeclared entity in an attribute", '<r a="&foo;"/>', "xml_entity_forbidden"],
  ["HTML entity &copy;", "<r>&copy;</r>", "xml_entity_forbidden"],
  ["empty entity name &;", "<r>&;</r>", "xml_entity_forbidden"],
  // Processing instructions (2.6), the XML declaration only at the very start (2.8).
  ["PI before the root", "<?foo bar?><r/>", "xml_pi_forbidden"],
  ["PI in content", "<r><?foo bar?></r>", "xml_pi_forbidden"],
  ["PI after the root", "<r/><?foo?>", "xml_pi_forbidden"],
  ["xml-stylesheet", '<?xml-stylesheet type="text/xsl" href="x.xsl"?><r/>', "xml_pi_forbidden"],
  ["XML declaration after whitespace", ' <?xml version="1.0"?><r/>', "xml_pi_forbidden"],
  ["XML declaration after a comment", '<!-- c --><?xml version="1.0"?><r/>', "xml_pi_forbidden"],
  ["XML declaration in content", '<r><?xml version="1.0"?></r>', "xml_pi_forbidden"],
  ["XML declaration after the root", '<r/><?xml version="1.0"?>', "xml_pi_forbidden"],
  ["XML declaration in upper case", '<?XML version="1.0"?><r/>', "xml_pi_forbidden"],
  ["XML declaration without version", "<?xml?><r/>", "xml_pi_forbidden"],
  // XML declaration variants (2.8, 4.3.3): version 1.0, UTF-8 only, in the grammar's order.
  ["encoding ISO-8859-1", '<?xml version="1.0" encoding="ISO-8859-1"?><r/>', "malformed_xml"],
  ["encoding UTF-16", '<?xml version="1.0" encoding="UTF-16"?><r/>', "malformed_xml"],
  ["encoding UTF8 (no dash)", '<?xml version="1.0" encoding="UTF8"?><r/>', "malformed_xml"],
  ["version 1.1", '<?xml version="1.1"?><r/>', "malformed_xml"],
  [
    "standalone before encoding",
    '<?xml version="1.0" standalone="yes" encoding="UTF-8"?><r/>',
    "malformed_xml",
  ],
  ["standalone=maybe", '<?xml version="1.0" standalone="maybe"?><r/>', "malformed_xml"],
  ["mismatched quotes in the declaration", "<?xml version=\"1.0'?><r/>", "malformed_xml"],
  ["unterminated declaration", '<?xml version="1.0"<r/>', "malformed_xml"],
  // Character references (4.1) to characters outside Char (2.2).
  ["&#0;", "<r>&#0;</r>", "malformed_xml"],
  ["&#x0;", '<r a="&#x0;"/>', "malformed_xml"],
  ["&#xD800; (a surrogate)", "<r>&#xD800;</r>", "malformed_xml"],
  ["&#xDFFF; (a surrogate)", "<r>&#xDFFF;</r>", "malformed_xml"],
  ["&#xFFFE;", "<r>&#xFFFE;</r>", "malformed_xml"],
  ["&#xFFFF;", "<r>&#xFFFF;</r>", "malformed_xml"],
  ["&#x110000;", "<r>&#x110000;</r>", "malformed_xml"],
  ["&#1;", "<r>&#1;</r>", "malformed_xml"],
  ["&#x1B; in an attribute", '<r a="&#x1B;"/>', "malformed_xml"],
  ["&#; (no digits)", "<r>&#;</r>", "malformed_xml"],
  ["&#x; (no digits)", "<r>&#x;</r>", "malformed_xml"],
  ["&#12a; (not decimal)", "<r>&#12a;</r>", "malformed_xml"],
  ["&#xG; (not hex)", "<r>&#xG;</r>", "malformed_xml"],
  ["&#X41; (capital X)", "<r>&#X41;</r>", "malformed_xml"],
  ["unterminated reference &lt", "<r>a &lt b</r>", "malformed_xml"],
  ["bare ampersand in text", "<r>a & b</r>", "malformed_xml"],
  ["bare ampersand in an attribute", '<r a="a & b"/>', "malformed_xml"],
  // Forbidden characters (2.2), literally.
  ["U+0000 in text", "<r>\u0000</r>", "malformed_xml"],
  ["U+0001 in text", "<r>a\u0001b</r>", "malformed_xml"],
  ["U+000B in text", "<r>\u000B</r>", "malformed_xml"],
  ["U+001F in an attribute", '<r a="\u001F"/>', "malformed_xml"],
  ["U+0008 in a comment", "<r><!--\u0008--></r>", "malformed_xml"],
  ["U+000C in CDATA", "<r><![CDATA[\u000C]]></r>", "malformed_xml"],
  ["U+FFFE in text", "<r>\uFFFE</r>", "malformed_xml"],
  ["U+FFFF in an attribute", '<r a="\uFFFF"/>', "malformed_xml"],
  ["a lone high surrogate in text", "<r>\uD800</r>", "malformed_xml"],
  ["a lone low surrogate in an attribute", '<r a="\uDC00x"/>', "malformed_xml"],
  ["reversed surrogates", "<r>\uDC00\uD800</r>", "malformed_xml"],
  ["U+0001 in a comment outside the root", "<!--\u0001--><r/>", "malformed_xml"],
  // "]]>" in content (2.4), "--" in comments (2.5).
  ["]]> in text", "<r>a]]>b</r>", "malformed_xml"],
  ["]]> split over a reference is fine, literal is not", "<r>]]&gt;]]></r>", "malformed_xml"],
  ["-- inside a comment", "<r><!-- a -- b --></r>", "malformed_xml"],
  ["comment ending in --->", "<r><!-- a ---></r>", "malformed_xml"],
  ["unterminated comment", "<r><!-- a </r>", "malformed_xml"],
  ["-- in a comment before the root", "<!-- -- --><r/>", "malformed_xml"],
  ["unterminated CDATA", "<r><![CDATA[ a </r>", "malformed_xml"],
  ["CDATA outside the root", "<![CDATA[x]]><r/>", "malformed_xml"],
  ["lower-case cdata", "<r><![cdata[x]]></r>", "malformed_xml"],
  // Attributes (3.1): unique names, expanded names unique too (Namespaces 6.3).
  ["duplicate attribute", '<r a="1" a="2"/>', "malformed_xml"],
  ["duplicate prefixed attribute", '<r xmlns:p="u" p:a="1" p:a="2"/>', "malformed_xml"],
  [
    "same expanded name via two prefixes",
    '<r xmlns:p="u" xmlns:q="u" p:a="1" q:a="2"/>',
    "malformed_xml",
  ],
  [
    "same expanded name, prefixes declared on an ancestor",
    '<x xmlns:p="u"><r xmlns:q="u" q:a="1" p:a="2"/></x>',
    "malformed_xml",
  ],
  ["namespace declared twice", '<r xmlns:p="u" xmlns:p="v"/>', "malformed_xml"],
  ["default namespace declared twice", '<r xmlns="u" xmlns="u"/>', "malformed_xml"],
  ["< in an attribute value", '<r a="<"/>', "malformed_xml"],
  ["unquoted attribute value", "<r a=1/>", "malformed_xml"],
  ["attribute without a value", "<r a/>", "malformed_xml"],
  ["no whitespace between attributes", '<r a="1"b="2"/>', "malformed_xml"],
  ["unterminated attribute value", '<r a="1/>', "malformed_xml"],
  // Namespaces (Namespaces in XML 1.0, 3 and 5).
  ["undeclared element prefix", "<p:r/>", "malformed_xml"],
  ["undeclared attribute prefix", '<r p:a="1"/>', "malformed_xml"],
  ["prefix declared on a sibling only", '<x><a xmlns:p="u"/><p:b/></x>', "malformed_xml"],
  ['xmlns:p="" (undeclaring a prefix is XML 1.1 only)', '<r xmlns:p=""/>', "malformed_xml"],
  ["xmlns:xmlns declared", '<r xmlns:xmlns="http://www.w3.org/2000/xmlns/"/>', "malformed_xml"],
  ["xml prefix bound elsewhere", '<r xmlns:xml="urn:other"/>', "malformed_xml"],
  ["another prefix bound to the XML namespace", `<r xmlns:p="${XML_NS}"/>`, "malformed_xml"],
  ["default namespace = the XML namespace", `<r xmlns="${XML_NS}"/>`, "malformed_xml"],
  [
    "a prefix bound to the xmlns namespace",
    '<r xmlns:p="http://www.w3.org/2000/xmlns/"/>',
    "malformed_xml",
  ],
  [
    "default namespace = the xmlns namespace",
    '<r xmlns="http://www.w3.org/2000/xmlns/"/>',
    "malformed_xml",
  ],
  ["element with the xmlns prefix", '<xmlns:r xmlns:r="u"/>', "malformed_xml"],
  ["two colons in a name", '<a:b:c xmlns:a="u"/>', "malformed_xml"],
  ["empty local part", '<p: xmlns:p="u"/>', "malformed_xml"],
  ["empty prefix", "<:r/>", "malformed_xml"],
  // Names (2.3): ASCII only here, a strict subset.
  ["name starting with a digit", "<1r/>", "malformed_xml"],
  ["name starting with '-'", "<-r/>", "malformed_xml"],
  ["local part starting with a digit", '<p:1 xmlns:p="u"/>', "malformed_xml"],
  ["non-ASCII element name", "<é/>", "malformed_xml"],
  ["non-ASCII attribute name", '<r é="1"/>', "malformed_xml"],
  ["non-ASCII local part", '<p:naïve xmlns:p="u"/>', "malformed_xml"],
  ["non-ASCII prefix", '<ü:r xmlns:ü="u"/>', "malformed_xml"],
  ["CJK element name", "<名前/>", "malformed_xml"],
  ["space after '<'", "< r/>", "malformed_xml"],
  // Structure (2.1, 3).
  ["empty document", "", "malformed_xml"],
  ["whitespace only", " \n\t", "malformed_xml"],
  ["comment only", "<!-- c -->", "malformed_xml"],
  ["text before the root", "x<r/>", "malformed_xml"],
  ["text after the root", "<r/>x", "malformed_xml"],
  ["a second root", "<r/><r/>", "malformed_xml"],
  ["mismatched end tag", "<a><b></a></b>", "malformed_xml"],
  [
    "end tag with another prefix of the same namespace",
    '<p:a xmlns:p="u" xmlns:q="u"></q:a>',
    "malformed_xml",
  ],
  ["unclosed element", "<a><b></b>", "malformed_xml"],
  ["space before the end-tag name", "<a></ a>", "malformed_xml"],
  ["stray end tag", "</a>", "malformed_xml"],
  ["two BOMs", "\uFEFF\uFEFF<r/>", "malformed_xml"],
  ["unknown markup declaration", "<r><!ELEMENT r ANY></r>", "malformed_xml"],
  // Limits.
  ["depth 49 (default limit 48)", nest(49), "xml_too_deep"],
  ["65 attributes (default limit 64)", attrs(65), "malformed_xml"],
];

describe("parseXml refusals (one exact code per rule)", () => {
  for (const [rule, xml, code] of REFUSED) {
    it(`${rule}: ${code}`, () => {
      assert.equal(refusal(xml), code);
    });
  }

  it("XXE and billion laughs are refused before any expansion or file access", () => {
    // The reader imports nothing that could read a file or a URL: only the error catalogue and
    // the tree types. So a SYSTEM identifier cannot be fetched whatever the input.
    const source = readFileSync(join(import.meta.dirname, "../../src/saml/xml/parse.ts"), "utf8");
    const imports = [...source.matchAll(/^import[^;]*?from "([^"]+)";/gms)].map((m) => m[1]);
    assert.deepEqual(imports.sort(), ["../errors.ts", "./tree.ts"]);
    for (const xml of [XXE, BILLION_LAUGHS]) {
      const t = performance.now();
      let caught: unknown;
      try {
        parseXml(xml);
      } catch (e) {
        caught = e;
      }
      assert.ok(performance.now() - t < 50, "refused at once, nothing expanded");
      assert.ok(caught instanceof SamlError);
      assert.equal(caught.code, "xml_dtd_forbidden");
      assert.doesNotMatch(caught.message, /root:|lol{4}/);
    }
  });

  it("depth and attribute limits are exact and configurable", () => {
    assert.equal(refusal(nest(48)), "accepted");
    assert.equal(refusal(attrs(64)), "accepted");
    assert.equal(refusal(nest(5), { maxDepth: 4 }), "xml_too_deep");
    assert.equal(refusal(nest(4), { maxDepth: 4 }), "accepted");
    assert.equal(refusal(attrs(3), { maxAttributes: 2 }), "malformed_xml");
    // Namespace declarations count against the attribute limit.
    assert.equal(
      refusal('<r xmlns:a="u" xmlns:b="v" c="1"/>', { maxAttributes: 2 }),
      "malformed_xml",
    );
    // Deep nesting does not overflow the stack before the limit applies.
    assert.equal(refusal(nest(100_000)), "xml_too_deep");
  });
});

function text(el: XmlElement): string {
  return el.children.map((c: XmlNode) => (c.type === "text" ? c.value : "")).join("");
}

describe("parseXml: what is read from accepted documents", () => {
  it("XML declaration variants (2.8)", () => {
    for (const decl of [
      '<?xml version="1.0"?>',
      "<?xml version='1.0'?>",
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<?xml version="1.0" encoding="utf-8"?>',
      "<?xml version = '1.0'  encoding = 'UTF-8' standalone = 'no' ?>",
      '<?xml version="1.0" standalone="yes"?>',
      '<?xml\tversion="1.0"\r\n?>',
    ]) {
      assert.equal(parseXml(`${decl}<r/>`).local, "r", decl);
      assert.equal(parseXml(`\uFEFF${decl}\n<r/>`).local, "r", `BOM + ${decl}`);
    }
  });

  it("a byte-order mark at the start is skipped; elsewhere it is a character (Entra metadata starts with one)", () => {
    assert.equal(parseXml("\uFEFF<r/>").local, "r");
    assert.equal(text(parseXml("<r>\uFEFF</r>")), "\uFEFF");
  });

  it("line ends: CRLF and lone CR become LF in text, comments and CDATA (2.11)", () => {
    const r = parseXml("<r>a\r\nb\rc\n\rd<!--x\r\ny--><![CDATA[e\r\nf\rg]]></r>");
    assert.equal(r.children[0]!.type === "text" && r.children[0]!.value, "a\nb\nc\n\nd");
    assert.deepEqual(r.children[1], { type: "comment", value: "x\ny" });
    assert.equal(r.children[2]!.type === "text" && r.children[2]!.value, "e\nf\ng");
    // A character reference to CR is kept as CR.
    assert.equal(text(parseXml("<r>a&#13;&#10;b&#xD;</r>")), "a\r\nb\r");
  });

  it("attribute-value normalization: literal tab, CR, LF and CRLF become one space each (3.3.3)", () => {
    const r = parseXml(
      '<r a="x\ty\nz\r\nw\rv" b="  keep  spaces  " c="&#9;&#10;&#13;&#x20;" d="&#13;&#10;"/>',
    );
    assert.equal(r.attributes[0]!.value, "x y z w v");
    assert.equal(r.attributes[1]!.value, "  keep  spaces  ", "CDATA-typed: no collapsing");
    assert.equal(r.attributes[2]!.value, "\t\n\r ", "references keep their character");
    assert.equal(r.attributes[3]!.value, "\r\n");
  });

  it("predefined entities and character references, in text and attributes (4.6, 4.1)", () => {
    const r = parseXml(
      `<r a="&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1F600;" b='"' c="'">&lt;&gt;&amp;&quot;&apos;&#65;&#x42;&#x1F600;&amp;lt;</r>`,
    );
    assert.equal(r.attributes[0]!.value, `<>&"'AB\u{1F600}`);
    assert.equal(r.attributes[1]!.value, '"');
    assert.equal(r.attributes[2]!.value, "'");
    assert.equal(text(r), `<>&"'AB\u{1F600}&lt;`);
    assert.equal(text(parseXml("<r>&#0000065;</r>")), "A");
  });

  it("CDATA is text, merged with adjacent character data; markup inside is not read (2.7)", () => {
    const r = parseXml("<r>a<![CDATA[<b>&amp;]]]]>c<![CDATA[]]></r>");
    assert.deepEqual(r.children, [{ type: "text", value: "a<b>&amp;]]c" }]);
    assert.equal(childElements(r).length, 0);
  });

  it("]]> is allowed in attribute values and comments; > alone in text", () => {
    assert.equal(parseXml('<r a="]]>"/>').attributes[0]!.value, "]]>");
    assert.deepEqual(parseXml("<r><!--]]>--></r>").children, [{ type: "comment", value: "]]>" }]);
    assert.equal(text(parseXml("<r>a>b]c]]d</r>")), "a>b]c]]d");
  });

  it("comments are nodes that split text; empty comments are kept", () => {
    const r = parseXml("<r>a<!---->b<!-- - -->c</r>");
    assert.deepEqual(r.children, [
      { type: "text", value: "a" },
      { type: "comment", value: "" },
      { type: "text", value: "b" },
      { type: "comment", value: " - " },
      { type: "text", value: "c" },
    ]);
  });

  it("whitespace and comments around the root are ignored (Misc)", () => {
    assert.equal(parseXml(" \r\n\t<!-- a --><r/><!-- b -->\n ").local, "r");
  });

  it('namespaces: defaults, prefixes, redefinition on an inner element, undeclaring with xmlns=""', () => {
    const r = parseXml(
      '<p:r xmlns:p="urn:p" xmlns="urn:d"><a/><p:b xmlns:p="urn:q"><p:c/></p:b><e xmlns=""><f/></e></p:r>',
    );
    assert.equal(r.ns, "urn:p");
    const [a, b, e] = childElements(r);
    assert.equal(a!.ns, "urn:d");
    assert.equal(b!.ns, "urn:q");
    assert.equal(childElements(b!)[0]!.ns, "urn:q");
    assert.equal(e!.ns, "");
    assert.equal(childElements(e!)[0]!.ns, "");
  });

  it("attributes: unprefixed ones have no namespace (even under a default); prefixed ones resolve; xml: is predeclared", () => {
    const r = parseXml(
      '<r xmlns="urn:d" xmlns:p="urn:p" a="1" p:a="2" xml:lang="en" xmlns:xml="http://www.w3.org/XML/1998/namespace"/>',
    );
    assert.deepEqual(
      r.attributes.map((x) => [x.qname, x.ns, x.local, x.value]),
      [
        ["a", "", "a", "1"],
        ["p:a", "urn:p", "a", "2"],
        ["xml:lang", XML_NS, "lang", "en"],
      ],
    );
    assert.deepEqual(r.namespaces, [
      { prefix: "", uri: "urn:d" },
      { prefix: "p", uri: "urn:p" },
      { prefix: "xml", uri: XML_NS },
    ]);
    // Same local name, different namespaces: two distinct attributes.
    assert.equal(
      parseXml('<r xmlns:p="u" xmlns:q="v" p:a="1" q:a="2" a="3"/>').attributes.length,
      3,
    );
  });

  it("namespace URIs are attribute values: normalized and decoded", () => {
    const r = parseXml('<r xmlns:p="urn:a&amp;b\tc" p:x="1"/>');
    assert.equal(r.attributes[0]!.ns, "urn:a&b c");
  });

  it("names: ASCII letters, digits, '.', '-', '_' (and a reserved-looking xml prefix on elements)", () => {
    const r = parseXml('<_a.b-c1 x.y-z_2="v"><xml:a/></_a.b-c1>');
    assert.equal(r.local, "_a.b-c1");
    assert.equal(r.attributes[0]!.local, "x.y-z_2");
    assert.equal(childElements(r)[0]!.ns, XML_NS);
  });

  it("end tags may carry whitespace before '>'; start tags around attributes too", () => {
    const r = parseXml('<r \n a = "1"\t></r \r\n>');
    assert.equal(r.attributes[0]!.value, "1");
  });

  it("non-ASCII text and attribute values are fine (only names are restricted)", () => {
    const r = parseXml('<r a="Ünïcödé 名前 \u{1F600}">Zoë 名前 \u{1F600}</r>');
    assert.equal(r.attributes[0]!.value, "Ünïcödé 名前 \u{1F600}");
    assert.equal(text(r), "Zoë 名前 \u{1F600}");
  });

  it("parent links and document order", () => {
    const r = parseXml("<r><a><b/></a>t<c/></r>");
    const [a, c] = childElements(r);
    assert.equal(a!.parent, r);
    assert.equal(childElements(a!)[0]!.parent, a);
    assert.equal(r.parent, null);
    assert.deepEqual(
      r.children.map((n) => (n.type === "element" ? n.local : n.type)),
      ["a", "text", "c"],
    );
    assert.equal(c!.local, "c");
  });
});

describe("parseXmlFragment (decrypted EncryptedAssertion plaintext)", () => {
  const context = childElements(parseXml('<r xmlns:s="urn:s" xmlns="urn:d"><slot/></r>'))[0]!;

  it("resolves prefixes and the default namespace in the context's scope", () => {
    const el = parseXmlFragment("<s:A><B/></s:A>", context);
    assert.equal(el.ns, "urn:s");
    assert.equal(childElements(el)[0]!.ns, "urn:d");
    assert.equal(el.parent, context);
    assert.equal(context.children.length, 0, "the context is not changed");
  });

  it("refuses an XML declaration, a DTD, two elements, text around, and undeclared prefixes", () => {
    const code = (xml: string): string => {
      try {
        parseXmlFragment(xml, context);
        return "accepted";
      } catch (e) {
        return e instanceof SamlError ? e.code : "threw";
      }
    };
    assert.equal(code('<?xml version="1.0"?><a/>'), "xml_pi_forbidden");
    assert.equal(code("<!DOCTYPE a><a/>"), "xml_dtd_forbidden");
    assert.equal(code("<a/><b/>"), "malformed_xml");
    assert.equal(code("x<a/>"), "malformed_xml");
    assert.equal(code("<a/>x"), "malformed_xml");
    assert.equal(code("<q:a/>"), "malformed_xml");
    assert.equal(code(" <!-- c --><a/> "), "accepted");
  });

  it("counts depth from the top of the context's document", () => {
    assert.throws(
      () => parseXmlFragment(nest(47), context),
      (e) => e instanceof SamlError && e.code === "xml_too_deep",
    );
    assert.equal(parseXmlFragment(nest(46), context).local, "a");
  });
});

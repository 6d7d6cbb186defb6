/**
 * A strict, namespace-aware reader for the subset of XML 1.0 that SAML uses.
 *
 * Why our own: one parser on the validation path means no parser differential (the family of
 * SAML signature bypasses where the verifier and the claim reader see different documents), and
 * a tokenizer built for this subset is several times faster than a general DOM.
 *
 * Accepted: an optional XML declaration (UTF-8) and byte-order mark, elements, attributes,
 * namespace declarations, text, the five predefined entities, character references, CDATA
 * sections and comments. Refused, without expansion: DTDs (so entity declarations), any
 * processing instruction, undeclared entities, undeclared prefixes, duplicate attributes, names
 * outside ASCII. Everything accepted is read exactly as a conforming XML 1.0 + Namespaces parser
 * reads it (line-end and attribute-value normalization included); test/saml/xml-differential
 * checks that against a conforming parser.
 */

import { SamlError } from "../errors.ts";
import {
  XML_NS,
  type XmlAttribute,
  type XmlComment,
  type XmlElement,
  type XmlNamespaceDecl,
  type XmlNode,
  type XmlText,
} from "./tree.ts";

const XMLNS_NS = "http://www.w3.org/2000/xmlns/";

export interface ParseLimits {
  /** Deepest element nesting accepted (the document element is depth 1). */
  readonly maxDepth?: number;
  /** Most attributes (namespace declarations included) on one element. */
  readonly maxAttributes?: number;
}

const DEFAULT_MAX_DEPTH = 48;
const DEFAULT_MAX_ATTRIBUTES = 64;

// Names: ASCII NCNames only (a strict subset of XML Names; every SAML, XML-DSig and XML-Enc
// name is ASCII), optionally prefixed.
// (the grammar: [A-Za-z_][A-Za-z0-9._-]*(?::[A-Za-z_][A-Za-z0-9._-]*)?, read by Parser.name)
/**
 * The namespaces SAML readers compare against, as the very string objects the readers hold: a
 * declared URI equal to one of them is replaced by it, so those comparisons become pointer checks.
 */
const KNOWN_NAMESPACES: ReadonlyMap<string, string> = new Map(
  [
    "urn:oasis:names:tc:SAML:2.0:assertion",
    "urn:oasis:names:tc:SAML:2.0:protocol",
    "urn:oasis:names:tc:SAML:2.0:metadata",
    "http://www.w3.org/2000/09/xmldsig#",
    "http://www.w3.org/2001/04/xmlenc#",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/XMLSchema-instance",
    "http://www.w3.org/2001/XMLSchema",
  ].map((u) => [u, u]),
);
/**
 * Element names the SAML readers compare against, likewise: a local name equal to one of them is
 * replaced by the reader's own string (not a slice of the document), so comparisons are cheap.
 */
const KNOWN_LOCAL_NAMES: ReadonlyMap<string, string> = new Map(
  [
    "Response",
    "Assertion",
    "EncryptedAssertion",
    "Issuer",
    "Status",
    "StatusCode",
    "StatusMessage",
    "Signature",
    "SignedInfo",
    "SignatureValue",
    "KeyInfo",
    "Subject",
    "NameID",
    "SubjectConfirmation",
    "SubjectConfirmationData",
    "Conditions",
    "AudienceRestriction",
    "Audience",
    "AttributeStatement",
    "Attribute",
    "AttributeValue",
    "AuthnStatement",
    "AuthnContext",
    "AuthnContextClassRef",
  ].map((n) => [n, n]),
);
const NAME_START = 1;
const NAME_REST = 2;
/** ASCII name classes: NAME_START for [A-Za-z_], NAME_REST for [0-9.-], 0 otherwise. */
const NAME_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  NAME_CHAR[c] = /[A-Za-z_]/.test(ch) ? NAME_START : /[0-9.-]/.test(ch) ? NAME_REST : 0;
}
// Characters that XML 1.0 (section 2.2) forbids anywhere. With the u flag a surrogate pair is one
// code point, so only lone surrogates match the surrogate range.
const FORBIDDEN_CHAR =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: XML 1.0 section 2.2 forbids these; matching them is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uD800-\uDFFF\uFFFE\uFFFF]/u;
const XML_DECL =
  /<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"1\.0"|'1\.0')(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"[Uu][Tt][Ff]-8"|'[Uu][Tt][Ff]-8'))?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*\?>/y;

interface MutableElement {
  type: "element";
  qname: string;
  prefix: string;
  local: string;
  ns: string;
  attributes: XmlAttribute[];
  namespaces: XmlNamespaceDecl[];
  children: XmlNode[];
  parent: MutableElement | null;
}

/** Parses `xml` and returns its document element. Throws SamlError on anything outside the subset. */
export function parseXml(xml: string, limits: ParseLimits = {}): XmlElement {
  return new Parser(xml, limits).document();
}

/**
 * Parses `xml`, which must hold exactly one element (whitespace and comments around it allowed,
 * no XML declaration, no DTD), as if that element stood in the document as a child of `context`:
 * its `parent` is `context`, so unprefixed and prefixed names resolve against the namespaces in
 * scope there, and canonicalization and namespace lookups walk on into the enclosing document.
 * `context` itself is not changed (the new element is not added to its children). The depth
 * limit counts from the top of `context`'s document. Used for decrypted EncryptedAssertion
 * plaintext (XML Encryption 1.1, Decryption: Element-typed plaintext is parsed in the context of
 * the element it replaces).
 */
export function parseXmlFragment(
  xml: string,
  context: XmlElement,
  limits: ParseLimits = {},
): XmlElement {
  return new Parser(xml, limits).fragment(context);
}

function malformed(pos: number, what: string): SamlError {
  return new SamlError("malformed_xml", { note: `${what} at offset ${pos}` });
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

class Parser {
  private readonly s: string;
  private pos = 0;
  private readonly maxDepth: number;
  private readonly maxAttributes: number;

  constructor(s: string, limits: ParseLimits) {
    this.s = s;
    this.maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
    this.maxAttributes = limits.maxAttributes ?? DEFAULT_MAX_ATTRIBUTES;
    // XML 1.0 section 2.2 applies to every character of the entity, markup included: one scan of
    // the whole input instead of one per text node.
    const bad = FORBIDDEN_CHAR.exec(s);
    if (bad !== null) throw malformed(bad.index, "a character not allowed in XML");
  }

  document(): XmlElement {
    const s = this.s;
    if (s.charCodeAt(0) === 0xfeff) this.pos = 1;
    if (s.startsWith("<?xml", this.pos) && isSpaceOrEnd(s.charCodeAt(this.pos + 5))) {
      XML_DECL.lastIndex = this.pos;
      if (!XML_DECL.test(s)) throw malformed(this.pos, "unsupported or malformed XML declaration");
      this.pos = XML_DECL.lastIndex;
    }
    this.misc();
    if (s.charCodeAt(this.pos) !== 0x3c) throw malformed(this.pos, "expected the document element");
    const root = this.element(null, 1);
    this.misc();
    if (this.pos !== s.length) throw malformed(this.pos, "content after the document element");
    return root;
  }

  fragment(context: XmlElement): XmlElement {
    const s = this.s;
    let depth = 1;
    for (let e = context.parent; e !== null; e = e.parent) depth++;
    // The same Misc rules as around a document element: whitespace and comments only, so an
    // XML declaration is refused here as a processing instruction.
    this.misc();
    if (s.charCodeAt(this.pos) !== 0x3c) throw malformed(this.pos, "expected an element");
    // The shapes differ only in readonly-ness; the parser never writes to `context`.
    const el = this.element(context as MutableElement, depth + 1);
    this.misc();
    if (this.pos !== s.length) throw malformed(this.pos, "content after the element");
    return el;
  }

  /** Whitespace and comments outside the document element (XML 1.0 production Misc). */
  private misc(): void {
    const s = this.s;
    for (;;) {
      while (this.pos < s.length && isSpace(s.charCodeAt(this.pos))) this.pos++;
      if (s.startsWith("<!--", this.pos)) {
        this.comment();
      } else if (s.startsWith("<?", this.pos)) {
        throw new SamlError("xml_pi_forbidden", {
          note: `processing instruction at offset ${this.pos}`,
        });
      } else if (s.startsWith("<!DOCTYPE", this.pos) || s.startsWith("<!ENTITY", this.pos)) {
        throw new SamlError("xml_dtd_forbidden", { note: `DOCTYPE at offset ${this.pos}` });
      } else {
        return;
      }
    }
  }

  /** A QName per the grammar by NAME_CHAR, scanned by hand (no match object per name). */
  private name(): string {
    const s = this.s;
    const start = this.pos;
    let i = start;
    if (NAME_CHAR[s.charCodeAt(i)] !== NAME_START) throw malformed(start, "expected a name");
    i++;
    while (NAME_CHAR[s.charCodeAt(i)] !== undefined && NAME_CHAR[s.charCodeAt(i)] !== 0) i++;
    if (s.charCodeAt(i) === 0x3a && NAME_CHAR[s.charCodeAt(i + 1)] === NAME_START) {
      i += 2;
      while (NAME_CHAR[s.charCodeAt(i)] !== undefined && NAME_CHAR[s.charCodeAt(i)] !== 0) i++;
    }
    this.pos = i;
    return s.slice(start, i);
  }

  private skipSpace(): boolean {
    const start = this.pos;
    const s = this.s;
    while (this.pos < s.length && isSpace(s.charCodeAt(this.pos))) this.pos++;
    return this.pos > start;
  }

  private element(parent: MutableElement | null, depth: number): MutableElement {
    if (depth > this.maxDepth)
      throw new SamlError("xml_too_deep", { note: `limit ${this.maxDepth}` });
    const s = this.s;
    this.pos++; // '<'
    const qname = this.name();
    const raw: { qname: string; value: string }[] = [];
    const namespaces: XmlNamespaceDecl[] = [];
    let selfClosing = false;
    for (;;) {
      const hadSpace = this.skipSpace();
      const c = s.charCodeAt(this.pos);
      if (c === 0x3e) {
        this.pos++;
        break;
      }
      if (c === 0x2f && s.charCodeAt(this.pos + 1) === 0x3e) {
        this.pos += 2;
        selfClosing = true;
        break;
      }
      if (!hadSpace) throw malformed(this.pos, "expected whitespace, '>' or '/>'");
      const aname = this.name();
      this.skipSpace();
      if (s.charCodeAt(this.pos) !== 0x3d) throw malformed(this.pos, "expected '='");
      this.pos++;
      this.skipSpace();
      const value = this.attributeValue();
      if (aname === "xmlns" || aname.startsWith("xmlns:")) {
        namespaces.push(this.namespaceDecl(aname, value));
      } else {
        raw.push({ qname: aname, value });
      }
      if (raw.length + namespaces.length > this.maxAttributes) {
        throw malformed(this.pos, `more than ${this.maxAttributes} attributes`);
      }
    }
    for (let i = 1; i < namespaces.length; i++) {
      for (let j = 0; j < i; j++) {
        if (namespaces[i]!.prefix === namespaces[j]!.prefix) {
          throw malformed(this.pos, "namespace declared twice on one element");
        }
      }
    }

    const colon = qname.indexOf(":");
    const prefix = colon < 0 ? "" : qname.slice(0, colon);
    const rawLocal = colon < 0 ? qname : qname.slice(colon + 1);
    const local = KNOWN_LOCAL_NAMES.get(rawLocal) ?? rawLocal;
    const el: MutableElement = {
      type: "element",
      qname,
      prefix,
      local,
      ns: "",
      attributes: [],
      namespaces,
      children: [],
      parent,
    };
    if (prefix === "xmlns") throw malformed(this.pos, "element with the reserved prefix xmlns");
    const ns = this.resolve(el, prefix);
    if (ns === undefined) throw malformed(this.pos, `undeclared namespace prefix '${prefix}'`);
    el.ns = ns;

    for (const r of raw) {
      const ac = r.qname.indexOf(":");
      const ap = ac < 0 ? "" : r.qname.slice(0, ac);
      const al = ac < 0 ? r.qname : r.qname.slice(ac + 1);
      let ans = "";
      if (ap !== "") {
        const u = this.resolve(el, ap);
        if (u === undefined || u === "")
          throw malformed(this.pos, `undeclared namespace prefix '${ap}'`);
        ans = u;
      }
      for (const b of el.attributes) {
        if (b.qname === r.qname || (b.local === al && b.ns === ans)) {
          throw malformed(this.pos, `attribute '${r.qname}' given twice`);
        }
      }
      el.attributes.push({ qname: r.qname, prefix: ap, local: al, ns: ans, value: r.value });
    }

    if (!selfClosing) {
      this.content(el, depth);
    }
    return el;
  }

  private namespaceDecl(aname: string, uri: string): XmlNamespaceDecl {
    const prefix = aname === "xmlns" ? "" : aname.slice(6);
    if (prefix === "xmlns") throw malformed(this.pos, "the xmlns prefix cannot be declared");
    if (prefix === "xml" && uri !== XML_NS) throw malformed(this.pos, "the xml prefix is reserved");
    if (prefix !== "xml" && uri === XML_NS)
      throw malformed(this.pos, "the XML namespace is reserved");
    if (uri === XMLNS_NS) throw malformed(this.pos, "the xmlns namespace is reserved");
    if (prefix !== "" && uri === "") {
      throw malformed(this.pos, `prefix '${prefix}' undeclared (not allowed in XML 1.0)`);
    }
    return { prefix, uri: KNOWN_NAMESPACES.get(uri) ?? uri };
  }

  private resolve(el: MutableElement, prefix: string): string | undefined {
    if (prefix === "xml") return XML_NS;
    for (let e: MutableElement | null = el; e !== null; e = e.parent) {
      for (const d of e.namespaces) if (d.prefix === prefix) return d.uri;
    }
    return prefix === "" ? "" : undefined;
  }

  /** AttValue with references decoded and whitespace normalized (XML 1.0 section 3.3.3). */
  private attributeValue(): string {
    const s = this.s;
    const q = s.charCodeAt(this.pos);
    if (q !== 0x22 && q !== 0x27) throw malformed(this.pos, "expected a quoted attribute value");
    const start = this.pos + 1;
    const end = s.indexOf(q === 0x22 ? '"' : "'", start);
    if (end < 0) throw malformed(this.pos, "unterminated attribute value");
    const raw = s.slice(start, end);
    this.pos = end + 1;
    if (raw.includes("<")) throw malformed(start, "'<' in an attribute value");
    // Literal tab, CR, LF (after line-end normalization) become spaces; references are kept as
    // the characters they name.
    let v = raw;
    if (v.includes("\r")) v = v.replace(/\r\n?/g, "\n");
    if (/[\t\n]/.test(v)) v = v.replace(/[\t\n]/g, " ");
    if (v.includes("&")) v = this.decodeReferences(v, start);
    return v;
  }

  private content(el: MutableElement, depth: number): void {
    const s = this.s;
    let text = "";
    const flush = (): void => {
      if (text !== "") {
        el.children.push({ type: "text", value: text } satisfies XmlText);
        text = "";
      }
    };
    for (;;) {
      const lt = s.indexOf("<", this.pos);
      if (lt < 0) throw malformed(this.pos, `unclosed element '${el.qname}'`);
      if (lt > this.pos) {
        text += this.charData(s.slice(this.pos, lt), this.pos);
        this.pos = lt;
      }
      const c = s.charCodeAt(lt + 1);
      if (c === 0x2f) {
        // End tag.
        this.pos = lt + 2;
        const name = this.name();
        this.skipSpace();
        if (s.charCodeAt(this.pos) !== 0x3e) throw malformed(this.pos, "expected '>'");
        if (name !== el.qname)
          throw malformed(lt, `end tag '${name}' does not match '${el.qname}'`);
        this.pos++;
        flush();
        return;
      }
      if (c === 0x21) {
        if (s.startsWith("<!--", lt)) {
          flush();
          this.pos = lt;
          el.children.push(this.comment());
          continue;
        }
        if (s.startsWith("<![CDATA[", lt)) {
          const end = s.indexOf("]]>", lt + 9);
          if (end < 0) throw malformed(lt, "unterminated CDATA section");
          let cdata = s.slice(lt + 9, end);
          if (cdata.includes("\r")) cdata = cdata.replace(/\r\n?/g, "\n");
          text += cdata;
          this.pos = end + 3;
          continue;
        }
        if (s.startsWith("<!DOCTYPE", lt) || s.startsWith("<!ENTITY", lt)) {
          throw new SamlError("xml_dtd_forbidden", { note: `declaration at offset ${lt}` });
        }
        throw malformed(lt, "unexpected '<!'");
      }
      if (c === 0x3f) {
        throw new SamlError("xml_pi_forbidden", { note: `processing instruction at offset ${lt}` });
      }
      flush();
      this.pos = lt;
      el.children.push(this.element(el, depth + 1));
    }
  }

  private charData(raw: string, at: number): string {
    if (raw.includes("]]>")) throw malformed(at, "']]>' not allowed in content");
    let v = raw;
    if (v.includes("\r")) v = v.replace(/\r\n?/g, "\n");
    if (v.includes("&")) v = this.decodeReferences(v, at);
    return v;
  }

  private comment(): XmlComment {
    const s = this.s;
    const start = this.pos + 4;
    const end = s.indexOf("--", start);
    if (end < 0) throw malformed(this.pos, "unterminated comment");
    if (s.charCodeAt(end + 2) !== 0x3e) throw malformed(end, "'--' inside a comment");
    let value = s.slice(start, end);
    if (value.endsWith("-")) throw malformed(end, "comment ending in '--->'");
    if (value.includes("\r")) value = value.replace(/\r\n?/g, "\n");
    this.pos = end + 3;
    return { type: "comment", value };
  }

  private decodeReferences(v: string, at: number): string {
    return v.replace(/&([^;&]*)(;?)/g, (_m, body: string, semi: string) => {
      if (semi !== ";") throw malformed(at, "'&' not starting a reference");
      switch (body) {
        case "lt":
          return "<";
        case "gt":
          return ">";
        case "amp":
          return "&";
        case "quot":
          return '"';
        case "apos":
          return "'";
      }
      let code: number;
      if (/^#[0-9]{1,7}$/.test(body)) code = Number.parseInt(body.slice(1), 10);
      else if (/^#x[0-9A-Fa-f]{1,6}$/.test(body)) code = Number.parseInt(body.slice(2), 16);
      else if (body.startsWith("#"))
        throw malformed(at, `malformed character reference '&${body};'`);
      else throw new SamlError("xml_entity_forbidden", { note: `'&${body};' at offset ${at}` });
      if (!isXmlChar(code))
        throw malformed(at, `character reference to a forbidden character '&${body};'`);
      return String.fromCodePoint(code);
    });
  }
}

function isSpaceOrEnd(c: number): boolean {
  return Number.isNaN(c) || isSpace(c);
}

function isXmlChar(c: number): boolean {
  return (
    c === 0x9 ||
    c === 0xa ||
    c === 0xd ||
    (c >= 0x20 && c <= 0xd7ff) ||
    (c >= 0xe000 && c <= 0xfffd) ||
    (c >= 0x10000 && c <= 0x10ffff)
  );
}

export type { XmlElement };

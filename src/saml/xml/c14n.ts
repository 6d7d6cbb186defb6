/**
 * Exclusive XML Canonicalization 1.0 (https://www.w3.org/TR/xml-exc-c14n/), with or without
 * comments, computed straight from our tree: the bytes that are digested come from the very
 * objects the claims are read from.
 *
 * Only the subtree form is needed (a document subset of one element and its descendants, minus
 * an optional excluded element: the enveloped Signature, XML-DSig section 6.6.4).
 */

import {
  lookupNamespace,
  XML_NS,
  type XmlAttribute,
  type XmlElement,
  type XmlNamespaceDecl,
} from "./tree.ts";

export interface C14nOptions {
  readonly withComments?: boolean;
  /** InclusiveNamespaces PrefixList; "#default" stands for the default namespace. */
  readonly inclusivePrefixes?: readonly string[];
  /** An element to leave out with its subtree (the enveloped-signature transform). */
  readonly exclude?: XmlElement;
}

/** The canonical form of `el`'s subtree, as a string (hash it as UTF-8). */
export function canonicalize(el: XmlElement, options: C14nOptions = {}): string {
  const inclusive = (options.inclusivePrefixes ?? []).map((p) => (p === "#default" ? "" : p));
  const ctx: Ctx = {
    withComments: options.withComments === true,
    inclusive,
    exclude: options.exclude,
  };
  return renderElement(el, ctx, EMPTY_RENDERED);
}

interface Ctx {
  readonly withComments: boolean;
  readonly inclusive: readonly string[];
  readonly exclude: XmlElement | undefined;
}

/** Namespace declarations rendered by output ancestors: prefix -> URI. */
type Rendered = ReadonlyMap<string, string>;
const EMPTY_RENDERED: Rendered = new Map();

/** The namespace declarations an element adds to the output, and what is in scope below it. */
interface Pending {
  readonly decls: XmlNamespaceDecl[];
  /** This element's own copy of the rendered map. */
  readonly rendered: Map<string, string>;
}

function renderElement(el: XmlElement, ctx: Ctx, rendered: Rendered): string {
  // The common leaf (an AttributeValue, an Audience): no attributes, its namespace already
  // rendered by an output ancestor, only text inside. Same output, no bookkeeping.
  const kids = el.children;
  if (
    el.attributes.length === 0 &&
    ctx.inclusive.length === 0 &&
    rendered.get(el.prefix) === el.ns &&
    (kids.length === 0 || (kids.length === 1 && kids[0]!.type === "text"))
  ) {
    const text = kids.length === 0 ? "" : escapeText((kids[0] as { value: string }).value);
    return `<${el.qname}>${text}</${el.qname}>`;
  }
  // Visibly utilized prefixes (exc-c14n section 3): the element's own, and those of its
  // prefixed attributes, with the URIs the parser resolved for them; plus the
  // InclusiveNamespaces prefixes, treated as in inclusive C14N. Most elements add nothing, and
  // then nothing is allocated.
  let pending: Pending | undefined;
  if (el.prefix !== "xml") pending = consider(pending, rendered, el.prefix, el.ns);
  const attrs = el.attributes;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    if (a.prefix !== "" && a.prefix !== "xml")
      pending = consider(pending, rendered, a.prefix, a.ns);
  }
  for (const p of ctx.inclusive) {
    if (p === "xml") continue;
    const uri = lookupNamespace(el, p);
    if (uri !== undefined) pending = consider(pending, rendered, p, uri);
  }

  let out = `<${el.qname}`;
  if (pending !== undefined) {
    const ds = pending.decls;
    if (ds.length > 1) ds.sort((a, b) => compare(a.prefix, b.prefix));
    for (const d of ds) {
      out +=
        d.prefix === ""
          ? ` xmlns="${escapeAttr(d.uri)}"`
          : ` xmlns:${d.prefix}="${escapeAttr(d.uri)}"`;
    }
  }
  if (attrs.length > 0) {
    const sorted = attrs.length > 1 && !inOrder(attrs) ? [...attrs].sort(attributeOrder) : attrs;
    for (const a of sorted) out += ` ${a.qname}="${escapeAttr(a.value)}"`;
  }
  out += ">";
  const inner = pending === undefined ? rendered : pending.rendered;
  for (const c of el.children) {
    if (c.type === "text") out += escapeText(c.value);
    else if (c.type === "element") {
      if (c !== ctx.exclude) out += renderElement(c, ctx, inner);
    } else if (ctx.withComments) out += `<!--${c.value}-->`;
  }
  return `${out}</${el.qname}>`;
}

/**
 * Adds the declaration of `prefix` (bound to `uri` at this element) unless an output ancestor
 * rendered the same binding, or it is the empty default namespace nobody rendered otherwise.
 */
function consider(
  pending: Pending | undefined,
  rendered: Rendered,
  prefix: string,
  uri: string,
): Pending | undefined {
  if (pending?.decls.some((d) => d.prefix === prefix)) return pending;
  const have = rendered.get(prefix);
  if (have === uri || (prefix === "" && uri === "" && have === undefined)) return pending;
  const p = pending ?? { decls: [], rendered: new Map(rendered) };
  p.decls.push({ prefix, uri });
  p.rendered.set(prefix, uri);
  return p;
}

/** Attributes in canonical order: by namespace URI, then local name (C14N 1.0 section 2.2). */
function attributeOrder(a: XmlAttribute, b: XmlAttribute): number {
  return compare(a.ns, b.ns) || compare(a.local, b.local);
}

/** Most elements list their attributes in canonical order already: then no copy, no sort. */
function inOrder(attrs: readonly XmlAttribute[]): boolean {
  for (let i = 1; i < attrs.length; i++)
    if (attributeOrder(attrs[i - 1]!, attrs[i]!) > 0) return false;
  return true;
}

// Code-unit order equals code-point order for the ASCII names and URIs SAML uses; for URIs with
// astral characters the spec's "lexicographic" order is ambiguous anyway.
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function escapeText(s: string): string {
  if (!/[&<>\r]/.test(s)) return s;
  return s.replace(/[&<>\r]/g, (c) =>
    c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : "&#xD;",
  );
}

export function escapeAttr(s: string): string {
  if (!/[&<"\t\n\r]/.test(s)) return s;
  return s.replace(/[&<"\t\n\r]/g, (c) =>
    c === "&"
      ? "&amp;"
      : c === "<"
        ? "&lt;"
        : c === '"'
          ? "&quot;"
          : c === "\t"
            ? "&#x9;"
            : c === "\n"
              ? "&#xA;"
              : "&#xD;",
  );
}

export { XML_NS };

/**
 * Exclusive XML Canonicalization 1.0 (https://www.w3.org/TR/xml-exc-c14n/), with or without
 * comments, computed straight from our tree: the bytes that are digested come from the very
 * objects the claims are read from.
 *
 * Only the subtree form is needed (a document subset of one element and its descendants, minus
 * an optional excluded element: the enveloped Signature, XML-DSig section 6.6.4).
 */

import { lookupNamespace, XML_NS, type XmlElement, type XmlNamespaceDecl } from "./tree.ts";

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

function renderElement(el: XmlElement, ctx: Ctx, rendered: Rendered): string {
  // Visibly utilized prefixes (exc-c14n section 3): the element's own, and those of its
  // prefixed attributes; plus the InclusiveNamespaces prefixes, treated as in inclusive C14N.
  let decls: XmlNamespaceDecl[] | undefined;
  let nextRendered: Map<string, string> | undefined;
  const consider = (prefix: string, mustBeInScope: boolean): void => {
    if (prefix === "xml") return;
    if (decls?.some((d) => d.prefix === prefix)) return;
    const uri = lookupNamespace(el, prefix);
    if (uri === undefined) {
      if (mustBeInScope) throw new Error(`c14n: prefix '${prefix}' not in scope`);
      return;
    }
    const have = rendered.get(prefix);
    if (prefix === "" && uri === "" && (have === undefined || have === "")) return;
    if (have === uri) return;
    if (decls === undefined) decls = [];
    decls.push({ prefix, uri });
    if (nextRendered === undefined) nextRendered = new Map(rendered);
    nextRendered.set(prefix, uri);
  };
  consider(el.prefix, true);
  const attrs = el.attributes;
  for (let i = 0; i < attrs.length; i++) {
    const p = attrs[i]!.prefix;
    if (p !== "") consider(p, true);
  }
  for (const p of ctx.inclusive) consider(p, false);

  let out = `<${el.qname}`;
  if (decls !== undefined) {
    const ds = decls as XmlNamespaceDecl[];
    if (ds.length > 1) ds.sort((a, b) => compare(a.prefix, b.prefix));
    for (const d of ds) {
      out +=
        d.prefix === ""
          ? ` xmlns="${escapeAttr(d.uri)}"`
          : ` xmlns:${d.prefix}="${escapeAttr(d.uri)}"`;
    }
  }
  if (attrs.length > 0) {
    const sorted =
      attrs.length > 1
        ? [...attrs].sort((a, b) => compare(a.ns, b.ns) || compare(a.local, b.local))
        : attrs;
    for (const a of sorted) out += ` ${a.qname}="${escapeAttr(a.value)}"`;
  }
  out += ">";
  const inner: Rendered = nextRendered ?? rendered;
  for (const c of el.children) {
    if (c.type === "text") out += escapeText(c.value);
    else if (c.type === "element") {
      if (c !== ctx.exclude) out += renderElement(c, ctx, inner);
    } else if (ctx.withComments) out += `<!--${c.value}-->`;
  }
  return `${out}</${el.qname}>`;
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

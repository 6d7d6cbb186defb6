/**
 * The light tree our parser builds: plain objects, namespaces resolved, nothing more. Every
 * reader in the SAML core works on this tree, and canonicalization is computed from it, so what
 * is verified and what is read are the same objects.
 */

export const XML_NS = "http://www.w3.org/XML/1998/namespace";

export interface XmlAttribute {
  readonly qname: string;
  readonly prefix: string;
  readonly local: string;
  /** Namespace URI; "" for an unprefixed attribute (unprefixed attributes have no namespace). */
  readonly ns: string;
  readonly value: string;
}

export interface XmlNamespaceDecl {
  /** "" for the default namespace. */
  readonly prefix: string;
  /** "" only for `xmlns=""` (undeclaring the default namespace). */
  readonly uri: string;
}

export interface XmlElement {
  readonly type: "element";
  readonly qname: string;
  readonly prefix: string;
  readonly local: string;
  readonly ns: string;
  readonly attributes: readonly XmlAttribute[];
  readonly namespaces: readonly XmlNamespaceDecl[];
  readonly children: readonly XmlNode[];
  readonly parent: XmlElement | null;
}

export interface XmlText {
  readonly type: "text";
  readonly value: string;
}

export interface XmlComment {
  readonly type: "comment";
  readonly value: string;
}

export type XmlNode = XmlElement | XmlText | XmlComment;

/** Resolves `prefix` ("" for default) in the scope of `el`; undefined when not declared. */
export function lookupNamespace(el: XmlElement, prefix: string): string | undefined {
  if (prefix === "xml") return XML_NS;
  for (let e: XmlElement | null = el; e !== null; e = e.parent) {
    const decls = e.namespaces;
    for (let i = 0; i < decls.length; i++) {
      const d = decls[i]!;
      if (d.prefix === prefix) return d.uri;
    }
  }
  return prefix === "" ? "" : undefined;
}

export function attr(el: XmlElement, local: string, ns = ""): string | undefined {
  const attrs = el.attributes;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    if (a.local === local && a.ns === ns) return a.value;
  }
  return undefined;
}

export function childElements(el: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) if (c.type === "element") out.push(c);
  return out;
}

/** Direct children with this expanded name, in document order. */
export function children(el: XmlElement, ns: string, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children) {
    if (c.type === "element" && c.local === local && c.ns === ns) out.push(c);
  }
  return out;
}

/** The first direct child with this expanded name. */
export function child(el: XmlElement, ns: string, local: string): XmlElement | undefined {
  for (const c of el.children) {
    if (c.type === "element" && c.local === local && c.ns === ns) return c;
  }
  return undefined;
}

/** Every element of the subtree (including `el`), depth first, document order. */
export function* descendants(el: XmlElement): Generator<XmlElement> {
  // An explicit stack, not `yield*` recursion: each nested generator would re-yield every
  // element below it, a cost in depth per element (six times slower on an Entra response).
  const stack: XmlElement[] = [el];
  while (stack.length > 0) {
    const next = stack.pop()!;
    yield next;
    const cs = next.children;
    for (let i = cs.length - 1; i >= 0; i--) {
      const c = cs[i]!;
      if (c.type === "element") stack.push(c);
    }
  }
}

/** The concatenated text of the direct text children (comments and elements contribute nothing). */
export function directText(el: XmlElement): string {
  let s = "";
  for (const c of el.children) if (c.type === "text") s += c.value;
  return s;
}

/** True when `node` is `ancestor` or lies inside it. */
export function isWithin(node: XmlElement, ancestor: XmlElement): boolean {
  for (let e: XmlElement | null = node; e !== null; e = e.parent) if (e === ancestor) return true;
  return false;
}

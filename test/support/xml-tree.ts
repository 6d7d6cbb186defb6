/**
 * A mutable copy of our parser's tree and a serializer for it, so tests can rearrange signed
 * documents at the tree level (signature wrapping, fuzzing) and write them back as XML. Written
 * without the SAML core's writer: the serializer re-emits each element's own namespace
 * declarations, so an untouched tree serializes to a document with the same canonical form.
 */

import { parseXml } from "../../src/saml/xml/parse.ts";
import type { XmlElement } from "../../src/saml/xml/tree.ts";

export interface MElement {
  type: "element";
  qname: string;
  /** Namespace declarations as written on this element: prefix ("" for default) -> URI. */
  ns: { prefix: string; uri: string }[];
  attrs: { qname: string; value: string }[];
  children: MNode[];
}
export interface MText {
  type: "text";
  value: string;
}
export interface MComment {
  type: "comment";
  value: string;
}
export type MNode = MElement | MText | MComment;

export function toMutable(el: XmlElement): MElement {
  return {
    type: "element",
    qname: el.qname,
    ns: el.namespaces.map((d) => ({ prefix: d.prefix, uri: d.uri })),
    attrs: el.attributes.map((a) => ({ qname: a.qname, value: a.value })),
    children: el.children.map((c) =>
      c.type === "element" ? toMutable(c) : { type: c.type, value: c.value },
    ),
  };
}

export function parseMutable(xml: string): MElement {
  return toMutable(parseXml(xml));
}

export function clone<T extends MNode>(n: T): T {
  return structuredClone(n);
}

function escText(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/\r/g, "&#xD;");
}

function escAttr(s: string): string {
  return s
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/"/g, "&quot;")
    .replace(/\t/g, "&#x9;")
    .replace(/\n/g, "&#xA;")
    .replace(/\r/g, "&#xD;");
}

export function serialize(n: MNode): string {
  if (n.type === "text") return escText(n.value);
  if (n.type === "comment") return `<!--${n.value}-->`;
  let out = `<${n.qname}`;
  for (const d of n.ns)
    out +=
      d.prefix === "" ? ` xmlns="${escAttr(d.uri)}"` : ` xmlns:${d.prefix}="${escAttr(d.uri)}"`;
  for (const a of n.attrs) out += ` ${a.qname}="${escAttr(a.value)}"`;
  if (n.children.length === 0) return `${out}/>`;
  return `${out}>${n.children.map(serialize).join("")}</${n.qname}>`;
}

export function localOf(el: MElement): string {
  const i = el.qname.indexOf(":");
  return i < 0 ? el.qname : el.qname.slice(i + 1);
}

export function elementChildren(el: MElement): MElement[] {
  return el.children.filter((c): c is MElement => c.type === "element");
}

/** The first direct child element with this local name. */
export function childNamed(el: MElement, local: string): MElement | undefined {
  return elementChildren(el).find((c) => localOf(c) === local);
}

/** Every element of the subtree (including `el`) with this local name, document order. */
export function allNamed(el: MElement, local: string): MElement[] {
  const out: MElement[] = [];
  const walk = (e: MElement): void => {
    if (localOf(e) === local) out.push(e);
    for (const c of elementChildren(e)) walk(c);
  };
  walk(el);
  return out;
}

export function getAttr(el: MElement, qname: string): string | undefined {
  return el.attrs.find((a) => a.qname === qname)?.value;
}

export function setAttr(el: MElement, qname: string, value: string): void {
  const a = el.attrs.find((x) => x.qname === qname);
  if (a === undefined) el.attrs.push({ qname, value });
  else a.value = value;
}

export function setText(el: MElement, value: string): void {
  el.children = [{ type: "text", value }];
}

/** Removes `node` from `parent`'s children; returns its former index. */
export function remove(parent: MElement, node: MNode): number {
  const i = parent.children.indexOf(node);
  if (i < 0) throw new Error("remove: not a child");
  parent.children.splice(i, 1);
  return i;
}

/** Inserts `node` into `parent` after the child `ref` (or first, when ref is undefined). */
export function insertAfter(parent: MElement, ref: MNode | undefined, node: MNode): void {
  const i = ref === undefined ? 0 : parent.children.indexOf(ref) + 1;
  parent.children.splice(i, 0, node);
}

export function insertBefore(parent: MElement, ref: MNode, node: MNode): void {
  parent.children.splice(parent.children.indexOf(ref), 0, node);
}

/** The parent of `node` within `root`, or undefined for the root itself. */
export function parentOf(root: MElement, node: MNode): MElement | undefined {
  for (const c of elementChildren(root)) {
    if (c === node) return root;
  }
  for (const c of root.children) {
    if (c === node) return root;
    if (c.type === "element") {
      const p = parentOf(c, node);
      if (p !== undefined) return p;
    }
  }
  return undefined;
}

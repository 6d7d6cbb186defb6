/**
 * Indented XML from our tree, for reading (never for signing: whitespace is added between
 * elements). Text and attribute values are escaped so the output parses back to the same names,
 * values and text (whitespace-only text between elements aside).
 */

import { escapeAttr, escapeText } from "../saml/xml/c14n.ts";
import type { XmlElement } from "../saml/xml/tree.ts";

export function prettyXml(root: XmlElement, indent = "  "): string {
  const out: string[] = [];
  write(root, 0);
  return `${out.join("\n")}\n`;

  function write(el: XmlElement, depth: number): void {
    const pad = indent.repeat(depth);
    let open = `<${el.qname}`;
    for (const ns of el.namespaces) {
      open +=
        ns.prefix === ""
          ? ` xmlns="${escapeAttr(ns.uri)}"`
          : ` xmlns:${ns.prefix}="${escapeAttr(ns.uri)}"`;
    }
    for (const a of el.attributes) open += ` ${a.qname}="${escapeAttr(a.value)}"`;
    const kids = el.children.filter((c) => !(c.type === "text" && c.value.trim() === ""));
    if (kids.length === 0) {
      out.push(`${pad}${open}/>`);
      return;
    }
    if (kids.every((c) => c.type === "text")) {
      const text = kids.map((c) => c.value).join("");
      out.push(`${pad}${open}>${escapeText(text)}</${el.qname}>`);
      return;
    }
    out.push(`${pad}${open}>`);
    for (const c of kids) {
      if (c.type === "element") write(c, depth + 1);
      else if (c.type === "comment") out.push(`${pad}${indent}<!--${c.value}-->`);
      else out.push(`${pad}${indent}${escapeText(c.value.trim())}`);
    }
    out.push(`${pad}</${el.qname}>`);
  }
}

/**
 * A small RFC 5322 / MIME reader for the mail tests (no parsing library is installed, and the
 * tests should not trust nodemailer to read back what nodemailer wrote).
 */

export interface ParsedPart {
  /** Lower-cased header names; values unfolded (RFC 5322 section 2.2.3). */
  readonly headers: ReadonlyMap<string, string>;
  /** The decoded body of a leaf part (quoted-printable and base64 undone). */
  readonly body: string;
  readonly parts: readonly ParsedPart[];
}

export function parseMessage(raw: string): ParsedPart {
  const split = raw.indexOf("\r\n\r\n");
  if (split < 0) throw new Error("no blank line between header and body");
  const head = raw.slice(0, split);
  const body = raw.slice(split + 4);
  const headers = new Map<string, string>();
  for (const field of head.split(/\r\n(?![ \t])/)) {
    const colon = field.indexOf(":");
    if (colon <= 0) throw new Error(`not a header field: ${JSON.stringify(field)}`);
    const name = field.slice(0, colon).toLowerCase();
    if (headers.has(name)) throw new Error(`header ${name} twice`);
    headers.set(
      name,
      field
        .slice(colon + 1)
        .replace(/\r\n[ \t]+/g, " ")
        .trim(),
    );
  }
  const type = headers.get("content-type") ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (type.toLowerCase().startsWith("multipart/") && boundary !== undefined) {
    const sections = body.split(`--${boundary}`);
    const parts = sections
      .slice(1)
      .filter((s) => !s.startsWith("--"))
      .map((s) => parseMessage(s.replace(/^\r\n/, "").replace(/\r\n$/, "")));
    return { headers, body: "", parts };
  }
  return { headers, body: decode(body, headers.get("content-transfer-encoding")), parts: [] };
}

function decode(body: string, encoding: string | undefined): string {
  switch ((encoding ?? "7bit").toLowerCase()) {
    case "base64":
      return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
    case "quoted-printable": {
      const bytes = body
        .replace(/=\r\n/g, "")
        .replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
      return Buffer.from(bytes, "latin1").toString("utf8");
    }
    default:
      return body;
  }
}

/** The text/plain and text/html leaves of a message. */
export function textParts(message: ParsedPart): { text?: string; html?: string } {
  const out: { text?: string; html?: string } = {};
  const visit = (p: ParsedPart) => {
    const type = (p.headers.get("content-type") ?? "text/plain").toLowerCase();
    if (p.parts.length > 0) p.parts.forEach(visit);
    else if (type.startsWith("text/plain")) out.text = p.body.replace(/\r\n/g, "\n");
    else if (type.startsWith("text/html")) out.html = p.body.replace(/\r\n/g, "\n");
  };
  visit(message);
  return out;
}

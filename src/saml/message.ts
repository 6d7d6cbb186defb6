/** Decoding of SAML protocol messages as the bindings carry them (saml-bindings-2.0-os 3.4, 3.5). */

import { SamlError } from "./errors.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * The base64 form value of the HTTP-POST binding, decoded to XML text. Line breaks and spaces
 * are tolerated (some IdPs wrap at 76 columns); anything else outside the alphabet is refused.
 */
export function decodeMessage(base64: string, maxBytes: number): string {
  // 4/3 expansion plus room for line breaks: refuse before doing any work on a huge input.
  if (base64.length > Math.ceil(maxBytes / 3) * 4 * 1.1 + 1024) {
    throw new SamlError("input_too_large", {
      expected: `at most ${maxBytes} bytes`,
      received: `${base64.length} base64 characters`,
    });
  }
  const compact = base64.replace(/[ \t\r\n]+/g, "");
  const bytes = Buffer.from(compact, "base64");
  if (compact.length === 0 || compact.length % 4 !== 0 || !isBase64(compact, bytes)) {
    throw new SamlError("malformed_base64", { received: `${compact.length} characters` });
  }
  if (bytes.length > maxBytes) {
    throw new SamlError("input_too_large", {
      expected: `at most ${maxBytes} bytes`,
      received: `${bytes.length} bytes`,
    });
  }
  return decodeUtf8(bytes);
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * True when `compact` (a multiple of 4 long) matches BASE64, decided without running the regex
 * over the whole message (a character-class scan costs several microseconds per kilobyte, the
 * largest single cost of a validation). Node's decoder skips what is outside the alphabet, so
 * re-encoding the full quads of `bytes`, its decoding, gives back only alphabet characters:
 * every quad but the last comes back unchanged exactly when it was all alphabet characters (full
 * quads have no spare bits to normalize). The last quad, which may carry padding and spare bits, goes through
 * the regex itself.
 */
function isBase64(compact: string, bytes: Buffer): boolean {
  const head = compact.length - 4;
  const headBytes = (head / 4) * 3;
  // Shorter output means the decoder stopped or skipped; its re-encoding would end in padding.
  return (
    bytes.length >= headBytes &&
    bytes.toString("base64", 0, headBytes) === compact.slice(0, head) &&
    BASE64.test(compact.slice(head))
  );
}

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new SamlError("malformed_xml", { note: "not valid UTF-8" });
  }
}

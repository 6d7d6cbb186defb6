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
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new SamlError("malformed_base64", { received: `${compact.length} characters` });
  }
  const bytes = Buffer.from(compact, "base64");
  if (bytes.length > maxBytes) {
    throw new SamlError("input_too_large", {
      expected: `at most ${maxBytes} bytes`,
      received: `${bytes.length} bytes`,
    });
  }
  return decodeUtf8(bytes);
}

export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new SamlError("malformed_xml", { note: "not valid UTF-8" });
  }
}

/**
 * The HTTP-Redirect binding's message encoding (saml-bindings-2.0-os 3.4.4.1): DEFLATE (raw,
 * RFC 1951), then base64, then URL-encoding as a query parameter.
 */

import { deflateRawSync, inflateRawSync } from "node:zlib";
import { SamlError } from "./errors.ts";
import { decodeUtf8 } from "./message.ts";

/** The value to put (URL-encoded by the caller's URLSearchParams) in SAMLRequest/SAMLResponse. */
export function encodeRedirectMessage(xml: string): string {
  return deflateRawSync(Buffer.from(xml, "utf8")).toString("base64");
}

/**
 * Decodes a SAMLRequest/SAMLResponse parameter value (already URL-decoded) to XML text.
 * Inflation is capped at `maxBytes` so a small compressed bomb cannot exhaust memory.
 */
export function decodeRedirectMessage(value: string, maxBytes: number): string {
  // A "+" that went through form decoding arrives as a space: put it back (base64 has no
  // spaces). Line breaks never belong in a query parameter and are refused below.
  const compact = value.replaceAll(" ", "+");
  if (compact.length === 0 || compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    throw new SamlError("malformed_base64", { received: `${compact.length} characters` });
  }
  if (compact.length > Math.ceil(maxBytes / 3) * 4) {
    throw new SamlError("input_too_large", { expected: `at most ${maxBytes} bytes` });
  }
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(Buffer.from(compact, "base64"), { maxOutputLength: maxBytes });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError) {
      throw new SamlError("input_too_large", {
        expected: `at most ${maxBytes} bytes once inflated`,
      });
    }
    throw new SamlError("malformed_base64", {
      note: "not DEFLATE-compressed (HTTP-Redirect binding)",
    });
  }
  return decodeUtf8(inflated);
}

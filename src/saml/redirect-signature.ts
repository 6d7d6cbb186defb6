/**
 * Signatures of the HTTP-Redirect binding (saml-bindings-2.0-os 3.4.4.1): the message travels
 * without an XML signature; instead the query string itself is signed. The signed octets are
 *
 *   SAMLRequest=value&RelayState=value&SigAlg=value      (or SAMLResponse=...)
 *
 * with each value URL-encoded, in that order, RelayState only when present. The spec leaves the
 * URL-encoding to the sender, so a receiver must verify the octets exactly as they arrived:
 * Entra signs a query written with lowercase percent-encoding (%2f), which any re-encoding
 * (URLSearchParams, encodeURIComponent) would turn into %2F and break (ENTRA.md, Single Logout).
 */

import { type KeyObject, sign, verify } from "node:crypto";
import {
  type AlgorithmPolicy,
  hashAllowed,
  SIGNATURE_METHOD_URI,
  SIGNATURE_METHODS,
  type SignatureAlgorithm,
  type SignatureMethod,
} from "./algorithms.ts";
import type { TrustedCertificate } from "./certs.ts";
import { SamlError } from "./errors.ts";
import { decodeRedirectMessage } from "./redirect.ts";

export type RedirectMessageType = "SAMLRequest" | "SAMLResponse";

export interface RedirectSignOptions {
  readonly type: RedirectMessageType;
  /** The DEFLATEd base64 from encodeRedirectMessage (not yet URL-encoded). */
  readonly message: string;
  readonly relayState?: string | undefined;
  readonly privateKey: KeyObject;
  /** Default rsa-sha256 (the only algorithm Entra accepts on requests). */
  readonly algorithm?: SignatureAlgorithm;
}

/**
 * The full signed query string (no leading "?"): SAMLRequest (or SAMLResponse), RelayState,
 * SigAlg, Signature, in the order of bindings 3.4.4.1, each value percent-encoded the standard
 * way (RFC 3986, uppercase hex).
 */
export function signRedirectQuery(o: RedirectSignOptions): string {
  const algorithm = o.algorithm ?? "rsa-sha256";
  const sigAlg = SIGNATURE_METHOD_URI[algorithm];
  const method = SIGNATURE_METHODS[sigAlg]!;
  let signed = `${o.type}=${percentEncode(o.message)}`;
  if (o.relayState !== undefined) signed += `&RelayState=${percentEncode(o.relayState)}`;
  signed += `&SigAlg=${percentEncode(sigAlg)}`;
  const signature = signBytes(method, Buffer.from(signed, "utf8"), o.privateKey);
  return `${signed}&Signature=${percentEncode(signature.toString("base64"))}`;
}

/** The unsigned query of the Redirect binding: the message, then RelayState when present. */
export function unsignedRedirectQuery(
  type: RedirectMessageType,
  message: string,
  relayState?: string,
): string {
  let q = `${type}=${percentEncode(message)}`;
  if (relayState !== undefined) q += `&RelayState=${percentEncode(relayState)}`;
  return q;
}

/**
 * RFC 3986 percent-encoding of everything but the unreserved characters, uppercase hex (what
 * RFC 3986 2.1 recommends; encodeURIComponent also leaves !'()* alone, which we encode).
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function signBytes(method: SignatureMethod, data: Buffer, key: KeyObject): Buffer {
  return method.keyType === "ec"
    ? sign(method.hash, data, { key, dsaEncoding: "ieee-p1363" })
    : sign(method.hash, data, key);
}

// ---------------------------------------------------------------------------------------------
// Verification.

export interface RedirectVerifyOptions {
  /** Refuse a query without SigAlg and Signature. Default true. */
  readonly requireSignature?: boolean;
  /** Largest inflated message accepted, in bytes. Default 64 KiB (logout messages are small). */
  readonly maxBytes?: number;
  /**
   * Query parameters of our own URL that may appear besides the binding's (they are neither
   * signed nor read). Any other parameter is refused.
   */
  readonly extraParameters?: readonly string[];
}

export interface VerifiedRedirectQuery {
  readonly type: RedirectMessageType;
  /** The decoded (inflated) message XML. */
  readonly xml: string;
  readonly relayState: string | undefined;
  /** Present when the query was signed and the signature verified. */
  readonly signature:
    | {
        readonly certificate: TrustedCertificate;
        readonly signatureAlgorithm: string;
      }
    | undefined;
}

const DEFAULT_MAX_BYTES = 64 * 1024;
const BINDING_PARAMETERS = ["SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature"];

interface RawParameter {
  /** "key=value" exactly as received: the signed octets are built from these. */
  readonly raw: string;
  readonly value: string;
}

/**
 * Parses a Redirect-binding query string exactly as received (with or without its leading "?")
 * and verifies its signature over the original octets. Returns the decoded message.
 *
 * Structural refusals use `logout_invalid`: on a service provider, the Redirect binding carries
 * only logout messages (the AuthnRequest goes out, the Response comes back by POST).
 */
export function verifyRedirectQuery(
  rawQuery: string,
  certificates: readonly TrustedCertificate[],
  policy: AlgorithmPolicy,
  options: RedirectVerifyOptions = {},
): VerifiedRedirectQuery {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const query = rawQuery.startsWith("?") ? rawQuery.slice(1) : rawQuery;
  // A deflated message is smaller than the message; base64 and percent-encoding expand it by at
  // most 3x. Refuse before parsing anything larger.
  if (query.length > maxBytes * 3 + 4096) {
    throw new SamlError("input_too_large", {
      field: "query string",
      expected: `at most ${maxBytes * 3 + 4096} characters`,
      received: `${query.length} characters`,
    });
  }
  const params = new Map<string, RawParameter>();
  const extra = new Set(options.extraParameters ?? []);
  for (const raw of query.split("&")) {
    if (raw === "") continue;
    const eq = raw.indexOf("=");
    const key = formDecode(eq === -1 ? raw : raw.slice(0, eq), "query parameter name");
    const value = formDecode(eq === -1 ? "" : raw.slice(eq + 1), key);
    if (!BINDING_PARAMETERS.includes(key)) {
      if (extra.has(key)) continue;
      throw new SamlError("logout_invalid", {
        field: "query string",
        expected: `only ${BINDING_PARAMETERS.join(", ")}`,
        received: key,
        note: "unknown query parameter",
      });
    }
    // A repeated parameter is ambiguous: which copy was signed and which one is read is exactly
    // the kind of disagreement an attacker exploits (bindings 3.4.4.1 defines one of each).
    if (params.has(key)) {
      throw new SamlError("logout_invalid", {
        field: key,
        expected: "one occurrence",
        received: "several",
      });
    }
    params.set(key, { raw, value });
  }

  const request = params.get("SAMLRequest");
  const response = params.get("SAMLResponse");
  if ((request === undefined) === (response === undefined)) {
    throw new SamlError("logout_invalid", {
      field: "SAMLRequest/SAMLResponse",
      expected: "exactly one of SAMLRequest or SAMLResponse",
      received: request === undefined ? "neither" : "both",
    });
  }
  const type: RedirectMessageType = request !== undefined ? "SAMLRequest" : "SAMLResponse";
  const message = (request ?? response)!;
  const relay = params.get("RelayState");
  const sigAlg = params.get("SigAlg");
  const signatureParam = params.get("Signature");

  let signature: VerifiedRedirectQuery["signature"];
  if (sigAlg === undefined && signatureParam === undefined) {
    if (options.requireSignature !== false) {
      throw new SamlError("logout_invalid", {
        field: "Signature",
        expected: "SigAlg and Signature query parameters",
        received: "an unsigned query",
        note: "this message must be signed by the IdP (bindings 3.4.4.1)",
      });
    }
  } else if (sigAlg === undefined || signatureParam === undefined) {
    throw new SamlError("logout_invalid", {
      field: sigAlg === undefined ? "SigAlg" : "Signature",
      expected: "both SigAlg and Signature",
      received: sigAlg === undefined ? "Signature only" : "SigAlg only",
    });
  } else {
    const method = SIGNATURE_METHODS[sigAlg.value];
    if (method === undefined || !hashAllowed(method.hash, policy)) {
      throw new SamlError("algorithm_not_allowed", {
        field: "SigAlg",
        expected: "RSA-SHA256/384/512 or ECDSA-SHA256/384/512",
        received: sigAlg.value,
        note:
          method?.hash === "sha1" ? "SHA-1 is refused unless the connection allows it" : undefined,
      });
    }
    const signatureBytes = strictBase64(signatureParam.value, "Signature");
    // The signed octets: the original "key=value" substrings, in the order of 3.4.4.1,
    // whatever their order in the URL.
    const octets = Buffer.from(
      [message.raw, ...(relay === undefined ? [] : [relay.raw]), sigAlg.raw].join("&"),
      "utf8",
    );
    const candidates = certificates.filter((c) => c.keyType === method.keyType);
    const matched = candidates.find((c) =>
      verifyBytes(method, octets, c.publicKey, signatureBytes),
    );
    if (matched === undefined) {
      // The Redirect binding carries no certificate; a signature whose size fits none of the
      // configured keys cannot come from any of them.
      const fits = candidates.some((c) => signatureSize(c.publicKey) === signatureBytes.length);
      throw new SamlError(fits ? "signature_invalid" : "signature_unknown_key", {
        field: "Signature",
        expected: fits
          ? undefined
          : `a signature by one of ${candidates.length} configured ${method.keyType.toUpperCase()} certificate(s)`,
        received: fits ? undefined : `a ${signatureBytes.length * 8}-bit signature`,
        note: `verified over the query as received against ${candidates.length} configured ${method.keyType.toUpperCase()} certificate(s)`,
      });
    }
    signature = Object.freeze({ certificate: matched, signatureAlgorithm: sigAlg.value });
  }

  // As for Signature: a space can only be an unencoded '+' of the base64.
  const xml = decodeRedirectMessage(message.value.replaceAll(" ", "+"), maxBytes);
  return Object.freeze({ type, xml, relayState: relay?.value, signature });
}

/** application/x-www-form-urlencoded decoding of one name or value, refusing bad escapes. */
function formDecode(s: string, field: string): string {
  try {
    return decodeURIComponent(s.replaceAll("+", " "));
  } catch {
    throw new SamlError("logout_invalid", {
      field,
      note: "malformed percent-encoding in the query string",
    });
  }
}

function strictBase64(value: string, field: string): Buffer {
  // '+' arrives as a space when a sender forgot to percent-encode it: base64 has no spaces.
  const s = value.replaceAll(" ", "+");
  if (s.length === 0 || s.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(s)) {
    throw new SamlError("malformed_base64", { field, received: `${s.length} characters` });
  }
  return Buffer.from(s, "base64");
}

function verifyBytes(method: SignatureMethod, data: Buffer, key: KeyObject, sig: Buffer): boolean {
  try {
    return method.keyType === "ec"
      ? verify(method.hash, data, { key, dsaEncoding: "ieee-p1363" }, sig)
      : verify(method.hash, data, key, sig);
  } catch {
    return false;
  }
}

/** Length in bytes of a signature by `key`: the modulus (RSA) or r||s (ECDSA, IEEE P1363). */
function signatureSize(key: KeyObject): number | undefined {
  const d = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === "rsa" && d?.modulusLength !== undefined) {
    return Math.ceil(d.modulusLength / 8);
  }
  const curveBytes: Record<string, number> = { prime256v1: 64, secp384r1: 96, secp521r1: 132 };
  return d?.namedCurve === undefined ? undefined : curveBytes[d.namedCurve];
}

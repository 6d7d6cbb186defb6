/**
 * XML Signature (https://www.w3.org/TR/xmldsig-core1/), the profile SAML uses and nothing more:
 * one enveloped signature, a direct child of the element it signs, one Reference to that
 * element's ID, transforms enveloped-signature then exclusive C14N.
 *
 * The signed element is never looked up by ID: it is the Signature's parent, and the Reference
 * must name the parent's ID (SAML core 5.4.2). That pinning is what defeats signature wrapping:
 * the element whose digest we check is the element the caller goes on to read.
 */

import { createHash, type KeyObject, sign, timingSafeEqual, verify } from "node:crypto";
import {
  type AlgorithmPolicy,
  C14N_EXCLUSIVE,
  C14N_EXCLUSIVE_WITH_COMMENTS,
  DIGEST_METHOD_URI,
  DIGEST_METHODS,
  DSIG_NS,
  type HashName,
  hashAllowed,
  SIGNATURE_METHOD_URI,
  SIGNATURE_METHODS,
  type SignatureAlgorithm,
  TRANSFORM_ENVELOPED,
} from "./algorithms.ts";
import { fingerprintOfBase64Der, type TrustedCertificate } from "./certs.ts";
import { SamlError } from "./errors.ts";
import { canonicalize } from "./xml/c14n.ts";
import { parseXml } from "./xml/parse.ts";
import { attr, childElements, directText, type XmlElement } from "./xml/tree.ts";

const EXC_C14N_NS = "http://www.w3.org/2001/10/xml-exc-c14n#";

export interface VerifiedSignature {
  readonly certificate: TrustedCertificate;
  readonly signatureAlgorithm: string;
  readonly digestAlgorithm: HashName;
}

/** The ds:Signature children of `el` (direct children only: that is the only place we look). */
export function signatureChildren(el: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const c of el.children)
    if (c.type === "element" && c.ns === DSIG_NS && c.local === "Signature") out.push(c);
  return out;
}

/**
 * Verifies the enveloped `signature`, a direct child of `signed`, against the configured
 * certificates. Returns only when the signature is valid and covers exactly `signed`.
 */
export function verifyEnvelopedSignature(
  signed: XmlElement,
  signature: XmlElement,
  certificates: readonly TrustedCertificate[],
  policy: AlgorithmPolicy,
  idAttribute = "ID",
): VerifiedSignature {
  if (signature.parent !== signed) {
    throw new SamlError("signature_reference_invalid", {
      note: "the Signature is not a child of the signed element",
    });
  }
  const parts = childElements(signature);
  // Signature: SignedInfo, SignatureValue, KeyInfo? (xmldsig-core 4.1). Object is refused: it is
  // unsigned by the enveloped transform and a hiding place for wrapped content.
  const [signedInfo, signatureValueEl, ...rest] = parts;
  if (!isDs(signedInfo, "SignedInfo") || !isDs(signatureValueEl, "SignatureValue")) {
    throw new SamlError("schema_invalid", {
      field: "Signature",
      note: "expected SignedInfo then SignatureValue",
    });
  }
  if (rest.length > 1 || (rest.length === 1 && !isDs(rest[0], "KeyInfo"))) {
    throw new SamlError("signature_reference_invalid", {
      field: "Signature",
      note: "only SignedInfo, SignatureValue and KeyInfo are allowed in a Signature",
    });
  }
  const keyInfo = rest[0];

  const si = childElements(signedInfo);
  const [c14nMethod, sigMethod, reference, ...extra] = si;
  if (
    !isDs(c14nMethod, "CanonicalizationMethod") ||
    !isDs(sigMethod, "SignatureMethod") ||
    !isDs(reference, "Reference")
  ) {
    throw new SamlError("schema_invalid", {
      field: "SignedInfo",
      note: "expected CanonicalizationMethod, SignatureMethod, Reference",
    });
  }
  if (extra.length > 0) {
    throw new SamlError("signature_reference_invalid", {
      field: "SignedInfo",
      note: "exactly one Reference is allowed (SAML core 5.4.2)",
    });
  }
  const signedInfoC14n = c14nFromMethod(c14nMethod, "CanonicalizationMethod");

  const sigAlg = attr(sigMethod, "Algorithm") ?? "";
  const method = SIGNATURE_METHODS[sigAlg];
  if (method === undefined || !hashAllowed(method.hash, policy)) {
    throw new SamlError("algorithm_not_allowed", {
      field: "SignatureMethod",
      expected: "RSA-SHA256/384/512 or ECDSA-SHA256/384/512",
      received: sigAlg,
      note:
        method?.hash === "sha1" ? "SHA-1 is refused unless the connection allows it" : undefined,
    });
  }

  // Reference: URI="#<ID of the parent>" (SAML core 5.4.2).
  const id = attr(signed, idAttribute);
  const uri = attr(reference, "URI");
  if (id === undefined || id === "" || uri !== `#${id}`) {
    throw new SamlError("signature_reference_invalid", {
      field: "Reference URI",
      expected: id === undefined ? "(the signed element has no ID)" : `#${id}`,
      received: uri,
    });
  }
  const refParts = childElements(reference);
  const [transformsEl, digestMethodEl, digestValueEl, ...refExtra] = refParts;
  if (
    !isDs(transformsEl, "Transforms") ||
    !isDs(digestMethodEl, "DigestMethod") ||
    !isDs(digestValueEl, "DigestValue") ||
    refExtra.length > 0
  ) {
    throw new SamlError("schema_invalid", {
      field: "Reference",
      note: "expected Transforms, DigestMethod, DigestValue",
    });
  }
  const transforms = childElements(transformsEl);
  // Exactly enveloped-signature then exclusive C14N (SAML core 5.4.3, 5.4.4).
  if (
    transforms.length !== 2 ||
    !isDs(transforms[0], "Transform") ||
    !isDs(transforms[1], "Transform") ||
    attr(transforms[0]!, "Algorithm") !== TRANSFORM_ENVELOPED ||
    childElements(transforms[0]!).length > 0
  ) {
    throw new SamlError("transform_not_allowed", {
      field: "Transforms",
      expected: "enveloped-signature, then exclusive C14N",
      received: transforms.map((t) => attr(t, "Algorithm") ?? "?").join(", "),
    });
  }
  const refC14n = c14nFromMethod(transforms[1]!, "Transform");

  const digestAlg = attr(digestMethodEl, "Algorithm") ?? "";
  const digestHash = DIGEST_METHODS[digestAlg];
  if (digestHash === undefined || !hashAllowed(digestHash, policy)) {
    throw new SamlError("algorithm_not_allowed", {
      field: "DigestMethod",
      expected: "SHA-256/384/512",
      received: digestAlg,
      note: digestHash === "sha1" ? "SHA-1 is refused unless the connection allows it" : undefined,
    });
  }

  // 1. The signature over SignedInfo, with configured keys only.
  const signatureBytes = decodeBase64Strict(directText(signatureValueEl), "SignatureValue");
  const signedInfoBytes = Buffer.from(canonicalize(signedInfo, signedInfoC14n), "utf8");
  const candidates = certificates.filter((c) => c.keyType === method.keyType);
  let matched: TrustedCertificate | undefined;
  for (const cert of candidates) {
    if (verifyBytes(method.hash, method.keyType, signedInfoBytes, cert.publicKey, signatureBytes)) {
      matched = cert;
      break;
    }
  }
  if (matched === undefined) {
    const carried = keyInfoCertificate(keyInfo);
    const carriedFp = carried === undefined ? undefined : fingerprintOfBase64Der(carried);
    const known = certificates.map((c) => c.fingerprint256);
    if (carriedFp !== undefined && !known.includes(carriedFp)) {
      throw new SamlError("signature_unknown_key", {
        field: "Signature KeyInfo",
        expected: known.join(" or ") || "(no certificate configured)",
        received: carriedFp,
      });
    }
    throw new SamlError("signature_invalid", {
      field: "SignatureValue",
      note: `verified against ${candidates.length} configured ${method.keyType.toUpperCase()} certificate(s)`,
    });
  }

  // 2. The digest of the signed element, minus this Signature (enveloped transform). A bare-name
  // reference ("#ID") yields the element's node-set without comments (xmldsig-core 4.4.3.3), so
  // #WithComments in the Transforms has no comment left to keep: xmlsec1 and every conforming
  // signer digest without them.
  const expectedDigest = decodeBase64Strict(directText(digestValueEl), "DigestValue");
  const actual = createHash(digestHash)
    .update(canonicalize(signed, { ...refC14n, withComments: false, exclude: signature }), "utf8")
    .digest();
  if (actual.length !== expectedDigest.length || !timingSafeEqual(actual, expectedDigest)) {
    throw new SamlError("digest_mismatch", {
      field: `${signed.local} digest`,
      expected: expectedDigest.toString("base64"),
      received: actual.toString("base64"),
    });
  }
  return { certificate: matched, signatureAlgorithm: sigAlg, digestAlgorithm: digestHash };
}

function isDs(el: XmlElement | undefined, local: string): el is XmlElement {
  return el !== undefined && el.ns === DSIG_NS && el.local === local;
}

function c14nFromMethod(
  el: XmlElement,
  field: string,
): { withComments: boolean; inclusivePrefixes: string[] } {
  const alg = attr(el, "Algorithm") ?? "";
  if (alg !== C14N_EXCLUSIVE && alg !== C14N_EXCLUSIVE_WITH_COMMENTS) {
    throw new SamlError(field === "Transform" ? "transform_not_allowed" : "algorithm_not_allowed", {
      field,
      expected: "exclusive C14N (http://www.w3.org/2001/10/xml-exc-c14n#)",
      received: alg,
    });
  }
  const params = childElements(el);
  let inclusivePrefixes: string[] = [];
  if (
    params.length > 1 ||
    (params.length === 1 &&
      !(params[0]!.ns === EXC_C14N_NS && params[0]!.local === "InclusiveNamespaces"))
  ) {
    throw new SamlError("transform_not_allowed", { field, note: "unexpected parameters" });
  }
  if (params.length === 1) {
    const list = attr(params[0]!, "PrefixList") ?? "";
    inclusivePrefixes = list.split(/[ \t\n]+/).filter((p) => p !== "");
  }
  return { withComments: alg === C14N_EXCLUSIVE_WITH_COMMENTS, inclusivePrefixes };
}

function keyInfoCertificate(keyInfo: XmlElement | undefined): string | undefined {
  if (keyInfo === undefined) return undefined;
  for (const x509Data of childElements(keyInfo)) {
    if (!isDs(x509Data, "X509Data")) continue;
    for (const c of childElements(x509Data)) if (isDs(c, "X509Certificate")) return directText(c);
  }
  return undefined;
}

function verifyBytes(
  hash: HashName,
  keyType: "rsa" | "ec",
  data: Buffer,
  key: KeyObject,
  sig: Buffer,
): boolean {
  try {
    return keyType === "ec"
      ? verify(hash, data, { key, dsaEncoding: "ieee-p1363" }, sig)
      : verify(hash, data, key, sig);
  } catch {
    return false;
  }
}

/** base64Binary as XML Schema reads it: whitespace allowed, nothing else outside the alphabet. */
export function decodeBase64Strict(text: string, field: string): Buffer {
  const s = /[ \t\r\n]/.test(text) ? text.replace(/[ \t\r\n]+/g, "") : text;
  if (!isBase64(s)) throw new SamlError("schema_invalid", { field, note: "not valid Base64" });
  return Buffer.from(s, "base64");
}

/** [A-Za-z0-9+/]* then at most two "=", length a multiple of 4: by character class table. */
function isBase64(s: string): boolean {
  const n = s.length;
  if (n % 4 !== 0) return false;
  let end = n;
  if (end > 0 && s.charCodeAt(end - 1) === 61) end--;
  if (end > 0 && s.charCodeAt(end - 1) === 61) end--;
  for (let i = 0; i < end; i++) if (BASE64_CHAR[s.charCodeAt(i)] !== 1) return false;
  return true;
}

const BASE64_CHAR = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
  BASE64_CHAR[c.charCodeAt(0)] = 1;

// ---------------------------------------------------------------------------------------------
// Signing (the mock IdP, signed metadata and POST-binding messages).

export interface SigningKey {
  readonly privateKey: KeyObject;
  /** Base64 DER of the certificate to put in KeyInfo (informational for the receiver). */
  readonly certificate?: string;
}

export interface SignOptions {
  readonly algorithm?: SignatureAlgorithm;
  readonly digest?: HashName;
  /** "ds" writes ds:Signature (older IdPs); "" writes a default namespace (Entra today). */
  readonly prefix?: "" | "ds";
  readonly withComments?: boolean;
}

/**
 * Signs the element serialized in `elementXml` (which must declare every namespace it uses) with
 * an enveloped signature, inserted right after its own Issuer (SAML core 5.4.1 puts it there), or
 * as its first child when it has none. Returns the element's XML with the Signature in place.
 */
export function signEnveloped(
  elementXml: string,
  key: SigningKey,
  options: SignOptions = {},
  idAttribute = "ID",
): string {
  const el = parseXml(elementXml);
  const id = attr(el, idAttribute);
  if (id === undefined)
    throw new Error(`signEnveloped: the element has no ${idAttribute} attribute`);
  const algorithm = options.algorithm ?? "rsa-sha256";
  const digest = options.digest ?? "sha256";
  const c14nUri = options.withComments ? C14N_EXCLUSIVE_WITH_COMMENTS : C14N_EXCLUSIVE;
  const p = options.prefix === "ds" ? "ds:" : "";
  const nsDecl = options.prefix === "ds" ? `xmlns:ds="${DSIG_NS}"` : `xmlns="${DSIG_NS}"`;
  // Without comments whatever the transform says: "#ID" references drop them (xmldsig-core 4.4.3.3).
  const digestValue = createHash(digest).update(canonicalize(el), "utf8").digest("base64");
  const signedInfoXml =
    `<${p}SignedInfo ${nsDecl}><${p}CanonicalizationMethod Algorithm="${C14N_EXCLUSIVE}"/>` +
    `<${p}SignatureMethod Algorithm="${SIGNATURE_METHOD_URI[algorithm]}"/>` +
    `<${p}Reference URI="#${id}"><${p}Transforms><${p}Transform Algorithm="${TRANSFORM_ENVELOPED}"/>` +
    `<${p}Transform Algorithm="${c14nUri}"/></${p}Transforms>` +
    `<${p}DigestMethod Algorithm="${DIGEST_METHOD_URI[digest]}"/><${p}DigestValue>${digestValue}</${p}DigestValue>` +
    `</${p}Reference></${p}SignedInfo>`;
  const canonicalSignedInfo = canonicalize(parseXml(signedInfoXml));
  const hash = SIGNATURE_METHODS[SIGNATURE_METHOD_URI[algorithm]]!.hash;
  const signatureValue = (
    algorithm.startsWith("ecdsa")
      ? sign(hash, Buffer.from(canonicalSignedInfo, "utf8"), {
          key: key.privateKey,
          dsaEncoding: "ieee-p1363",
        })
      : sign(hash, Buffer.from(canonicalSignedInfo, "utf8"), key.privateKey)
  ).toString("base64");
  // The SignedInfo is written inside the Signature without repeating the namespace declaration;
  // its canonical form is the same either way (exc-c14n renders what the apex uses).
  const innerSignedInfo = signedInfoXml.replace(` ${nsDecl}`, "");
  const keyInfo =
    key.certificate === undefined
      ? ""
      : `<${p}KeyInfo><${p}X509Data><${p}X509Certificate>${key.certificate}</${p}X509Certificate></${p}X509Data></${p}KeyInfo>`;
  const signatureXml = `<${p}Signature ${nsDecl}>${innerSignedInfo}<${p}SignatureValue>${signatureValue}</${p}SignatureValue>${keyInfo}</${p}Signature>`;
  // When the element's first child is its Issuer (which holds only text), the first Issuer end
  // tag in the text is that one; otherwise the Signature goes first.
  const firstChild = childElements(el)[0];
  const ownIssuer = firstChild !== undefined && firstChild.local === "Issuer";
  const issuerEnd = ownIssuer ? /<\/(?:[A-Za-z_][\w.-]*:)?Issuer\s*>/.exec(elementXml) : null;
  if (issuerEnd !== null) {
    const at = issuerEnd.index + issuerEnd[0].length;
    return elementXml.slice(0, at) + signatureXml + elementXml.slice(at);
  }
  const startEnd = elementXml.indexOf(">");
  return elementXml.slice(0, startEnd + 1) + signatureXml + elementXml.slice(startEnd + 1);
}

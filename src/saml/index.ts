/**
 * Gatehouse's SAML 2.0 Service Provider core, usable on its own (package export "./saml").
 * Pure: no I/O, no clock, no database. Time, keys and stores are arguments.
 */

export type { AlgorithmPolicy, HashName, SignatureAlgorithm } from "./algorithms.ts";
export { normalizeCertificateText, readCertificate, type TrustedCertificate } from "./certs.ts";
export { signEnveloped, verifyEnvelopedSignature } from "./dsig.ts";
export {
  isSamlError,
  SAML_ERROR_CODES,
  SAML_ERRORS,
  SamlError,
  type SamlErrorCode,
  type SamlErrorDetail,
} from "./errors.ts";
export { CLAIM_EMAILADDRESS, NAMEID_FORMAT } from "./namespaces.ts";
export { decodeRedirectMessage, encodeRedirectMessage } from "./redirect.ts";
export {
  isVerifiedResponse,
  type ReplayCache,
  type ResponseValidationOptions,
  type VerifiedResponse,
  validateResponse,
  validateResponseXml,
} from "./response.ts";
export { canonicalize } from "./xml/c14n.ts";
export { parseXml } from "./xml/parse.ts";
export type { XmlElement, XmlNode } from "./xml/tree.ts";
export { decryptAssertion } from "./xmlenc.ts";

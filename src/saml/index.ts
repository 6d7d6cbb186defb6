/**
 * Gatehouse's SAML 2.0 Service Provider core, usable on its own (package export "./saml").
 * Pure: no I/O, no clock, no database. Time, keys and stores are arguments.
 */

export type { AlgorithmPolicy, HashName, SignatureAlgorithm } from "./algorithms.ts";
export {
  type AuthnRequestOptions,
  type BuiltRedirectMessage,
  buildAuthnRequest,
  type ParsedAuthnRequest,
  parseAuthnRequest,
  REQUESTABLE_NAMEID_FORMATS,
  type RequestableNameIdFormat,
} from "./authn-request.ts";
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
export {
  type BuiltLogoutMessage,
  buildLogoutRequest,
  buildLogoutResponse,
  isVerifiedLogoutRequest,
  isVerifiedLogoutResponse,
  type LogoutMessageInput,
  type LogoutRequestOptions,
  type LogoutRequestValidationOptions,
  type LogoutResponseOptions,
  type LogoutResponseValidationOptions,
  type ParsedLogoutRequest,
  parseLogoutRequest,
  type VerifiedLogoutRequest,
  type VerifiedLogoutResponse,
  validateLogoutRequest,
  validateLogoutResponse,
} from "./logout.ts";
export {
  type IdpMetadata,
  readIdpMetadata,
  renderSpMetadata,
  type SpMetadataOptions,
  verifyMetadataSignature,
} from "./metadata.ts";
export { CLAIM_EMAILADDRESS, NAMEID_FORMAT } from "./namespaces.ts";
export { decodeRedirectMessage, encodeRedirectMessage } from "./redirect.ts";
export {
  type RedirectMessageType,
  type RedirectSignOptions,
  type RedirectVerifyOptions,
  signRedirectQuery,
  type VerifiedRedirectQuery,
  verifyRedirectQuery,
} from "./redirect-signature.ts";
export {
  isVerifiedResponse,
  type ReplayCache,
  type ResponseValidationOptions,
  type VerifiedResponse,
  validateResponse,
  validateResponseXml,
} from "./response.ts";
export { canonicalize } from "./xml/c14n.ts";
export { parseXml, parseXmlFragment } from "./xml/parse.ts";
export type { XmlElement, XmlNode } from "./xml/tree.ts";
export { decryptAssertion, encryptAssertion } from "./xmlenc.ts";

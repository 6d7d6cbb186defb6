/** Namespace URIs and fixed identifiers from SAML 2.0 core (saml-core-2.0-os section 1.2). */

export const SAML_ASSERTION_NS = "urn:oasis:names:tc:SAML:2.0:assertion";
export const SAML_PROTOCOL_NS = "urn:oasis:names:tc:SAML:2.0:protocol";
export const SAML_METADATA_NS = "urn:oasis:names:tc:SAML:2.0:metadata";
export const XMLENC_NS = "http://www.w3.org/2001/04/xmlenc#";
export const XSI_NS = "http://www.w3.org/2001/XMLSchema-instance";

export const STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";
export const CM_BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
export const NAMEID_FORMAT = {
  emailAddress: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
  unspecified: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
  persistent: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
  transient: "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
  entity: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity",
} as const;

export const BINDING = {
  redirect: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
  post: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
} as const;

/** The claim URI Entra uses for the mail address (ENTRA.md, Claims). */
export const CLAIM_EMAILADDRESS =
  "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";

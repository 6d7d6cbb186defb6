/**
 * The closed catalogue of refusals. Every refusal the SAML core can produce has a stable code
 * here, a one-line title for end users' reference pages and logs, and a fix an admin can act on.
 * Codes never change meaning; new ones are added at the end of their family.
 */

export const SAML_ERRORS = {
  // Input and XML well-formedness (our strict subset of XML 1.0 + Namespaces).
  input_too_large: {
    title: "The SAML message is larger than the configured limit",
    fix: "A genuine Entra response is a few kilobytes; over 150 groups Entra sends groups.link instead. Check what is posting to this URL.",
  },
  malformed_base64: {
    title: "The SAML message is not valid base64",
    fix: "The SAMLResponse form field must be the base64 the IdP posted, unmodified. If you pasted it, copy it again without line wrapping or URL-encoding.",
  },
  malformed_xml: {
    title: "The SAML message is not well-formed XML",
    fix: "The message was damaged or is not SAML. Capture it again (browser developer tools, Network tab, the POST to the Reply URL).",
  },
  xml_dtd_forbidden: {
    title: "The SAML message contains a DTD (DOCTYPE)",
    fix: "No IdP sends a DOCTYPE in SAML; this is refused without being expanded, as it is the vector of XML entity attacks.",
  },
  xml_entity_forbidden: {
    title: "The SAML message references an undeclared entity",
    fix: "Only the five predefined XML entities and character references are allowed. No IdP sends others.",
  },
  xml_pi_forbidden: {
    title: "The SAML message contains a processing instruction",
    fix: "Only an XML declaration at the very start is allowed. No IdP sends processing instructions in SAML.",
  },
  xml_too_deep: {
    title: "The SAML message nests elements deeper than allowed",
    fix: "Genuine SAML nests a dozen levels at most. Check what is posting to this URL.",
  },
  // Message structure (SAML core schema, the parts we rely on).
  not_a_response: {
    title: "The message is not a SAML 2.0 Response",
    fix: "The Reply URL (ACS) only accepts samlp:Response messages. Check that the IdP posts to the right URL.",
  },
  schema_invalid: {
    title: "The SAML message does not follow the SAML 2.0 schema",
    fix: "A required element or attribute is missing or malformed. Compare the message with the IdP's documentation.",
  },
  assertion_missing: {
    title: "The Response contains no Assertion",
    fix: "A successful Response must carry exactly one Assertion. Check the IdP's configuration.",
  },
  assertion_multiple: {
    title: "The Response contains more than one Assertion",
    fix: "Gatehouse accepts exactly one Assertion per Response, as Entra sends. Several Assertions are a signature-wrapping pattern.",
  },
  // XML Signature.
  signature_missing: {
    title: "The message is not signed as required",
    fix: "Entra signs the Assertion by default ('Sign SAML assertion'). In Entra, SAML Certificates, Signing Option, choose 'Sign SAML assertion' or 'Sign SAML response and assertion'.",
  },
  signature_invalid: {
    title: "The signature does not verify",
    fix: "The message was altered after signing, or it was signed with a key that does not match the configured certificate. Refresh the IdP's Federation Metadata.",
  },
  signature_unknown_key: {
    title: "The message is signed with a certificate that is not configured",
    fix: "In Entra, SAML Certificates: the active certificate is not one this connection knows. Upload the Federation Metadata XML again (or refresh it from its URL).",
  },
  digest_mismatch: {
    title: "The signed content was changed after signing",
    fix: "The digest of the signed element does not match. The message was altered in transit or by a proxy.",
  },
  signature_reference_invalid: {
    title: "The signature does not cover the element it is attached to",
    fix: "A signature must reference its parent element by ID. Anything else is a signature-wrapping pattern and is refused.",
  },
  duplicate_id: {
    title: "Two elements in the message carry the same ID",
    fix: "IDs must be unique; duplicates are a signature-wrapping pattern and are refused.",
  },
  algorithm_not_allowed: {
    title: "The signature uses an algorithm that is not allowed",
    fix: "Use RSA-SHA256 (Entra's default). If the IdP can only sign with SHA-1, allow SHA-1 for this connection explicitly.",
  },
  transform_not_allowed: {
    title: "The signature uses a transform that is not allowed",
    fix: "Only enveloped-signature and exclusive canonicalization are accepted, as every mainstream IdP uses.",
  },
  signed_value_tampered: {
    title: "A signed value contains a comment or surrounding whitespace",
    fix: "Comments or padding inside NameID, Issuer or attribute values are the comment-injection attack pattern. No IdP sends them.",
  },
  // Protocol checks (SAML core 2.0 and profiles 4.1.4).
  status_not_success: {
    title: "The identity provider reported a failure",
    fix: "Read the IdP's status message (for Entra, an AADSTS code) and fix the cause at the IdP.",
  },
  issuer_invalid: {
    title: "The message comes from an unexpected issuer",
    fix: "Set the connection's IdP Entity ID to the Issuer the IdP sends (Entra: 'Microsoft Entra Identifier', https://sts.windows.net/<tenant-id>/).",
  },
  destination_invalid: {
    title: "The Response was sent to a different Reply URL",
    fix: "In Entra, Basic SAML Configuration, set Reply URL (Assertion Consumer Service URL) to this connection's ACS URL.",
  },
  recipient_invalid: {
    title: "The Assertion is meant for a different Reply URL",
    fix: "In Entra, Basic SAML Configuration, set Reply URL (Assertion Consumer Service URL) to this connection's ACS URL.",
  },
  audience_invalid: {
    title: "The Assertion is meant for a different service provider",
    fix: "In Entra, Basic SAML Configuration, set Identifier (Entity ID) to this connection's SP Entity ID.",
  },
  subject_invalid: {
    title: "The Assertion's Subject is missing or not usable",
    fix: "The Assertion must name the user (NameID) and carry a bearer SubjectConfirmation. Check the IdP's claims configuration.",
  },
  not_yet_valid: {
    title: "The Assertion is not valid yet",
    fix: "The clocks of the IdP and this server disagree. Synchronise this server's clock (NTP) or raise the connection's clock skew.",
  },
  expired: {
    title: "The Assertion has expired",
    fix: "The response is older than its validity window. Sign in again; if it keeps happening, synchronise this server's clock (NTP).",
  },
  in_response_to_missing: {
    title: "The Response answers no request, but a request was outstanding",
    fix: "This was an IdP-initiated login while a login started here was pending. Start the login from the app again.",
  },
  in_response_to_unexpected: {
    title: "The Response answers a request this browser did not make",
    fix: "The login attempt expired or was started in another browser. Start the login again.",
  },
  in_response_to_mismatch: {
    title: "The Response answers a different request",
    fix: "The login attempt was replaced by a newer one or started in another tab. Start the login again.",
  },
  unsolicited_not_allowed: {
    title: "IdP-initiated login is not allowed for this connection",
    fix: "Start the login from the app, or allow IdP-initiated login (My Apps, the Entra Test button) on the connection.",
  },
  assertion_replayed: {
    title: "This Assertion was already used",
    fix: "Each SAML Assertion can be used once. Sign in again.",
  },
  decryption_failed: {
    title: "The encrypted Assertion could not be decrypted",
    fix: "In Entra, Token encryption: the certificate must be this connection's SP encryption certificate, and the SP private key must be configured.",
  },
  // Logout and metadata.
  logout_invalid: {
    title: "The logout message is not valid",
    fix: "Check the IdP's Logout URL configuration and that the message is signed with the configured certificate.",
  },
  metadata_invalid: {
    title: "The metadata is not usable IdP metadata",
    fix: "Upload the IdP's Federation Metadata XML (Entra: SAML Certificates, Federation Metadata XML, Download).",
  },
  metadata_is_sp: {
    title: "This is service-provider metadata, not the IdP's",
    fix: "You uploaded an SP's metadata (perhaps Gatehouse's own). Upload the IdP's Federation Metadata XML instead.",
  },
  metadata_missing_endpoint: {
    title: "The IdP metadata has no usable single sign-on endpoint",
    fix: "The metadata must list an SingleSignOnService with the HTTP-Redirect binding.",
  },
  certificate_invalid: {
    title: "A certificate could not be read",
    fix: "Paste the certificate as Base64 (with or without BEGIN/END lines). Download it again from Entra (SAML Certificates, Certificate (Base64)).",
  },
  certificate_expired: {
    title: "Every signing certificate of the IdP has expired",
    fix: "In Entra, SAML Certificates, create and activate a new certificate, then upload the Federation Metadata XML again.",
  },
} as const satisfies Record<string, { title: string; fix: string }>;

export type SamlErrorCode = keyof typeof SAML_ERRORS;

export const SAML_ERROR_CODES = Object.freeze(Object.keys(SAML_ERRORS) as SamlErrorCode[]);

/** Structured facts for the admin: which field, what was expected, what was received. */
export interface SamlErrorDetail {
  readonly field?: string;
  readonly expected?: string;
  readonly received?: string;
  /** Extra context, e.g. the IdP's StatusMessage ("AADSTS50105: ..."). */
  readonly note?: string;
}

/**
 * A refusal by the SAML core. `code` is stable and safe to show; `message` is for admins and
 * logs (it may echo values from the message); `publicMessage` is the fixed title, safe for
 * anyone.
 */
export class SamlError extends Error {
  override readonly name = "SamlError";
  readonly code: SamlErrorCode;
  readonly detail: SamlErrorDetail;
  readonly fix: string;

  constructor(code: SamlErrorCode, detail: SamlErrorDetail = {}, fix?: string) {
    super(composeMessage(code, detail));
    this.code = code;
    this.detail = detail;
    this.fix = fix ?? SAML_ERRORS[code].fix;
  }

  get publicMessage(): string {
    return SAML_ERRORS[this.code].title;
  }

  toJSON(): { code: SamlErrorCode; message: string; fix: string; detail: SamlErrorDetail } {
    return { code: this.code, message: this.message, fix: this.fix, detail: this.detail };
  }
}

function composeMessage(code: SamlErrorCode, d: SamlErrorDetail): string {
  let m: string = SAML_ERRORS[code].title;
  if (d.field !== undefined) m += ` (${d.field})`;
  if (d.expected !== undefined || d.received !== undefined) {
    m += `: expected ${show(d.expected)}, received ${show(d.received)}`;
  }
  if (d.note !== undefined) m += `. ${d.note}`;
  return m;
}

function show(v: string | undefined): string {
  if (v === undefined) return "(nothing)";
  const s = v.length > 200 ? `${v.slice(0, 200)}…` : v;
  return JSON.stringify(s);
}

export function isSamlError(e: unknown): e is SamlError {
  return e instanceof SamlError;
}

/**
 * SAML 2.0 metadata (saml-metadata-2.0-os), both directions: the SP metadata Gatehouse publishes
 * for the IdP admin, and the IdP metadata an admin uploads (Entra's Federation Metadata XML
 * first of all). Pure: the clock is an argument.
 *
 * Reading is deliberately narrow: one IdP entity, its IDPSSODescriptor's signing keys and its
 * SSO/SLO endpoints. Entra's WS-Federation RoleDescriptors carry KeyDescriptors of their own;
 * they describe WS-Fed tokens, not SAML, and are never read as SAML signing keys.
 */

import type { AlgorithmPolicy } from "./algorithms.ts";
import { DSIG_NS } from "./algorithms.ts";
import { normalizeCertificateText, readCertificate, type TrustedCertificate } from "./certs.ts";
import { signatureChildren, type VerifiedSignature, verifyEnvelopedSignature } from "./dsig.ts";
import { SamlError } from "./errors.ts";
import { BINDING, NAMEID_FORMAT, SAML_METADATA_NS, SAML_PROTOCOL_NS } from "./namespaces.ts";
import { parseInstant } from "./time.ts";
import { escapeAttr, escapeText } from "./xml/c14n.ts";
import { parseXml } from "./xml/parse.ts";
import { attr, child, childElements, children, directText, type XmlElement } from "./xml/tree.ts";

/** Entra's Federation Metadata lists every certificate and every claim type: allow 1 MiB. */
export const MAX_METADATA_BYTES = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// SP metadata (what the IdP admin uploads to Entra: "Upload metadata file").

export interface SpMetadataOptions {
  /** Our entity ID ("Identifier (Entity ID)" in Entra). */
  readonly entityId: string;
  /** Our ACS URL ("Reply URL" in Entra), HTTP-POST binding. */
  readonly acsUrl: string;
  /** Our Single Logout URL ("Logout URL" in Entra), offered on HTTP-Redirect and HTTP-POST. */
  readonly sloUrl?: string;
  /** Base64 DER (PEM accepted) of the certificates our AuthnRequests/LogoutRequests are signed with. */
  readonly signingCertificates?: readonly string[];
  /** Base64 DER (PEM accepted) of the certificates the IdP may encrypt Assertions to. */
  readonly encryptionCertificates?: readonly string[];
  /** The NameID format we ask for; defaults to emailAddress (Entra's default NameID, the UPN). */
  readonly nameIdFormat?: string;
  /** Default true: Gatehouse refuses unsigned Assertions unless the Response is signed. */
  readonly wantAssertionsSigned?: boolean;
  /** Default: true when signing certificates are given. */
  readonly authnRequestsSigned?: boolean;
}

// Encryption methods xmlenc.ts decrypts (advertised per saml-metadata-2.0-os 2.4.1.1).
const ENCRYPTION_METHODS = [
  "http://www.w3.org/2009/xmlenc11#aes256-gcm",
  "http://www.w3.org/2009/xmlenc11#aes128-gcm",
  "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
  "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
  "http://www.w3.org/2009/xmlenc11#rsa-oaep",
  "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p",
] as const;

/**
 * An EntityDescriptor with one SPSSODescriptor (saml-metadata-2.0-os 2.3.2, 2.4.4), indented for
 * the admin who opens it. Elements in the schema's order: KeyDescriptor, SingleLogoutService,
 * NameIDFormat, AssertionConsumerService.
 */
export function renderSpMetadata(o: SpMetadataOptions): string {
  checkEntityId(o.entityId);
  checkUrl(o.acsUrl, "acsUrl");
  if (o.sloUrl !== undefined) checkUrl(o.sloUrl, "sloUrl");
  const signing = (o.signingCertificates ?? []).map((c, i) =>
    spCertificate(c, `signingCertificates[${i}]`),
  );
  const encryption = (o.encryptionCertificates ?? []).map((c, i) =>
    spCertificate(c, `encryptionCertificates[${i}]`),
  );
  const authnRequestsSigned = o.authnRequestsSigned ?? signing.length > 0;
  const wantAssertionsSigned = o.wantAssertionsSigned ?? true;

  const keyDescriptor = (use: "signing" | "encryption", base64: string): string => {
    const methods =
      use === "encryption"
        ? ENCRYPTION_METHODS.map((m) => `\n      <md:EncryptionMethod Algorithm="${m}"/>`).join("")
        : "";
    return (
      `\n    <md:KeyDescriptor use="${use}">` +
      `\n      <ds:KeyInfo xmlns:ds="${DSIG_NS}">` +
      `\n        <ds:X509Data>\n          <ds:X509Certificate>${base64}</ds:X509Certificate>\n        </ds:X509Data>` +
      `\n      </ds:KeyInfo>${methods}` +
      `\n    </md:KeyDescriptor>`
    );
  };
  let body = "";
  for (const c of signing) body += keyDescriptor("signing", c);
  for (const c of encryption) body += keyDescriptor("encryption", c);
  if (o.sloUrl !== undefined) {
    const slo = escapeAttr(o.sloUrl);
    body += `\n    <md:SingleLogoutService Binding="${BINDING.redirect}" Location="${slo}"/>`;
    body += `\n    <md:SingleLogoutService Binding="${BINDING.post}" Location="${slo}"/>`;
  }
  body += `\n    <md:NameIDFormat>${escapeText(o.nameIdFormat ?? NAMEID_FORMAT.emailAddress)}</md:NameIDFormat>`;
  body += `\n    <md:AssertionConsumerService Binding="${BINDING.post}" Location="${escapeAttr(o.acsUrl)}" index="0" isDefault="true"/>`;

  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<md:EntityDescriptor xmlns:md="${SAML_METADATA_NS}" entityID="${escapeAttr(o.entityId)}">\n` +
    `  <md:SPSSODescriptor protocolSupportEnumeration="${SAML_PROTOCOL_NS}" AuthnRequestsSigned="${authnRequestsSigned}" WantAssertionsSigned="${wantAssertionsSigned}">` +
    body +
    `\n  </md:SPSSODescriptor>\n</md:EntityDescriptor>\n`
  );
}

const SP_CONFIG_FIX = "Check Gatehouse's SP settings (entity ID, ACS URL, certificates).";

function checkEntityId(entityId: string): void {
  // saml-metadata-2.0-os 2.3.2: entityID is an anyURI of at most 1024 characters.
  if (entityId === "" || entityId.length > 1024 || entityId.trim() !== entityId) {
    throw new SamlError(
      "metadata_invalid",
      {
        field: "entityId",
        received: entityId,
        note: "1 to 1024 characters, no surrounding spaces",
      },
      SP_CONFIG_FIX,
    );
  }
}

function checkUrl(value: string, field: string): void {
  if (!URL.canParse(value)) {
    throw new SamlError(
      "metadata_invalid",
      { field, received: value, note: "not an absolute URL" },
      SP_CONFIG_FIX,
    );
  }
}

function spCertificate(input: string, field: string): string {
  return readCertificate(input, field).base64;
}

// ---------------------------------------------------------------------------------------------
// IdP metadata (what the admin downloads from Entra: "Federation Metadata XML").

export interface IdpMetadata {
  readonly entityId: string;
  /** SingleSignOnService, HTTP-Redirect binding (where AuthnRequests go). */
  readonly ssoRedirectUrl: string;
  readonly ssoPostUrl: string | undefined;
  readonly sloRedirectUrl: string | undefined;
  readonly sloPostUrl: string | undefined;
  /**
   * Every signing certificate of the IDPSSODescriptor that has not expired, active and inactive
   * alike (Entra lists both and we cannot tell which signs: accept any of the set).
   */
  readonly certificates: readonly TrustedCertificate[];
  /** Signing certificates listed but already expired at `now` (not in `certificates`). */
  readonly expiredCertificates: readonly TrustedCertificate[];
  /** NameIDFormat values, in document order (Entra lists none). */
  readonly nameIdFormats: readonly string[];
  /** Things the admin should know that do not make the metadata unusable. */
  readonly warnings: readonly string[];
}

export interface ReadIdpMetadataOptions {
  readonly now: Date;
}

/**
 * Reads IdP metadata: an EntityDescriptor, or an EntitiesDescriptor holding exactly one IdP.
 * Does not verify the metadata's own signature (see verifyMetadataSignature): metadata is
 * usually uploaded by an authenticated admin or fetched over TLS from the IdP.
 */
export function readIdpMetadata(xml: string, o: ReadIdpMetadataOptions): IdpMetadata {
  const root = parseMetadata(xml);
  const now = o.now.getTime();
  const warnings: string[] = [];
  checkValidUntil(root, now);

  const entity = selectIdpEntity(root, now);
  const entityId = attr(entity, "entityID");
  if (entityId === undefined || entityId === "") {
    throw new SamlError("metadata_invalid", {
      field: "EntityDescriptor entityID",
      note: "missing",
    });
  }

  const idps = children(entity, SAML_METADATA_NS, "IDPSSODescriptor");
  if (idps.length === 0) {
    if (children(entity, SAML_METADATA_NS, "SPSSODescriptor").length > 0) {
      throw new SamlError("metadata_is_sp", { field: "EntityDescriptor", received: entityId });
    }
    throw new SamlError("metadata_invalid", {
      field: "IDPSSODescriptor",
      note: "the EntityDescriptor describes no identity provider",
    });
  }
  // saml-metadata-2.0-os 2.4.1: protocolSupportEnumeration lists the protocols a role supports.
  const saml2 = idps.filter((d) =>
    (attr(d, "protocolSupportEnumeration") ?? "").split(/[ \t\r\n]+/).includes(SAML_PROTOCOL_NS),
  );
  if (saml2.length !== 1) {
    throw new SamlError("metadata_invalid", {
      field: "IDPSSODescriptor protocolSupportEnumeration",
      expected: `one IDPSSODescriptor supporting ${SAML_PROTOCOL_NS}`,
      received: `${saml2.length}`,
    });
  }
  const idp = saml2[0]!;
  checkValidUntil(idp, now);

  // Endpoints (saml-metadata-2.0-os 2.4.3): the first of each binding, as 2.2.3 allows.
  const sso = endpoints(idp, "SingleSignOnService");
  const slo = endpoints(idp, "SingleLogoutService");
  const ssoRedirectUrl = sso.get(BINDING.redirect);
  if (ssoRedirectUrl === undefined) {
    throw new SamlError("metadata_missing_endpoint", {
      field: "SingleSignOnService",
      expected: BINDING.redirect,
      received: [...sso.keys()].join(", ") || undefined,
    });
  }
  for (const [name, url] of [
    ["SingleSignOnService", ssoRedirectUrl],
    ["SingleLogoutService", slo.get(BINDING.redirect)],
  ] as const) {
    if (url !== undefined && !url.startsWith("https://")) {
      warnings.push(`${name} ${url} is not https: acceptable for a local test IdP only.`);
    }
  }
  if (slo.size === 0) {
    warnings.push("No SingleLogoutService: signing out of the app will not sign out of the IdP.");
  }

  // Signing keys (2.4.1.1): use="signing" or no use at all; several are normal (rotation).
  const all: TrustedCertificate[] = [];
  const seen = new Set<string>();
  const keyDescriptors = children(idp, SAML_METADATA_NS, "KeyDescriptor");
  keyDescriptors.forEach((kd, i) => {
    const use = attr(kd, "use");
    if (use !== undefined && use !== "signing") return;
    const field = `IDPSSODescriptor KeyDescriptor[${i + 1}]`;
    const texts = x509Certificates(kd);
    if (texts.length === 0) {
      warnings.push(`${field} carries no X509Certificate and was ignored.`);
      return;
    }
    for (const text of texts) {
      const cert = readCertificate(text, field);
      if (seen.has(cert.fingerprint256)) continue;
      seen.add(cert.fingerprint256);
      all.push(cert);
    }
  });
  if (all.length === 0) {
    throw new SamlError("metadata_invalid", {
      field: "IDPSSODescriptor KeyDescriptor",
      expected: 'at least one KeyDescriptor use="signing" with an X509Certificate',
      received: `${keyDescriptors.length} KeyDescriptor(s), none for signing`,
    });
  }
  const certificates = all.filter((c) => c.notAfter.getTime() > now);
  const expiredCertificates = all.filter((c) => c.notAfter.getTime() <= now);
  if (certificates.length === 0) {
    throw new SamlError("certificate_expired", {
      field: "IDPSSODescriptor KeyDescriptor",
      note: all.map((c) => `${c.fingerprint256} expired ${c.notAfter.toISOString()}`).join("; "),
    });
  }
  for (const c of expiredCertificates) {
    warnings.push(
      `Signing certificate ${c.fingerprint256} expired on ${c.notAfter.toISOString()}; it is ignored. Remove it at the IdP (Entra: SAML Certificates).`,
    );
  }
  for (const c of certificates) {
    if (c.notBefore.getTime() > now) {
      warnings.push(
        `Signing certificate ${c.fingerprint256} is not valid before ${c.notBefore.toISOString()}.`,
      );
    }
  }

  const nameIdFormats = children(idp, SAML_METADATA_NS, "NameIDFormat").map((el) =>
    directText(el).trim(),
  );

  return Object.freeze({
    entityId,
    ssoRedirectUrl,
    ssoPostUrl: sso.get(BINDING.post),
    sloRedirectUrl: slo.get(BINDING.redirect),
    sloPostUrl: slo.get(BINDING.post),
    certificates: Object.freeze(certificates),
    expiredCertificates: Object.freeze(expiredCertificates),
    nameIdFormats: Object.freeze(nameIdFormats),
    warnings: Object.freeze(warnings),
  });
}

/**
 * Verifies the enveloped signature on the metadata's document element (EntityDescriptor or
 * EntitiesDescriptor) against `certificates`. Optional: call it when the metadata's signer is
 * known in advance (e.g. a refresh from the metadata URL, checked against the certificates
 * already trusted).
 */
export function verifyMetadataSignature(
  xml: string,
  certificates: readonly TrustedCertificate[],
  policy: AlgorithmPolicy = {},
): VerifiedSignature {
  const root = parseMetadata(xml);
  const signatures = signatureChildren(root);
  if (signatures.length === 0) {
    throw new SamlError(
      "signature_missing",
      { field: `${root.local} Signature`, note: "the metadata is not signed" },
      "Download the Federation Metadata XML from the IdP again; Entra signs it.",
    );
  }
  if (signatures.length > 1) {
    throw new SamlError("signature_reference_invalid", {
      field: `${root.local} Signature`,
      note: "several Signatures",
    });
  }
  return verifyEnvelopedSignature(root, signatures[0]!, certificates, policy);
}

function parseMetadata(xml: string): XmlElement {
  const bytes = Buffer.byteLength(xml, "utf8");
  if (bytes > MAX_METADATA_BYTES) {
    throw new SamlError("input_too_large", {
      field: "metadata",
      expected: `at most ${MAX_METADATA_BYTES} bytes`,
      received: `${bytes} bytes`,
    });
  }
  const root = parseXml(xml);
  if (
    root.ns !== SAML_METADATA_NS ||
    (root.local !== "EntityDescriptor" && root.local !== "EntitiesDescriptor")
  ) {
    throw new SamlError("metadata_invalid", {
      field: "document element",
      expected: "md:EntityDescriptor or md:EntitiesDescriptor",
      received: root.ns === "" ? root.local : `{${root.ns}}${root.local}`,
    });
  }
  return root;
}

/** The one EntityDescriptor with an IDPSSODescriptor (nested EntitiesDescriptors included). */
function selectIdpEntity(root: XmlElement, now: number): XmlElement {
  if (root.local === "EntityDescriptor") return root;
  const entities: XmlElement[] = [];
  const collect = (group: XmlElement): void => {
    for (const c of childElements(group)) {
      if (c.ns !== SAML_METADATA_NS) continue;
      if (c.local === "EntityDescriptor") entities.push(c);
      else if (c.local === "EntitiesDescriptor") {
        checkValidUntil(c, now);
        collect(c);
      }
    }
  };
  collect(root);
  const idps = entities.filter((e) => child(e, SAML_METADATA_NS, "IDPSSODescriptor") !== undefined);
  if (idps.length === 1) return idps[0]!;
  if (idps.length === 0 && entities.some((e) => child(e, SAML_METADATA_NS, "SPSSODescriptor"))) {
    throw new SamlError("metadata_is_sp", { field: "EntitiesDescriptor" });
  }
  throw new SamlError("metadata_invalid", {
    field: "EntitiesDescriptor",
    expected: "exactly one identity provider (EntityDescriptor with an IDPSSODescriptor)",
    received: `${idps.length}: ${idps.map((e) => attr(e, "entityID") ?? "?").join(", ")}`,
    note:
      idps.length > 1
        ? "this is a federation aggregate; upload the metadata of the one IdP this connection uses"
        : undefined,
  });
}

/** saml-metadata-2.0-os 2.2.1, 2.3.1: metadata past its validUntil must not be used. */
function checkValidUntil(el: XmlElement, now: number): void {
  const value = attr(el, "validUntil");
  if (value === undefined) return;
  const until = parseMetadataInstant(value, `${el.local} validUntil`);
  if (until <= now) {
    throw new SamlError("metadata_invalid", {
      field: `${el.local} validUntil`,
      expected: `after ${new Date(now).toISOString()}`,
      received: value,
      note: "the metadata has expired; download it again",
    });
  }
}

function parseMetadataInstant(value: string, field: string): number {
  try {
    return parseInstant(value, field);
  } catch (e) {
    if (e instanceof SamlError) {
      throw new SamlError("metadata_invalid", { ...e.detail, field });
    }
    throw e;
  }
}

/** Binding -> Location of the first endpoint of each binding. */
function endpoints(role: XmlElement, local: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const el of children(role, SAML_METADATA_NS, local)) {
    const binding = attr(el, "Binding");
    const location = attr(el, "Location");
    if (binding === undefined || location === undefined || location === "") {
      throw new SamlError("metadata_invalid", {
        field: local,
        note: "Binding and Location are required (saml-metadata-2.0-os 2.2.2)",
      });
    }
    if (!URL.canParse(location)) {
      throw new SamlError("metadata_invalid", {
        field: `${local} Location`,
        expected: "an absolute URL",
        received: location,
      });
    }
    if (!out.has(binding)) out.set(binding, location);
  }
  return out;
}

/** ds:KeyInfo/ds:X509Data/ds:X509Certificate texts of a KeyDescriptor. */
function x509Certificates(keyDescriptor: XmlElement): string[] {
  const out: string[] = [];
  const keyInfo = child(keyDescriptor, DSIG_NS, "KeyInfo");
  if (keyInfo === undefined) return out;
  for (const data of children(keyInfo, DSIG_NS, "X509Data")) {
    for (const c of children(data, DSIG_NS, "X509Certificate")) {
      out.push(normalizeCertificateText(directText(c)));
    }
  }
  return out;
}

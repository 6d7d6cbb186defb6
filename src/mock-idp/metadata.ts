/**
 * Federation Metadata XML shaped like Microsoft Entra ID's (../shared/ENTRA.md, "Metadata and
 * certificates"): a UTF-8 byte-order mark, one line, two WS-Federation RoleDescriptors before the
 * IDPSSODescriptor, no NameIDFormat, SSO (Redirect and POST) and SLO (Redirect) at
 * https://login.microsoftonline.com/<tenant>/saml2, every certificate of the app listed, and an
 * enveloped signature by the app certificate as the EntityDescriptor's first child.
 */

import { type KeyObject, randomUUID } from "node:crypto";
import { signEnveloped } from "../saml/dsig.ts";
import { escapeAttr, escapeText } from "../saml/xml/c14n.ts";
import { ENTRA_CLAIMS, entraIssuer } from "./response.ts";

const MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS_NS = "http://www.w3.org/2000/09/xmldsig#";
const XSI_NS = "http://www.w3.org/2001/XMLSchema-instance";
const FED_NS = "http://docs.oasis-open.org/wsfed/federation/200706";
const AUTH_NS = "http://docs.oasis-open.org/wsfed/authorization/200706";
const WSA_NS = "http://www.w3.org/2005/08/addressing";
const REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";

export interface EntraMetadataOptions {
  readonly tenantId: string;
  /**
   * The application's ID. With it, the document is the app's Federation Metadata (the app's
   * certificates); without it, the tenant-wide one. The shape is the same: Entra writes the app
   * ID only in the URL (entraFederationMetadataUrl).
   */
  readonly appId?: string;
  /** Base64 DER of every certificate of the app, the active one first, inactive ones after. */
  readonly certificates: readonly string[];
  /** Certificates of the WS-Federation RoleDescriptors; default: the same as `certificates`. */
  readonly roleDescriptorCertificates?: readonly string[];
  /** The key of the active certificate: Entra signs the metadata with it. */
  readonly signingKey: KeyObject;
  /** Base64 DER of the signing certificate, put in the Signature's KeyInfo. */
  readonly signingCertificate: string;
  /**
   * Entra's document carries no time (no validUntil, no cacheDuration), so `now` is not written;
   * it is taken for symmetry with the other mock builders.
   */
  readonly now: Date;
  /** Override the EntityDescriptor ID (`_` + GUID) for deterministic fixtures. */
  readonly id?: string;
  /**
   * Where the SSO and SLO endpoints are (default Entra's, entraSamlEndpoint): the running mock
   * IdP serves its own.
   */
  readonly samlEndpoint?: string;
}

export function entraSamlEndpoint(tenantId: string): string {
  return `https://login.microsoftonline.com/${tenantId}/saml2`;
}

export function entraFederationMetadataUrl(tenantId: string, appId?: string): string {
  const base = `https://login.microsoftonline.com/${tenantId}/federationmetadata/2007-06/federationmetadata.xml`;
  return appId === undefined ? base : `${base}?appid=${encodeURIComponent(appId)}`;
}

// The claim types Entra offers in its SecurityTokenServiceType descriptor (a subset, in its order).
const CLAIM_TYPES: readonly [uri: string, name: string, description: string][] = [
  [ENTRA_CLAIMS.name, "Name", "The mutable display name of the user."],
  [
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier",
    "Subject",
    "An immutable, globally unique non-reusable identifier of the user that is unique to the application for which a token is issued.",
  ],
  [ENTRA_CLAIMS.givenname, "Given Name", "First name of the user."],
  [ENTRA_CLAIMS.surname, "Surname", "Last name of the user."],
  [ENTRA_CLAIMS.displayname, "Display Name", "Display name of the user."],
  [
    ENTRA_CLAIMS.objectidentifier,
    "ObjectIdentifier",
    "Primary identifier for the user in the directory. Immutable, globally unique, non-reusable.",
  ],
  [ENTRA_CLAIMS.tenantid, "TenantId", "Identifier for the user's tenant."],
  [ENTRA_CLAIMS.identityprovider, "IdentityProvider", "Identity provider for the user."],
  [ENTRA_CLAIMS.emailaddress, "Email", "Email address of the user."],
  [ENTRA_CLAIMS.groups, "Groups", "Groups of the user."],
  [
    ENTRA_CLAIMS.groupsLink,
    "GroupsOverageClaim",
    "Issued when number of user's group claims exceeds return limit.",
  ],
  [ENTRA_CLAIMS.role, "Role Claim", "Roles that the user or Service Principal is attached to"],
];

function keyDescriptors(certificates: readonly string[]): string {
  return certificates
    .map(
      (c) =>
        `<KeyDescriptor use="signing"><KeyInfo xmlns="${DS_NS}"><X509Data><X509Certificate>${escapeText(c)}</X509Certificate></X509Data></KeyInfo></KeyDescriptor>`,
    )
    .join("");
}

function endpointReference(address: string): string {
  return `<wsa:EndpointReference xmlns:wsa="${WSA_NS}"><wsa:Address>${escapeText(address)}</wsa:Address></wsa:EndpointReference>`;
}

/** The document as Entra serves it, byte-order mark first. */
export function buildEntraFederationMetadata(o: EntraMetadataOptions): string {
  if (o.certificates.length === 0) throw new Error("buildEntraFederationMetadata: no certificate");
  const id = o.id ?? `_${randomUUID()}`;
  const issuer = entraIssuer(o.tenantId);
  const saml2 = escapeAttr(o.samlEndpoint ?? entraSamlEndpoint(o.tenantId));
  const wsfed = `https://login.microsoftonline.com/${o.tenantId}/wsfed`;
  const roleKeys = keyDescriptors(o.roleDescriptorCertificates ?? o.certificates);
  const claimTypes = CLAIM_TYPES.map(
    ([uri, name, description]) =>
      `<auth:ClaimType xmlns:auth="${AUTH_NS}" Uri="${escapeAttr(uri)}" Optional="true"><auth:DisplayName>${escapeText(name)}</auth:DisplayName><auth:Description>${escapeText(description)}</auth:Description></auth:ClaimType>`,
  ).join("");
  const roleAttrs = `protocolSupportEnumeration="${FED_NS}" xmlns:xsi="${XSI_NS}" xmlns:fed="${FED_NS}"`;

  const unsigned =
    `<EntityDescriptor ID="${escapeAttr(id)}" entityID="${escapeAttr(issuer)}" xmlns="${MD_NS}">` +
    `<RoleDescriptor xsi:type="fed:SecurityTokenServiceType" ${roleAttrs}>${roleKeys}` +
    `<fed:ClaimTypesOffered>${claimTypes}</fed:ClaimTypesOffered>` +
    `<fed:SecurityTokenServiceEndpoint>${endpointReference(wsfed)}</fed:SecurityTokenServiceEndpoint>` +
    `<fed:PassiveRequestorEndpoint>${endpointReference(wsfed)}</fed:PassiveRequestorEndpoint>` +
    `</RoleDescriptor>` +
    `<RoleDescriptor xsi:type="fed:ApplicationServiceType" ${roleAttrs}>${roleKeys}` +
    `<fed:TargetScopes>${endpointReference(issuer)}</fed:TargetScopes>` +
    `<fed:ApplicationServiceEndpoint>${endpointReference(wsfed)}</fed:ApplicationServiceEndpoint>` +
    `<fed:PassiveRequestorEndpoint>${endpointReference(wsfed)}</fed:PassiveRequestorEndpoint>` +
    `</RoleDescriptor>` +
    `<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keyDescriptors(o.certificates)}` +
    `<SingleLogoutService Binding="${REDIRECT}" Location="${saml2}"/>` +
    `<SingleSignOnService Binding="${REDIRECT}" Location="${saml2}"/>` +
    `<SingleSignOnService Binding="${POST}" Location="${saml2}"/>` +
    `</IDPSSODescriptor>` +
    `</EntityDescriptor>`;
  // No Issuer in metadata: signEnveloped puts the Signature first, where Entra has it.
  const signed = signEnveloped(unsigned, {
    privateKey: o.signingKey,
    certificate: o.signingCertificate,
  });
  return `\uFEFF<?xml version="1.0" encoding="utf-8"?>${signed}`;
}

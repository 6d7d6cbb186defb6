/**
 * Builds SAML Responses shaped exactly like Microsoft Entra ID's (../shared/ENTRA.md): one line,
 * no XML declaration, `samlp:` prefixed Response, Issuer and Assertion in the default namespace,
 * Entra's claim URIs in Entra's order, its timing window and ID forms.
 */

import { createHash, type KeyObject, randomUUID } from "node:crypto";
import type { HashName, SignatureAlgorithm } from "../saml/algorithms.ts";
import { signEnveloped } from "../saml/dsig.ts";
import { escapeAttr, escapeText } from "../saml/xml/c14n.ts";
import { encryptAssertion } from "../saml/xmlenc.ts";

export const ENTRA_CLAIMS = {
  tenantid: "http://schemas.microsoft.com/identity/claims/tenantid",
  objectidentifier: "http://schemas.microsoft.com/identity/claims/objectidentifier",
  displayname: "http://schemas.microsoft.com/identity/claims/displayname",
  identityprovider: "http://schemas.microsoft.com/identity/claims/identityprovider",
  authnmethodsreferences: "http://schemas.microsoft.com/claims/authnmethodsreferences",
  emailaddress: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
  givenname: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
  surname: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
  name: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
  groups: "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
  groupsLink: "http://schemas.microsoft.com/claims/groups.link",
  role: "http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
} as const;

export interface MockUser {
  /** userPrincipalName: the default NameID and `name` claim. */
  readonly upn: string;
  /** user.mail; the emailaddress claim is omitted when absent (as Entra does). */
  readonly mail?: string;
  readonly objectId: string;
  readonly givenName?: string;
  readonly surname?: string;
  readonly displayName?: string;
  readonly groups?: readonly string[];
  readonly roles?: readonly string[];
  /** Extra claims (e.g. a custom `ssoid` claim for multi-login). */
  readonly extraClaims?: Readonly<Record<string, readonly string[]>>;
}

export type SigningOption = "assertion" | "response" | "both" | "none";

export interface MockResponseOptions {
  readonly tenantId: string;
  readonly user: MockUser;
  /** The Reply URL: Destination and Recipient. */
  readonly acsUrl: string;
  /** The Identifier (Entity ID): the Audience. */
  readonly audience: string;
  readonly inResponseTo?: string;
  readonly now: Date;
  readonly signingKey: KeyObject;
  /** Base64 DER of the signing certificate, put in KeyInfo as Entra does. */
  readonly signingCertificate: string;
  readonly signing?: SigningOption;
  readonly signatureAlgorithm?: SignatureAlgorithm;
  readonly digest?: HashName;
  /** "email" (user.mail), "upn" (the default), "persistent" or "unspecified" (opaque IDs). */
  readonly nameIdSource?: "upn" | "email" | "persistent" | "unspecified";
  /** Entra drops the groups claim above 150 groups and sends groups.link. */
  readonly groupsOverageLimit?: number;
  readonly authnInstant?: Date;
  /** Override IDs for deterministic fixtures. */
  readonly responseId?: string;
  readonly assertionId?: string;
  /** Override the Issuer (defaults to https://sts.windows.net/<tenant>/). */
  readonly issuer?: string;
  /** Transforms the unsigned Assertion XML before signing (fixtures for refusal rules). */
  readonly mutateAssertion?: (xml: string) => string;
  /**
   * Token encryption (Entra: Token encryption): the Assertion, signed first when the signing
   * option covers it, is replaced by its EncryptedAssertion before the Response is signed.
   */
  readonly encryptFor?: {
    readonly publicKey: KeyObject;
    /** Base64 DER of the SP's encryption certificate, put in the EncryptedKey's KeyInfo. */
    readonly certificate?: string;
    readonly algorithm?: "aes256-gcm" | "aes256-cbc";
  };
  /** Transforms the unsigned Response XML (Assertion already signed) before signing. */
  readonly mutateResponse?: (xml: string) => string;
}

export function entraIssuer(tenantId: string): string {
  return `https://sts.windows.net/${tenantId}/`;
}

/** Entra's IDs: "_" + GUID (never starting with a digit). */
export function entraId(): string {
  return `_${randomUUID()}`;
}

/** Entra's time format: UTC with milliseconds. */
function instant(d: Date): string {
  return d.toISOString();
}

export function buildEntraResponse(o: MockResponseOptions): string {
  const issuer = o.issuer ?? entraIssuer(o.tenantId);
  const responseId = o.responseId ?? entraId();
  const assertionId = o.assertionId ?? entraId();
  const now = o.now.getTime();
  const issueInstant = instant(o.now);
  const notBefore = instant(new Date(now - 5 * 60_000));
  const notOnOrAfter = instant(new Date(now + 60 * 60_000));
  const irt = o.inResponseTo === undefined ? "" : ` InResponseTo="${escapeAttr(o.inResponseTo)}"`;
  const u = o.user;

  let nameId: string;
  let nameIdFormat: string;
  switch (o.nameIdSource ?? "upn") {
    case "email":
      nameId = u.mail ?? u.upn;
      nameIdFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
      break;
    case "persistent":
      nameId = opaqueId(u.objectId, o.audience);
      nameIdFormat = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
      break;
    case "unspecified":
      nameId = opaqueId(u.objectId, o.audience);
      nameIdFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified";
      break;
    default:
      nameId = u.upn;
      nameIdFormat = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
  }

  // Claims in Entra's order (ENTRA.md): tenantid, objectidentifier, displayname,
  // identityprovider, authnmethodsreferences, then the xmlsoap claims, then groups and roles.
  const claims: [string, readonly string[]][] = [
    [ENTRA_CLAIMS.tenantid, [o.tenantId]],
    [ENTRA_CLAIMS.objectidentifier, [u.objectId]],
    [ENTRA_CLAIMS.displayname, [u.displayName ?? u.upn]],
    [ENTRA_CLAIMS.identityprovider, [issuer]],
    [
      ENTRA_CLAIMS.authnmethodsreferences,
      [
        "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password",
        "http://schemas.microsoft.com/claims/multipleauthn",
      ],
    ],
  ];
  if (u.mail !== undefined) claims.push([ENTRA_CLAIMS.emailaddress, [u.mail]]);
  if (u.givenName !== undefined) claims.push([ENTRA_CLAIMS.givenname, [u.givenName]]);
  if (u.surname !== undefined) claims.push([ENTRA_CLAIMS.surname, [u.surname]]);
  claims.push([ENTRA_CLAIMS.name, [u.upn]]);
  if (u.groups !== undefined && u.groups.length > 0) {
    const limit = o.groupsOverageLimit ?? 150;
    if (u.groups.length > limit) {
      claims.push([
        ENTRA_CLAIMS.groupsLink,
        [`https://graph.windows.net/${o.tenantId}/users/${u.objectId}/getMemberObjects`],
      ]);
    } else {
      claims.push([ENTRA_CLAIMS.groups, u.groups]);
    }
  }
  if (u.roles !== undefined && u.roles.length > 0) claims.push([ENTRA_CLAIMS.role, u.roles]);
  for (const [k, v] of Object.entries(u.extraClaims ?? {})) claims.push([k, v]);

  const attributes = claims
    .map(
      ([name, values]) =>
        `<Attribute Name="${escapeAttr(name)}">${values.map((v) => `<AttributeValue>${escapeText(v)}</AttributeValue>`).join("")}</Attribute>`,
    )
    .join("");

  let assertion =
    `<Assertion xmlns="urn:oasis:names:tc:SAML:2.0:assertion" ID="${assertionId}" IssueInstant="${issueInstant}" Version="2.0">` +
    `<Issuer>${escapeText(issuer)}</Issuer>` +
    `<Subject><NameID Format="${nameIdFormat}">${escapeText(nameId)}</NameID>` +
    `<SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><SubjectConfirmationData${irt} NotOnOrAfter="${notOnOrAfter}" Recipient="${escapeAttr(o.acsUrl)}"/></SubjectConfirmation></Subject>` +
    `<Conditions NotBefore="${notBefore}" NotOnOrAfter="${notOnOrAfter}"><AudienceRestriction><Audience>${escapeText(o.audience)}</Audience></AudienceRestriction></Conditions>` +
    `<AttributeStatement>${attributes}</AttributeStatement>` +
    `<AuthnStatement AuthnInstant="${instant(o.authnInstant ?? o.now)}" SessionIndex="${assertionId}"><AuthnContext><AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</AuthnContextClassRef></AuthnContext></AuthnStatement>` +
    `</Assertion>`;
  if (o.mutateAssertion !== undefined) assertion = o.mutateAssertion(assertion);

  const signing = o.signing ?? "assertion";
  const key = { privateKey: o.signingKey, certificate: o.signingCertificate };
  const sign = {
    algorithm: o.signatureAlgorithm ?? "rsa-sha256",
    digest: o.digest ?? "sha256",
  } as const;
  if (signing === "assertion" || signing === "both")
    assertion = signEnveloped(assertion, key, sign);
  if (o.encryptFor !== undefined) {
    assertion = encryptAssertion(assertion, o.encryptFor, { algorithm: o.encryptFor.algorithm });
  }

  let response =
    `<samlp:Response ID="${responseId}" Version="2.0" IssueInstant="${issueInstant}" Destination="${escapeAttr(o.acsUrl)}"${irt} xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">` +
    `<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${escapeText(issuer)}</Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    assertion +
    `</samlp:Response>`;
  if (o.mutateResponse !== undefined) response = o.mutateResponse(response);
  if (signing === "response" || signing === "both") response = signEnveloped(response, key, sign);
  return response;
}

export interface MockFailureOptions {
  readonly tenantId: string;
  readonly acsUrl: string;
  readonly inResponseTo?: string;
  readonly now: Date;
  /** e.g. ["urn:oasis:names:tc:SAML:2.0:status:Requester", "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported"] */
  readonly statusCodes: readonly string[];
  /** e.g. "AADSTS50105: The signed in user is not assigned to a role for the application." */
  readonly statusMessage: string;
}

/** An Entra failure Response: nested StatusCodes, an AADSTS StatusMessage, no Assertion. */
export function buildEntraFailure(o: MockFailureOptions): string {
  const irt = o.inResponseTo === undefined ? "" : ` InResponseTo="${escapeAttr(o.inResponseTo)}"`;
  const nest = (i: number): string => {
    if (i >= o.statusCodes.length) return "";
    const inner = nest(i + 1);
    const value = escapeAttr(o.statusCodes[i]!);
    return inner === ""
      ? `<samlp:StatusCode Value="${value}"/>`
      : `<samlp:StatusCode Value="${value}">${inner}</samlp:StatusCode>`;
  };
  const codes = nest(0);
  return (
    `<samlp:Response ID="${entraId()}" Version="2.0" IssueInstant="${instant(o.now)}" Destination="${escapeAttr(o.acsUrl)}"${irt} xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">` +
    `<Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">${escapeText(entraIssuer(o.tenantId))}</Issuer>` +
    `<samlp:Status>${codes}<samlp:StatusMessage>${escapeText(o.statusMessage)}</samlp:StatusMessage></samlp:Status>` +
    `</samlp:Response>`
  );
}

/** Entra's pairwise opaque identifier for persistent/unspecified NameID formats. */
function opaqueId(objectId: string, audience: string): string {
  return createHash("sha256").update(`${objectId}|${audience}`).digest("base64").slice(0, 43);
}

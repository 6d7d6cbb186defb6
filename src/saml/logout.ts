/**
 * Single Logout (saml-core-2.0-os 3.7, saml-profiles-2.0-os 4.4) in both directions:
 *
 * - SP-initiated: we build a LogoutRequest for the IdP and validate its LogoutResponse.
 * - IdP-initiated: we validate the IdP's LogoutRequest and build our LogoutResponse.
 *
 * Entra speaks HTTP-Redirect only (ENTRA.md, Single Logout); the POST binding is accepted for
 * other IdPs. On Redirect the signature covers the raw query (redirect-signature.ts); on POST it
 * is an enveloped XML signature whose Reference must name the message itself.
 */

import type { KeyObject } from "node:crypto";
import type { AlgorithmPolicy, SignatureAlgorithm } from "./algorithms.ts";
import {
  appendQuery,
  checkRelayState,
  checkRequestId,
  newRequestId,
  redirectQuery,
} from "./authn-request.ts";
import type { TrustedCertificate } from "./certs.ts";
import { signatureChildren, verifyEnvelopedSignature } from "./dsig.ts";
import { SamlError } from "./errors.ts";
import { decodeMessage } from "./message.ts";
import {
  NAMEID_FORMAT,
  SAML_ASSERTION_NS,
  SAML_PROTOCOL_NS,
  STATUS_SUCCESS,
} from "./namespaces.ts";
import { verifyRedirectQuery } from "./redirect-signature.ts";
import { formatInstant, parseInstant } from "./time.ts";
import { escapeAttr, escapeText } from "./xml/c14n.ts";
import { parseXml } from "./xml/parse.ts";
import { attr, child, children, descendants, directText, type XmlElement } from "./xml/tree.ts";

export interface RedirectSigning {
  readonly privateKey: KeyObject;
  readonly algorithm?: SignatureAlgorithm;
}

export interface BuiltLogoutMessage {
  readonly id: string;
  /** The IdP's logout URL with the Redirect-binding query. */
  readonly url: string;
  readonly xml: string;
}

// ---------------------------------------------------------------------------------------------
// Building our messages.

export interface LogoutRequestOptions {
  readonly id?: string;
  readonly random?: (size: number) => Uint8Array;
  /** Our entity ID: the Issuer. */
  readonly spEntityId: string;
  /** The IdP's logout URL (Entra: https://login.microsoftonline.com/<tenant>/saml2). */
  readonly destination: string;
  /** The NameID received at login; Entra refuses a LogoutRequest without one (AADSTS7500530). */
  readonly nameId: string;
  readonly nameIdFormat?: string | undefined;
  /** The SessionIndex received at login (Entra: the Assertion ID). */
  readonly sessionIndex?: string | readonly string[] | undefined;
  readonly now: Date;
  /** NotOnOrAfter = now + this. Default 300 seconds. */
  readonly lifetimeSeconds?: number;
  /** e.g. urn:oasis:names:tc:SAML:2.0:logout:user (core 3.7.3). */
  readonly reason?: string;
  readonly relayState?: string;
  readonly signing?: RedirectSigning;
}

/** Our LogoutRequest (core 3.7.1) on the HTTP-Redirect binding. */
export function buildLogoutRequest(o: LogoutRequestOptions): BuiltLogoutMessage {
  const id = o.id ?? newRequestId(o.random);
  checkRequestId(id);
  if (o.nameId === "") throw new TypeError("nameId is required (Entra AADSTS7500530)");
  if (o.relayState !== undefined) checkRelayState(o.relayState);
  const now = o.now.getTime();
  const notOnOrAfter = formatInstant(now + (o.lifetimeSeconds ?? 300) * 1000);
  const indexes =
    o.sessionIndex === undefined
      ? []
      : typeof o.sessionIndex === "string"
        ? [o.sessionIndex]
        : o.sessionIndex;
  const format = o.nameIdFormat === undefined ? "" : ` Format="${escapeAttr(o.nameIdFormat)}"`;
  const xml =
    `<samlp:LogoutRequest xmlns:samlp="${SAML_PROTOCOL_NS}" xmlns:saml="${SAML_ASSERTION_NS}"` +
    ` ID="${id}" Version="2.0" IssueInstant="${formatInstant(now)}"` +
    ` Destination="${escapeAttr(o.destination)}" NotOnOrAfter="${notOnOrAfter}"` +
    (o.reason === undefined ? "" : ` Reason="${escapeAttr(o.reason)}"`) +
    `><saml:Issuer>${escapeText(o.spEntityId)}</saml:Issuer>` +
    `<saml:NameID${format}>${escapeText(o.nameId)}</saml:NameID>` +
    indexes.map((s) => `<samlp:SessionIndex>${escapeText(s)}</samlp:SessionIndex>`).join("") +
    `</samlp:LogoutRequest>`;
  const query = redirectQuery("SAMLRequest", xml, o.relayState, o.signing);
  return Object.freeze({ id, url: appendQuery(o.destination, query), xml });
}

export interface LogoutResponseOptions {
  readonly id?: string;
  readonly random?: (size: number) => Uint8Array;
  readonly spEntityId: string;
  /** The IdP's logout URL (its ResponseLocation, else Location). */
  readonly destination: string;
  /** The ID of the IdP's LogoutRequest. */
  readonly inResponseTo: string;
  readonly now: Date;
  /** Top-level StatusCode (core 3.2.2.2). Default Success. */
  readonly statusCode?: string;
  /** A second-level StatusCode, e.g. urn:oasis:names:tc:SAML:2.0:status:PartialLogout. */
  readonly subStatusCode?: string;
  readonly statusMessage?: string;
  readonly relayState?: string;
  readonly signing?: RedirectSigning;
}

/** Our LogoutResponse (core 3.7.2) on the HTTP-Redirect binding. */
export function buildLogoutResponse(o: LogoutResponseOptions): BuiltLogoutMessage {
  const id = o.id ?? newRequestId(o.random);
  checkRequestId(id);
  if (o.relayState !== undefined) checkRelayState(o.relayState);
  const top = escapeAttr(o.statusCode ?? STATUS_SUCCESS);
  const codes =
    o.subStatusCode === undefined
      ? `<samlp:StatusCode Value="${top}"/>`
      : `<samlp:StatusCode Value="${top}"><samlp:StatusCode Value="${escapeAttr(o.subStatusCode)}"/></samlp:StatusCode>`;
  const message =
    o.statusMessage === undefined
      ? ""
      : `<samlp:StatusMessage>${escapeText(o.statusMessage)}</samlp:StatusMessage>`;
  const xml =
    `<samlp:LogoutResponse xmlns:samlp="${SAML_PROTOCOL_NS}" xmlns:saml="${SAML_ASSERTION_NS}"` +
    ` ID="${id}" Version="2.0" IssueInstant="${formatInstant(o.now.getTime())}"` +
    ` Destination="${escapeAttr(o.destination)}" InResponseTo="${escapeAttr(o.inResponseTo)}">` +
    `<saml:Issuer>${escapeText(o.spEntityId)}</saml:Issuer>` +
    `<samlp:Status>${codes}${message}</samlp:Status></samlp:LogoutResponse>`;
  const query = redirectQuery("SAMLResponse", xml, o.relayState, o.signing);
  return Object.freeze({ id, url: appendQuery(o.destination, query), xml });
}

// ---------------------------------------------------------------------------------------------
// Validating the IdP's messages.

/** A logout message as it reached us. */
export type LogoutMessageInput =
  | {
      readonly binding: "redirect";
      /** The raw query string as received (never re-encoded: the signature covers its octets). */
      readonly query: string;
    }
  | {
      readonly binding: "post";
      /** The SAMLRequest or SAMLResponse form value (base64). */
      readonly body: string;
      readonly relayState?: string | undefined;
    };

interface LogoutValidationCommon {
  /** The connection's IdP certificates: a signature by any of them is accepted. */
  readonly certificates: readonly TrustedCertificate[];
  /**
   * Issuers accepted, compared exactly. Entra's LogoutResponse Issuer is documented both as
   * https://login.microsoftonline.com/<tenant>/ and https://sts.windows.net/<tenant>/.
   */
  readonly idpEntityIds: readonly string[];
  /** Our Single Logout URL: a Destination, when present, must equal it exactly. */
  readonly sloUrl: string;
  readonly now: Date;
  /** Tolerated clock difference with the IdP, in seconds. Default 180. */
  readonly clockSkewSeconds?: number;
  /** Oldest IssueInstant accepted, in seconds before now (beyond the skew). Default 600. */
  readonly maxAgeSeconds?: number;
  readonly algorithms?: AlgorithmPolicy;
  /** Largest decoded message, in bytes. Default 64 KiB. */
  readonly maxBytes?: number;
  /** Our own query parameters that may appear on the logout URL (Redirect binding). */
  readonly extraParameters?: readonly string[];
}

export interface LogoutRequestValidationOptions extends LogoutValidationCommon {
  /**
   * Default true: a LogoutRequest ends sessions, so we act only on one the IdP signed. Turning
   * this off lets anyone who can send a browser to our logout URL log users out.
   */
  readonly requireSignature?: boolean;
}

export interface LogoutResponseValidationOptions extends LogoutValidationCommon {
  /** The ID of the LogoutRequest we sent (and bound to this browser). */
  readonly expectedInResponseTo: string;
  /**
   * Required, no default: Entra does not sign its LogoutResponses reliably, so this is the
   * connection's explicit choice. A signature that is present is verified either way.
   */
  readonly requireSignature: boolean;
}

declare const logoutRequestBrand: unique symbol;
declare const logoutResponseBrand: unique symbol;

interface VerifiedLogoutCommon {
  readonly id: string;
  readonly issuer: string;
  readonly issueInstant: Date;
  readonly destination: string | undefined;
  readonly relayState: string | undefined;
  readonly binding: "redirect" | "post";
  readonly signed: boolean;
  /** SHA-256 fingerprint of the configured certificate that verified the signature. */
  readonly certificateFingerprint: string | undefined;
}

/** An IdP LogoutRequest that passed every check. Only validateLogoutRequest produces one. */
export interface VerifiedLogoutRequest extends VerifiedLogoutCommon {
  readonly [logoutRequestBrand]: true;
  /** The NameID as sent; Entra's has no Format and may differ from the one at login. */
  readonly nameId: string;
  readonly nameIdFormat: string | undefined;
  /** Every SessionIndex, in order: find the sessions to end by these (Entra: Assertion IDs). */
  readonly sessionIndexes: readonly string[];
  readonly notOnOrAfter: Date | undefined;
  readonly reason: string | undefined;
}

/** An IdP LogoutResponse that passed every check. Only validateLogoutResponse produces one. */
export interface VerifiedLogoutResponse extends VerifiedLogoutCommon {
  readonly [logoutResponseBrand]: true;
  readonly inResponseTo: string;
  /** True when the top-level StatusCode is Success. */
  readonly success: boolean;
  /** The StatusCode values, outermost first. */
  readonly statusCodes: readonly string[];
  readonly statusMessage: string | undefined;
}

const DEFAULT_MAX_BYTES = 64 * 1024;
const DEFAULT_SKEW_SECONDS = 180;
const DEFAULT_MAX_AGE_SECONDS = 600;
const issued = new WeakSet<object>();

export function isVerifiedLogoutRequest(value: unknown): value is VerifiedLogoutRequest {
  return (
    typeof value === "object" && value !== null && issued.has(value) && "sessionIndexes" in value
  );
}

export function isVerifiedLogoutResponse(value: unknown): value is VerifiedLogoutResponse {
  return (
    typeof value === "object" && value !== null && issued.has(value) && "inResponseTo" in value
  );
}

/** Validates the IdP's LogoutRequest (core 3.7.1, profiles 4.4.4.1). */
export function validateLogoutRequest(
  input: LogoutMessageInput,
  o: LogoutRequestValidationOptions,
): VerifiedLogoutRequest {
  const m = openMessage(input, "LogoutRequest", o, o.requireSignature !== false);
  const root = m.root;
  const header = checkHeader(root, o, "LogoutRequest");
  const now = o.now.getTime();
  const skew = (o.clockSkewSeconds ?? DEFAULT_SKEW_SECONDS) * 1000;

  const noaAttr = attr(root, "NotOnOrAfter");
  const notOnOrAfter =
    noaAttr === undefined ? undefined : instant(noaAttr, "LogoutRequest NotOnOrAfter");
  if (notOnOrAfter !== undefined && now - skew >= notOnOrAfter) {
    throw new SamlError("logout_invalid", {
      field: "LogoutRequest NotOnOrAfter",
      expected: `after ${o.now.toISOString()} (-${skew / 1000}s skew)`,
      received: noaAttr,
    });
  }

  // Exactly one identifier (core 3.7.1: BaseID, NameID or EncryptedID); we read NameID only.
  for (const other of ["BaseID", "EncryptedID"]) {
    if (child(root, SAML_ASSERTION_NS, other) !== undefined) {
      throw new SamlError("logout_invalid", {
        field: `LogoutRequest ${other}`,
        expected: "NameID",
        received: other,
        note: "only a plain NameID is supported",
      });
    }
  }
  const nameIds = children(root, SAML_ASSERTION_NS, "NameID");
  if (nameIds.length !== 1) {
    throw new SamlError("logout_invalid", {
      field: "LogoutRequest NameID",
      expected: "exactly one NameID",
      received: String(nameIds.length),
    });
  }
  const nameId = identifierText(nameIds[0]!, "LogoutRequest NameID");
  if (nameId === "") {
    throw new SamlError("logout_invalid", { field: "LogoutRequest NameID", note: "empty" });
  }
  const sessionIndexes = children(root, SAML_PROTOCOL_NS, "SessionIndex").map((el) =>
    identifierText(el, "LogoutRequest SessionIndex"),
  );

  const result = Object.freeze({
    ...header,
    relayState: m.relayState,
    binding: input.binding,
    signed: m.certificateFingerprint !== undefined,
    certificateFingerprint: m.certificateFingerprint,
    nameId,
    nameIdFormat: attr(nameIds[0]!, "Format"),
    sessionIndexes: Object.freeze(sessionIndexes),
    notOnOrAfter: notOnOrAfter === undefined ? undefined : new Date(notOnOrAfter),
    reason: attr(root, "Reason"),
  }) as unknown as VerifiedLogoutRequest;
  issued.add(result);
  return result;
}

/** Validates the IdP's LogoutResponse to our LogoutRequest (core 3.7.2, profiles 4.4.4.2). */
export function validateLogoutResponse(
  input: LogoutMessageInput,
  o: LogoutResponseValidationOptions,
): VerifiedLogoutResponse {
  if (typeof o.requireSignature !== "boolean") {
    throw new TypeError("requireSignature must be given explicitly for LogoutResponses");
  }
  const m = openMessage(input, "LogoutResponse", o, o.requireSignature);
  const root = m.root;
  const header = checkHeader(root, o, "LogoutResponse");

  // InResponseTo: required here, and exactly the request this browser sent (core 3.2.2).
  const inResponseTo = attr(root, "InResponseTo");
  if (inResponseTo !== o.expectedInResponseTo) {
    throw new SamlError("logout_invalid", {
      field: "LogoutResponse InResponseTo",
      expected: o.expectedInResponseTo,
      received: inResponseTo,
    });
  }

  const status = child(root, SAML_PROTOCOL_NS, "Status");
  if (status === undefined) {
    throw new SamlError("logout_invalid", { field: "LogoutResponse Status", note: "missing" });
  }
  const statusCodes: string[] = [];
  for (
    let code = child(status, SAML_PROTOCOL_NS, "StatusCode");
    code !== undefined;
    code = child(code, SAML_PROTOCOL_NS, "StatusCode")
  ) {
    const value = attr(code, "Value");
    if (value === undefined || value === "") {
      throw new SamlError("logout_invalid", { field: "StatusCode Value", note: "missing" });
    }
    statusCodes.push(value);
  }
  if (statusCodes.length === 0) {
    throw new SamlError("logout_invalid", { field: "LogoutResponse StatusCode", note: "missing" });
  }
  const messageEl = child(status, SAML_PROTOCOL_NS, "StatusMessage");

  const result = Object.freeze({
    ...header,
    relayState: m.relayState,
    binding: input.binding,
    signed: m.certificateFingerprint !== undefined,
    certificateFingerprint: m.certificateFingerprint,
    inResponseTo,
    // A failed logout at the IdP is reported, not thrown: the local logout must go on regardless
    // (ENTRA.md: never let Entra's behaviour block the local logout).
    success: statusCodes[0] === STATUS_SUCCESS,
    statusCodes: Object.freeze(statusCodes),
    statusMessage: messageEl === undefined ? undefined : directText(messageEl),
  }) as unknown as VerifiedLogoutResponse;
  issued.add(result);
  return result;
}

interface OpenedMessage {
  readonly root: XmlElement;
  readonly relayState: string | undefined;
  readonly certificateFingerprint: string | undefined;
}

/** Decodes the binding, checks the root element, verifies the signature. */
function openMessage(
  input: LogoutMessageInput,
  local: "LogoutRequest" | "LogoutResponse",
  o: LogoutValidationCommon,
  requireSignature: boolean,
): OpenedMessage {
  const maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES;
  const policy = o.algorithms ?? {};
  const parameter = local === "LogoutRequest" ? "SAMLRequest" : "SAMLResponse";

  if (input.binding === "redirect") {
    const verified = verifyRedirectQuery(input.query, o.certificates, policy, {
      requireSignature,
      maxBytes,
      extraParameters: o.extraParameters,
    });
    if (verified.type !== parameter) {
      throw new SamlError("logout_invalid", {
        field: "query string",
        expected: parameter,
        received: verified.type,
      });
    }
    const root = parseXml(verified.xml);
    checkRoot(root, local);
    // Bindings 3.4.4.1: any XML signature MUST be removed before Redirect encoding. One left in
    // place is unverifiable here and is refused rather than ignored.
    if (signatureChildren(root).length > 0) {
      throw new SamlError("logout_invalid", {
        field: `${local} Signature`,
        note: "an XML Signature is not allowed in a Redirect-binding message (bindings 3.4.4.1)",
      });
    }
    return {
      root,
      relayState: verified.relayState,
      certificateFingerprint: verified.signature?.certificate.fingerprint256,
    };
  }

  const root = parseXml(decodeMessage(input.body, maxBytes));
  checkRoot(root, local);
  checkUniqueIds(root);
  const signatures = signatureChildren(root);
  if (signatures.length > 1) {
    throw new SamlError("signature_reference_invalid", {
      note: `several Signatures on the ${local}`,
    });
  }
  let certificateFingerprint: string | undefined;
  if (signatures.length === 1) {
    // The Reference must name this message's own ID: verifyEnvelopedSignature pins it.
    certificateFingerprint = verifyEnvelopedSignature(root, signatures[0]!, o.certificates, policy)
      .certificate.fingerprint256;
  } else if (requireSignature) {
    throw new SamlError("logout_invalid", {
      field: `${local} Signature`,
      expected: "an enveloped XML Signature (POST binding)",
      received: "an unsigned message",
    });
  }
  return { root, relayState: input.relayState, certificateFingerprint };
}

function checkRoot(root: XmlElement, local: string): void {
  if (root.ns !== SAML_PROTOCOL_NS || root.local !== local) {
    throw new SamlError("logout_invalid", {
      field: "root element",
      expected: `samlp:${local}`,
      received: `{${root.ns}}${root.local}`,
    });
  }
}

/** ID, Version, IssueInstant, Destination, Issuer (core 3.2.1, 3.2.2; profiles 4.4.4). */
function checkHeader(
  root: XmlElement,
  o: LogoutValidationCommon,
  local: string,
): { id: string; issuer: string; issueInstant: Date; destination: string | undefined } {
  const id = attr(root, "ID");
  if (id === undefined || id === "") {
    throw new SamlError("logout_invalid", { field: `${local} ID`, note: "missing" });
  }
  const version = attr(root, "Version");
  if (version !== "2.0") {
    throw new SamlError("logout_invalid", {
      field: `${local} Version`,
      expected: "2.0",
      received: version,
    });
  }
  const issueAttr = attr(root, "IssueInstant");
  const issueInstant = instant(issueAttr, `${local} IssueInstant`);
  const now = o.now.getTime();
  const skew = (o.clockSkewSeconds ?? DEFAULT_SKEW_SECONDS) * 1000;
  const maxAge = (o.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS) * 1000;
  if (issueInstant > now + skew) {
    throw new SamlError("logout_invalid", {
      field: `${local} IssueInstant`,
      expected: `at or before ${o.now.toISOString()} (+${skew / 1000}s skew)`,
      received: issueAttr,
      note: "issued in the future: synchronise this server's clock (NTP)",
    });
  }
  if (issueInstant < now - skew - maxAge) {
    throw new SamlError("logout_invalid", {
      field: `${local} IssueInstant`,
      expected: `at most ${(skew + maxAge) / 1000}s before ${o.now.toISOString()}`,
      received: issueAttr,
      note: "too old: a logout message is delivered at once",
    });
  }

  // Destination (bindings 3.4.5.2, 3.5.5.2): when present, exactly our logout URL.
  const destination = attr(root, "Destination");
  if (destination !== undefined && destination !== o.sloUrl) {
    throw new SamlError("logout_invalid", {
      field: `${local} Destination`,
      expected: o.sloUrl,
      received: destination,
    });
  }

  // Issuer: MUST be present (profiles 4.4.4.1, 4.4.4.2), entity format, one of the accepted.
  const issuerEl = child(root, SAML_ASSERTION_NS, "Issuer");
  if (issuerEl === undefined) {
    throw new SamlError("logout_invalid", {
      field: `${local} Issuer`,
      expected: o.idpEntityIds.join(" or "),
      note: "missing",
    });
  }
  const format = attr(issuerEl, "Format");
  if (format !== undefined && format !== NAMEID_FORMAT.entity) {
    throw new SamlError("logout_invalid", {
      field: `${local} Issuer Format`,
      expected: NAMEID_FORMAT.entity,
      received: format,
    });
  }
  const issuer = identifierText(issuerEl, `${local} Issuer`);
  if (!o.idpEntityIds.includes(issuer)) {
    throw new SamlError("logout_invalid", {
      field: `${local} Issuer`,
      expected: o.idpEntityIds.join(" or ") || "(no IdP entity ID configured)",
      received: issuer,
    });
  }
  return { id, issuer, issueInstant: new Date(issueInstant), destination };
}

function instant(value: string | undefined, field: string): number {
  try {
    return parseInstant(value, field);
  } catch (e) {
    if (e instanceof SamlError) throw new SamlError("logout_invalid", e.detail);
    throw e;
  }
}

/** Text of an identifier element: comments, child elements and padding are refused. */
function identifierText(el: XmlElement, field: string): string {
  let text = "";
  for (const c of el.children) {
    if (c.type === "comment") {
      throw new SamlError("signed_value_tampered", { field, note: "contains a comment" });
    }
    if (c.type === "element") {
      throw new SamlError("signed_value_tampered", {
        field,
        note: `contains an element (${c.local})`,
      });
    }
    text += c.value;
  }
  if (text !== text.trim()) {
    throw new SamlError("signed_value_tampered", {
      field,
      received: text,
      note: "surrounded by whitespace",
    });
  }
  return text;
}

function checkUniqueIds(root: XmlElement): void {
  const seen = new Set<string>();
  for (const el of descendants(root)) {
    for (const a of el.attributes) {
      if (a.ns !== "" || (a.local !== "ID" && a.local !== "Id")) continue;
      if (seen.has(a.value)) throw new SamlError("duplicate_id", { received: a.value });
      seen.add(a.value);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Reading without trust (the mock IdP answering our LogoutRequest, `gatehouse inspect`).

export interface ParsedLogoutRequest {
  readonly id: string;
  readonly issuer: string | undefined;
  readonly destination: string | undefined;
  readonly nameId: string | undefined;
  readonly nameIdFormat: string | undefined;
  readonly sessionIndexes: readonly string[];
}

/** Reads a LogoutRequest's XML with no check beyond its shape. Never use it to end sessions. */
export function parseLogoutRequest(xml: string): ParsedLogoutRequest {
  const root = parseXml(xml);
  checkRoot(root, "LogoutRequest");
  const id = attr(root, "ID");
  if (id === undefined || id === "") {
    throw new SamlError("logout_invalid", { field: "LogoutRequest ID", note: "missing" });
  }
  const issuerEl = child(root, SAML_ASSERTION_NS, "Issuer");
  const nameIdEl = child(root, SAML_ASSERTION_NS, "NameID");
  return Object.freeze({
    id,
    issuer: issuerEl === undefined ? undefined : directText(issuerEl),
    destination: attr(root, "Destination"),
    nameId: nameIdEl === undefined ? undefined : directText(nameIdEl),
    nameIdFormat: nameIdEl === undefined ? undefined : attr(nameIdEl, "Format"),
    sessionIndexes: Object.freeze(children(root, SAML_PROTOCOL_NS, "SessionIndex").map(directText)),
  });
}

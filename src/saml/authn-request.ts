/**
 * The AuthnRequest we send (saml-core-2.0-os 3.4.1) on the HTTP-Redirect binding
 * (saml-bindings-2.0-os 3.4), shaped for what Entra ID accepts (ENTRA.md, AuthnRequest), and a
 * reader of AuthnRequests for the mock IdP and `gatehouse inspect`.
 */

import { type KeyObject, randomBytes } from "node:crypto";
import type { SignatureAlgorithm } from "./algorithms.ts";
import { SamlError } from "./errors.ts";
import { BINDING, NAMEID_FORMAT, SAML_ASSERTION_NS, SAML_PROTOCOL_NS } from "./namespaces.ts";
import { encodeRedirectMessage } from "./redirect.ts";
import { percentEncode, signRedirectQuery, unsignedRedirectQuery } from "./redirect-signature.ts";
import { formatInstant, parseInstant } from "./time.ts";
import { escapeAttr, escapeText } from "./xml/c14n.ts";
import { type ParseLimits, parseXml } from "./xml/parse.ts";
import { attr, child, directText, type XmlElement } from "./xml/tree.ts";

/** The NameIDPolicy formats Entra honours; any other fails at Entra with AADSTS75016. */
export const REQUESTABLE_NAMEID_FORMATS = Object.freeze({
  persistent: NAMEID_FORMAT.persistent,
  emailAddress: NAMEID_FORMAT.emailAddress,
  unspecified: NAMEID_FORMAT.unspecified,
  transient: NAMEID_FORMAT.transient,
});
export type RequestableNameIdFormat = keyof typeof REQUESTABLE_NAMEID_FORMATS;

export interface AuthnRequestOptions {
  /** Override the ID (deterministic fixtures). Must be an NCName not starting with a digit. */
  readonly id?: string;
  /** Our entity ID ("Identifier" in Entra): the Issuer, compared exactly by Entra. */
  readonly spEntityId: string;
  /** Our ACS URL ("Reply URL"): must equal a registered Reply URL exactly. */
  readonly acsUrl: string;
  /** The IdP's single sign-on URL (Entra: https://login.microsoftonline.com/<tenant>/saml2). */
  readonly destination: string;
  readonly now: Date;
  readonly forceAuthn?: boolean;
  readonly isPassive?: boolean;
  /** A short name or the full URI of persistent, emailAddress, unspecified or transient. */
  readonly nameIdFormat?: RequestableNameIdFormat | string;
  /** The user's email, sent as login_hint on the SSO URL (never as a Subject). */
  readonly loginHint?: string;
  /** At most 80 bytes (bindings 3.4.3). */
  readonly relayState?: string;
  readonly signing?: { readonly privateKey: KeyObject; readonly algorithm?: SignatureAlgorithm };
  /** The random source for the ID; default node:crypto randomBytes. */
  readonly random?: (size: number) => Uint8Array;
}

export interface BuiltRedirectMessage {
  readonly id: string;
  /** The URL to redirect the browser to. */
  readonly url: string;
  readonly xml: string;
}

/**
 * Builds an AuthnRequest and the Redirect-binding URL carrying it. Throws TypeError on a
 * programming or configuration error (these are caught when a connection is saved, never sent).
 */
export function buildAuthnRequest(o: AuthnRequestOptions): BuiltRedirectMessage {
  const id = o.id ?? newRequestId(o.random);
  checkRequestId(id);
  requireNonEmpty(o.spEntityId, "spEntityId");
  requireAbsoluteUrl(o.acsUrl, "acsUrl");
  requireAbsoluteUrl(o.destination, "destination");
  if (o.relayState !== undefined) checkRelayState(o.relayState);

  let nameIdPolicy = "";
  if (o.nameIdFormat !== undefined) {
    nameIdPolicy = `<samlp:NameIDPolicy Format="${escapeAttr(requestableFormat(o.nameIdFormat))}"/>`;
  }
  // Attribute order and content follow Entra's documented sample. No Subject (Entra refuses it),
  // no RequestedAuthnContext (AADSTS75011 risk), ProtocolBinding HTTP-POST (the only binding
  // our ACS accepts, profiles 4.1.4.1).
  const xml =
    `<samlp:AuthnRequest xmlns:samlp="${SAML_PROTOCOL_NS}" xmlns:saml="${SAML_ASSERTION_NS}"` +
    ` ID="${id}" Version="2.0" IssueInstant="${formatInstant(o.now.getTime())}"` +
    ` Destination="${escapeAttr(o.destination)}"` +
    ` AssertionConsumerServiceURL="${escapeAttr(o.acsUrl)}"` +
    ` ProtocolBinding="${BINDING.post}"` +
    (o.forceAuthn === true ? ` ForceAuthn="true"` : "") +
    (o.isPassive === true ? ` IsPassive="true"` : "") +
    `><saml:Issuer>${escapeText(o.spEntityId)}</saml:Issuer>${nameIdPolicy}</samlp:AuthnRequest>`;

  let query = redirectQuery("SAMLRequest", xml, o.relayState, o.signing);
  // login_hint lies outside the signed part of the query (bindings 3.4.4.1 signs only the SAML
  // parameters), which is what Entra expects.
  if (o.loginHint !== undefined && o.loginHint !== "") {
    query += `&login_hint=${percentEncode(o.loginHint)}`;
  }
  return Object.freeze({ id, url: appendQuery(o.destination, query), xml });
}

/** "_" + 32 hex digits: 128 random bits, never starting with a digit (AADSTS7500529). */
export function newRequestId(random: (size: number) => Uint8Array = randomBytes): string {
  return `_${Buffer.from(random(16)).toString("hex")}`;
}

/**
 * The query of a Redirect-binding message (shared with logout): deflate and base64 the XML,
 * then sign the query when a key is given.
 */
export function redirectQuery(
  type: "SAMLRequest" | "SAMLResponse",
  xml: string,
  relayState: string | undefined,
  signing: { readonly privateKey: KeyObject; readonly algorithm?: SignatureAlgorithm } | undefined,
): string {
  const message = encodeRedirectMessage(xml);
  if (signing === undefined) return unsignedRedirectQuery(type, message, relayState);
  return signRedirectQuery({
    type,
    message,
    relayState,
    privateKey: signing.privateKey,
    algorithm: signing.algorithm ?? "rsa-sha256",
  });
}

/**
 * Appends our query to an endpoint URL that may already carry one (Entra's SSO URL can end in
 * "?appid=..."), without touching what is there.
 */
export function appendQuery(endpoint: string, query: string): string {
  if (endpoint.includes("#")) {
    throw new TypeError(`the endpoint URL must not contain a fragment: ${endpoint}`);
  }
  const q = endpoint.indexOf("?");
  if (q === -1) return `${endpoint}?${query}`;
  for (const part of endpoint.slice(q + 1).split("&")) {
    const name = part.split("=")[0];
    if (
      name === "SAMLRequest" ||
      name === "SAMLResponse" ||
      name === "RelayState" ||
      name === "SigAlg" ||
      name === "Signature"
    ) {
      throw new TypeError(`the endpoint URL already carries ${name}: ${endpoint}`);
    }
  }
  const sep = endpoint.endsWith("?") || endpoint.endsWith("&") ? "" : "&";
  return `${endpoint}${sep}${query}`;
}

export function checkRequestId(id: string): void {
  // xs:ID is an NCName; Entra further refuses an ID starting with a digit (AADSTS7500529).
  if (!/^[A-Za-z_][A-Za-z0-9._-]*$/.test(id)) {
    throw new TypeError(
      `a SAML request ID must be an NCName starting with a letter or "_" (Entra AADSTS7500529): ${JSON.stringify(id)}`,
    );
  }
}

export function checkRelayState(relayState: string): void {
  // Bindings 3.4.3 and 3.5.3: RelayState MUST NOT exceed 80 bytes.
  const bytes = Buffer.byteLength(relayState, "utf8");
  if (bytes > 80) {
    throw new TypeError(`RelayState must be at most 80 bytes (bindings 3.4.3); got ${bytes}`);
  }
}

function requestableFormat(format: string): string {
  const short = REQUESTABLE_NAMEID_FORMATS[format as RequestableNameIdFormat];
  if (short !== undefined) return short;
  if ((Object.values(REQUESTABLE_NAMEID_FORMATS) as string[]).includes(format)) return format;
  throw new TypeError(
    `NameIDPolicy format ${JSON.stringify(format)} is not one Entra accepts (AADSTS75016); use persistent, emailAddress, unspecified or transient`,
  );
}

function requireNonEmpty(value: string, name: string): void {
  if (typeof value !== "string" || value === "") throw new TypeError(`${name} is required`);
}

function requireAbsoluteUrl(value: string, name: string): void {
  requireNonEmpty(value, name);
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new TypeError(`${name} must be an absolute URL: ${JSON.stringify(value)}`);
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new TypeError(`${name} must be an http(s) URL: ${JSON.stringify(value)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Reading (the mock IdP, `gatehouse inspect`). No trust is placed in what is read here.

export interface ParsedAuthnRequest {
  readonly id: string;
  readonly issuer: string;
  readonly issueInstant: Date;
  readonly destination: string | undefined;
  readonly acsUrl: string | undefined;
  readonly protocolBinding: string | undefined;
  readonly forceAuthn: boolean;
  readonly isPassive: boolean;
  readonly nameIdFormat: string | undefined;
  /** Present when the request carries a Subject (Entra refuses those). */
  readonly hasSubject: boolean;
}

/** Reads an AuthnRequest's XML. Refusals: the XML codes, and schema_invalid for the shape. */
export function parseAuthnRequest(xml: string, limits?: ParseLimits): ParsedAuthnRequest {
  const root = parseXml(xml, limits);
  if (root.ns !== SAML_PROTOCOL_NS || root.local !== "AuthnRequest") {
    throw new SamlError("schema_invalid", {
      field: "root element",
      expected: "samlp:AuthnRequest",
      received: `{${root.ns}}${root.local}`,
    });
  }
  const id = attr(root, "ID");
  if (id === undefined || id === "") {
    throw new SamlError("schema_invalid", { field: "AuthnRequest ID", note: "missing" });
  }
  const version = attr(root, "Version");
  if (version !== "2.0") {
    throw new SamlError("schema_invalid", {
      field: "AuthnRequest Version",
      expected: "2.0",
      received: version,
    });
  }
  const issueInstant = parseInstant(attr(root, "IssueInstant"), "AuthnRequest IssueInstant");
  const issuerEl = child(root, SAML_ASSERTION_NS, "Issuer");
  if (issuerEl === undefined) {
    throw new SamlError("schema_invalid", { field: "AuthnRequest Issuer", note: "missing" });
  }
  const policy = child(root, SAML_PROTOCOL_NS, "NameIDPolicy");
  return Object.freeze({
    id,
    issuer: directText(issuerEl),
    issueInstant: new Date(issueInstant),
    destination: attr(root, "Destination"),
    acsUrl: attr(root, "AssertionConsumerServiceURL"),
    protocolBinding: attr(root, "ProtocolBinding"),
    forceAuthn: xsBoolean(root, "ForceAuthn"),
    isPassive: xsBoolean(root, "IsPassive"),
    nameIdFormat: policy === undefined ? undefined : attr(policy, "Format"),
    hasSubject: child(root, SAML_ASSERTION_NS, "Subject") !== undefined,
  });
}

function xsBoolean(el: XmlElement, name: string): boolean {
  const v = attr(el, name);
  if (v === undefined || v === "false" || v === "0") return false;
  if (v === "true" || v === "1") return true;
  throw new SamlError("schema_invalid", {
    field: `AuthnRequest ${name}`,
    expected: "true, false, 1 or 0 (xs:boolean)",
    received: v,
  });
}

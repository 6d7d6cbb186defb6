/**
 * Single Logout as Microsoft Entra ID performs it (ENTRA.md, Single Logout): HTTP-Redirect only;
 * its LogoutResponse unsigned; its own LogoutRequest (the user signed out elsewhere) signed over
 * a query string written with LOWERCASE percent-encoding (%2f, %3d), NameID without Format,
 * SessionIndex = the Assertion ID of the login.
 *
 * The query signing here is deliberately independent of src/saml/redirect-signature.ts, so the
 * SP's verifier is tested against a second implementation and Entra's encoding.
 */

import { type KeyObject, sign } from "node:crypto";
import { inflateRawSync } from "node:zlib";
import { SIGNATURE_METHOD_URI } from "../saml/algorithms.ts";
import { encodeRedirectMessage } from "../saml/redirect.ts";
import { escapeAttr, escapeText } from "../saml/xml/c14n.ts";
import { entraId, entraIssuer } from "./response.ts";

const PROTOCOL_NS = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS = "urn:oasis:names:tc:SAML:2.0:assertion";
const STATUS_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";

/** The Issuer Entra's logout messages carry: documented both ways (ENTRA.md). */
export function entraLogoutIssuer(tenantId: string, style: "login" | "sts" = "login"): string {
  return style === "sts" ? entraIssuer(tenantId) : `https://login.microsoftonline.com/${tenantId}/`;
}

/** Percent-encoding as Entra writes it: every reserved byte escaped, hex digits lowercase. */
export function lowercasePercentEncode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`)
    .replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase());
}

export interface EntraLogoutResponseOptions {
  readonly tenantId: string;
  /** The app's Logout URL, where Entra redirects the browser. */
  readonly destination: string;
  /** The ID of the SP's LogoutRequest. */
  readonly inResponseTo: string;
  readonly now: Date;
  readonly id?: string;
  /** "login" (default, as in Microsoft's sample), "sts", or an explicit Issuer. */
  readonly issuer?: "login" | "sts" | { readonly value: string };
  readonly statusCode?: string;
  readonly relayState?: string;
  /** Entra does not sign it; given a key, sign the query (RSA-SHA256, lowercase encoding). */
  readonly signingKey?: KeyObject;
  /** Entra's sample has no Destination; set true to add one. */
  readonly includeDestination?: boolean;
}

export interface EntraRedirect {
  readonly id: string;
  readonly xml: string;
  /** The query string, without "?". */
  readonly query: string;
  readonly url: string;
}

/** Entra's LogoutResponse, as the GET redirect it sends to the app's Logout URL. */
export function buildEntraLogoutResponse(o: EntraLogoutResponseOptions): EntraRedirect {
  const id = o.id ?? entraId();
  const issuer = issuerOf(o.tenantId, o.issuer);
  const destination =
    o.includeDestination === true ? ` Destination="${escapeAttr(o.destination)}"` : "";
  // Shape of Microsoft's documented sample (single-sign-out-saml-protocol.md).
  const xml =
    `<samlp:LogoutResponse ID="${id}" Version="2.0" IssueInstant="${o.now.toISOString()}"${destination} InResponseTo="${escapeAttr(o.inResponseTo)}" xmlns:samlp="${PROTOCOL_NS}">` +
    `<Issuer xmlns="${ASSERTION_NS}">${escapeText(issuer)}</Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${escapeAttr(o.statusCode ?? STATUS_SUCCESS)}"/></samlp:Status>` +
    `</samlp:LogoutResponse>`;
  const query = entraRedirectQuery("SAMLResponse", xml, o.relayState, o.signingKey);
  return Object.freeze({ id, xml, query, url: join(o.destination, query) });
}

export interface EntraLogoutRequestOptions {
  readonly tenantId: string;
  /** The app's Logout URL. */
  readonly destination: string;
  /** The NameID Entra puts here: no Format, and not necessarily the one sent at login. */
  readonly nameId: string;
  /** The Assertion ID of the login (Entra's SessionIndex). */
  readonly sessionIndex: string;
  readonly now: Date;
  readonly signingKey: KeyObject;
  readonly id?: string;
  readonly issuer?: "login" | "sts" | { readonly value: string };
  readonly relayState?: string;
  /** Default true. */
  readonly includeDestination?: boolean;
  /** Sign nothing (to test that the SP refuses it). */
  readonly unsigned?: boolean;
}

/** Entra's IdP-initiated LogoutRequest, as the signed GET it sends to the app's Logout URL. */
export function buildEntraLogoutRequest(o: EntraLogoutRequestOptions): EntraRedirect {
  const id = o.id ?? entraId();
  const issuer = issuerOf(o.tenantId, o.issuer ?? "sts");
  const destination =
    o.includeDestination === false ? "" : ` Destination="${escapeAttr(o.destination)}"`;
  const xml =
    `<samlp:LogoutRequest ID="${id}" Version="2.0" IssueInstant="${o.now.toISOString()}"${destination} xmlns:samlp="${PROTOCOL_NS}">` +
    `<Issuer xmlns="${ASSERTION_NS}">${escapeText(issuer)}</Issuer>` +
    `<NameID xmlns="${ASSERTION_NS}">${escapeText(o.nameId)}</NameID>` +
    `<samlp:SessionIndex>${escapeText(o.sessionIndex)}</samlp:SessionIndex>` +
    `</samlp:LogoutRequest>`;
  const query = entraRedirectQuery(
    "SAMLRequest",
    xml,
    o.relayState,
    o.unsigned === true ? undefined : o.signingKey,
  );
  return Object.freeze({ id, xml, query, url: join(o.destination, query) });
}

/** What the mock IdP reads from the SP's LogoutRequest query: enough to answer it. */
export function readSpLogoutQuery(rawQuery: string): {
  xml: string;
  relayState: string | undefined;
} {
  const params = new URLSearchParams(rawQuery.startsWith("?") ? rawQuery.slice(1) : rawQuery);
  const message = params.get("SAMLRequest");
  if (message === null) throw new Error("no SAMLRequest in the query");
  const xml = inflateRawSync(Buffer.from(message, "base64"), {
    maxOutputLength: 64 * 1024,
  }).toString("utf8");
  return { xml, relayState: params.get("RelayState") ?? undefined };
}

/** A Redirect-binding query as Entra writes it: lowercase escapes, RSA-SHA256 when a key is given. */
export function entraRedirectQuery(
  type: "SAMLRequest" | "SAMLResponse",
  xml: string,
  relayState: string | undefined,
  key: KeyObject | undefined,
): string {
  let q = `${type}=${lowercasePercentEncode(encodeRedirectMessage(xml))}`;
  if (relayState !== undefined) q += `&RelayState=${lowercasePercentEncode(relayState)}`;
  if (key === undefined) return q;
  q += `&SigAlg=${lowercasePercentEncode(SIGNATURE_METHOD_URI["rsa-sha256"])}`;
  const signature = sign("sha256", Buffer.from(q, "utf8"), key).toString("base64");
  return `${q}&Signature=${lowercasePercentEncode(signature)}`;
}

function issuerOf(tenantId: string, issuer: EntraLogoutResponseOptions["issuer"]): string {
  if (typeof issuer === "object") return issuer.value;
  return entraLogoutIssuer(tenantId, issuer ?? "login");
}

function join(endpoint: string, query: string): string {
  return `${endpoint}${endpoint.includes("?") ? "&" : "?"}${query}`;
}

/**
 * Validation of a SAML 2.0 Response received on the HTTP-POST binding, under the Web Browser SSO
 * profile (saml-profiles-2.0-os 4.1). Pure: every input, the clock and the replay store included,
 * is an argument.
 *
 * What is verified is exactly what is used: the claims are read from the Assertion element whose
 * digest was checked (or from inside the Response element whose digest was checked), the same
 * object in the same tree, never found again by a second search.
 */

import type { KeyObject } from "node:crypto";
import { type AlgorithmPolicy, DSIG_NS } from "./algorithms.ts";
import type { TrustedCertificate } from "./certs.ts";
import { signatureChildren, verifyEnvelopedSignature } from "./dsig.ts";
import { SamlError } from "./errors.ts";
import { decodeMessage } from "./message.ts";
import {
  CLAIM_EMAILADDRESS,
  CM_BEARER,
  NAMEID_FORMAT,
  SAML_ASSERTION_NS,
  SAML_PROTOCOL_NS,
  STATUS_SUCCESS,
} from "./namespaces.ts";
import { parseInstant } from "./time.ts";
import { parseXml } from "./xml/parse.ts";
import {
  attr,
  child,
  childElements,
  children,
  descendants,
  directText,
  type XmlElement,
} from "./xml/tree.ts";
import { cbcContentFailure, decryptAssertion } from "./xmlenc.ts";

/** Single-use store for Assertion IDs (profiles 4.1.4.5). */
export interface ReplayCache {
  /**
   * Records `key` until `expiresAt`. Returns true when it was not there (first use), false when
   * it was (a replay). Must be atomic across every instance sharing the store.
   */
  consume(key: string, expiresAt: Date): boolean | Promise<boolean>;
}

export interface ResponseValidationOptions {
  /** The connection's IdP certificates: a signature by any of them is accepted. */
  readonly idpCertificates: readonly TrustedCertificate[];
  /** The IdP's entity ID, compared exactly with every Issuer. */
  readonly idpEntityId: string;
  /** Our entity ID ("Identifier" in Entra), compared exactly with the Audience. */
  readonly spEntityId: string;
  /** Our ACS URL ("Reply URL" in Entra), compared exactly with Destination and Recipient. */
  readonly acsUrl: string;
  /** The ID of the AuthnRequest this browser has outstanding, if any. */
  readonly expectedRequestId?: string | undefined;
  /** Accept a Response with no InResponseTo (IdP-initiated: My Apps, Entra's Test button). */
  readonly allowUnsolicited?: boolean;
  readonly now: Date;
  /** Tolerated clock difference with the IdP, in seconds. Default 180. */
  readonly clockSkewSeconds?: number;
  readonly algorithms?: AlgorithmPolicy;
  /** Private keys for EncryptedAssertion (try each). */
  readonly spDecryptionKeys?: readonly KeyObject[];
  readonly replayCache: ReplayCache;
  /** Largest decoded message accepted, in bytes. Default 256 KiB. */
  readonly maxBytes?: number;
  /** Stricter than the default "Response or Assertion signed": also demand these. */
  readonly requireSignedAssertion?: boolean;
  readonly requireSignedResponse?: boolean;
}

declare const verifiedBrand: unique symbol;

/** A Response that passed every check. Only validateResponse can produce one. */
export interface VerifiedResponse {
  readonly [verifiedBrand]: true;
  readonly responseId: string;
  readonly assertionId: string;
  readonly issuer: string;
  readonly inResponseTo: string | undefined;
  readonly nameId: string;
  readonly nameIdFormat: string | undefined;
  readonly sessionIndex: string | undefined;
  /** Every attribute by Name, every value in order. */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
  /** The emailaddress claim, else the NameID when its format is emailAddress. */
  readonly email: string | undefined;
  readonly authnInstant: Date;
  readonly authnContextClassRef: string | undefined;
  readonly sessionNotOnOrAfter: Date | undefined;
  readonly notBefore: Date | undefined;
  readonly notOnOrAfter: Date;
  readonly signed: { readonly response: boolean; readonly assertion: boolean };
  readonly encrypted: boolean;
  /** SHA-256 fingerprint of the configured certificate that verified the signature. */
  readonly certificateFingerprint: string;
}

const DEFAULT_MAX_BYTES = 256 * 1024;
const DEFAULT_SKEW_SECONDS = 180;
const issued = new WeakSet<object>();

/** True only for objects returned by validateResponse. */
export function isVerifiedResponse(value: unknown): value is VerifiedResponse {
  return typeof value === "object" && value !== null && issued.has(value);
}

/** Validates the base64 `SAMLResponse` form value of the HTTP-POST binding (bindings 3.5.4). */
export function validateResponse(
  samlResponse: string,
  options: ResponseValidationOptions,
): Promise<VerifiedResponse> {
  try {
    const xml = decodeMessage(samlResponse, options.maxBytes ?? DEFAULT_MAX_BYTES);
    return validateResponseXml(xml, options);
  } catch (e) {
    return Promise.reject(e);
  }
}

/** Validates a Response given as XML text (the CLI, tests). */
export async function validateResponseXml(
  xml: string,
  options: ResponseValidationOptions,
): Promise<VerifiedResponse> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (xml.length > maxBytes) {
    throw new SamlError("input_too_large", {
      expected: `at most ${maxBytes} bytes`,
      received: `${xml.length}`,
    });
  }
  const checked = checkResponse(parseXml(xml), options);
  // Replay (profiles 4.1.4.5): last, once everything else holds, so a refused message burns nothing.
  const fresh = await options.replayCache.consume(
    `${checked.issuer}\u0000${checked.assertionId}`,
    new Date(checked.notOnOrAfter.getTime() + skewMs(options)),
  );
  if (!fresh)
    throw new SamlError("assertion_replayed", {
      field: "Assertion ID",
      received: checked.assertionId,
    });
  issued.add(checked);
  return checked;
}

function skewMs(o: ResponseValidationOptions): number {
  return (o.clockSkewSeconds ?? DEFAULT_SKEW_SECONDS) * 1000;
}

function checkResponse(response: XmlElement, o: ResponseValidationOptions): VerifiedResponse {
  if (response.ns !== SAML_PROTOCOL_NS || response.local !== "Response") {
    throw new SamlError("not_a_response", {
      expected: "samlp:Response",
      received: `{${response.ns}}${response.local}`,
    });
  }
  // Only what the schema allows directly in a Response (core 3.2.2): no look-alike elements in
  // unsigned parts, even ones we would never read.
  for (const c of response.children) {
    if (c.type !== "element") continue;
    const allowed =
      (c.ns === SAML_ASSERTION_NS &&
        (c.local === "Issuer" || c.local === "Assertion" || c.local === "EncryptedAssertion")) ||
      (c.ns === SAML_PROTOCOL_NS && (c.local === "Status" || c.local === "Extensions")) ||
      (c.ns === DSIG_NS && c.local === "Signature");
    if (!allowed) {
      throw new SamlError("schema_invalid", {
        field: "Response",
        note: `unexpected element {${c.ns}}${c.local}`,
      });
    }
  }
  const responseId = requireAttr(response, "ID", "Response ID");
  requireVersion(response, "Response");
  parseInstant(attr(response, "IssueInstant"), "Response IssueInstant");

  // Status first: a failure carries the IdP's reason, which the admin needs most (core 3.2.2.2).
  checkStatus(response);

  const responseIssuer = child(response, SAML_ASSERTION_NS, "Issuer");
  if (responseIssuer !== undefined) checkIssuer(responseIssuer, o.idpEntityId, "Response Issuer");

  // Destination (bindings 3.5.5.2): required, exactly our ACS URL.
  const destination = attr(response, "Destination");
  if (destination !== o.acsUrl) {
    throw new SamlError("destination_invalid", {
      field: "Response Destination",
      expected: o.acsUrl,
      received: destination,
    });
  }

  // Exactly one Assertion, plain or encrypted, as a direct child; none anywhere else.
  const plain = children(response, SAML_ASSERTION_NS, "Assertion");
  const encrypted = children(response, SAML_ASSERTION_NS, "EncryptedAssertion");
  const ids: IdSurvey = { seen: new Set(), duplicate: undefined };
  const total = survey(response, ids);
  if (total === 0) throw new SamlError("assertion_missing");
  if (total > 1 || plain.length + encrypted.length !== 1) {
    throw new SamlError("assertion_multiple", { expected: "1", received: String(total) });
  }
  if (ids.duplicate !== undefined) throw new SamlError("duplicate_id", { received: ids.duplicate });

  // The Response signature, if any, is verified before anything inside it is used.
  const responseSigs = signatureChildren(response);
  if (responseSigs.length > 1)
    throw new SamlError("signature_reference_invalid", {
      note: "several Signatures on the Response",
    });
  const policy = o.algorithms ?? {};
  let verifiedBy: TrustedCertificate | undefined;
  if (responseSigs.length === 1) {
    verifiedBy = verifyEnvelopedSignature(
      response,
      responseSigs[0]!,
      o.idpCertificates,
      policy,
    ).certificate;
  }

  if (responseSigs.length === 1 && responseIssuer === undefined) {
    throw new SamlError("issuer_invalid", {
      field: "Response Issuer",
      expected: o.idpEntityId,
      note: "required when the Response is signed (profiles 4.1.4.2)",
    });
  }

  let assertion: XmlElement;
  let assertionSigned: boolean;
  if (encrypted.length === 1) {
    if (responseIssuer === undefined) {
      throw new SamlError("issuer_invalid", {
        field: "Response Issuer",
        expected: o.idpEntityId,
        note: "required when the Assertion is encrypted (profiles 4.1.4.2)",
      });
    }
    assertion = decryptAssertion(encrypted[0]!, o.spDecryptionKeys ?? []);
    try {
      const inner = survey(assertion, ids);
      if (inner !== 1) {
        throw new SamlError("assertion_multiple", {
          field: "EncryptedAssertion",
          received: String(inner),
        });
      }
      if (ids.duplicate !== undefined)
        throw new SamlError("duplicate_id", { received: ids.duplicate });
      const by = verifyAssertionSignature(assertion, o);
      assertionSigned = by !== undefined;
      verifiedBy = by ?? verifiedBy;
    } catch (e) {
      // CBC is malleable: when no Response signature covers the ciphertext, a failure after
      // decryption must look exactly like a failure of decryption, since telling "garbage
      // plaintext" from "bad signature" is the oracle of the XML Encryption attacks (Jager and
      // Somorovsky, "How to Break XML Encryption", CCS 2011). GCM authenticates the ciphertext.
      if (responseSigs.length === 0 && usesCbc(encrypted[0]!) && e instanceof SamlError)
        throw cbcContentFailure();
      throw e;
    }
  } else {
    assertion = plain[0]!;
    const by = verifyAssertionSignature(assertion, o);
    assertionSigned = by !== undefined;
    verifiedBy = by ?? verifiedBy;
  }
  const signed = { response: responseSigs.length === 1, assertion: assertionSigned };
  if (verifiedBy === undefined) {
    throw new SamlError("signature_missing", {
      note: "neither the Response nor the Assertion carries a Signature",
    });
  }
  if (o.requireSignedAssertion === true && !signed.assertion) {
    throw new SamlError("signature_missing", {
      field: "Assertion",
      note: "this connection requires the Assertion itself to be signed",
    });
  }
  if (o.requireSignedResponse === true && !signed.response) {
    throw new SamlError(
      "signature_missing",
      { field: "Response", note: "this connection requires the Response to be signed" },
      "In Entra, SAML Certificates, Signing Option: choose 'Sign SAML response and assertion'.",
    );
  }

  // From here on, everything read lies inside a verified element.
  return readAssertion(assertion, response, o, {
    responseId,
    signed,
    encrypted: encrypted.length === 1,
    certificateFingerprint: verifiedBy.fingerprint256,
  });
}

function usesCbc(encryptedAssertion: XmlElement): boolean {
  for (const el of descendants(encryptedAssertion)) {
    if (el.local === "EncryptionMethod" && /cbc$/i.test(attr(el, "Algorithm") ?? "")) return true;
  }
  return false;
}

/** Verifies the Assertion's own Signature if it has one; returns the certificate, or undefined. */
function verifyAssertionSignature(
  assertion: XmlElement,
  o: ResponseValidationOptions,
): TrustedCertificate | undefined {
  const sigs = signatureChildren(assertion);
  if (sigs.length > 1)
    throw new SamlError("signature_reference_invalid", {
      note: "several Signatures on the Assertion",
    });
  if (sigs.length === 0) return undefined;
  return verifyEnvelopedSignature(assertion, sigs[0]!, o.idpCertificates, o.algorithms ?? {})
    .certificate;
}

interface Facts {
  responseId: string;
  signed: { response: boolean; assertion: boolean };
  encrypted: boolean;
  certificateFingerprint: string;
}

function readAssertion(
  a: XmlElement,
  response: XmlElement,
  o: ResponseValidationOptions,
  facts: Facts,
): VerifiedResponse {
  const now = o.now.getTime();
  const skew = skewMs(o);
  const assertionId = requireAttr(a, "ID", "Assertion ID");
  requireVersion(a, "Assertion");
  parseInstant(attr(a, "IssueInstant"), "Assertion IssueInstant");
  const issuerEl = child(a, SAML_ASSERTION_NS, "Issuer");
  if (issuerEl === undefined)
    throw new SamlError("issuer_invalid", { field: "Assertion Issuer", expected: o.idpEntityId });
  const issuer = checkIssuer(issuerEl, o.idpEntityId, "Assertion Issuer");

  // InResponseTo (profiles 4.1.4.3 and 4.1.5).
  const inResponseTo = attr(response, "InResponseTo");
  if (inResponseTo !== undefined) {
    if (o.expectedRequestId === undefined) {
      throw new SamlError("in_response_to_unexpected", {
        field: "Response InResponseTo",
        expected: "(no outstanding request)",
        received: inResponseTo,
      });
    }
    if (inResponseTo !== o.expectedRequestId) {
      throw new SamlError("in_response_to_mismatch", {
        field: "Response InResponseTo",
        expected: o.expectedRequestId,
        received: inResponseTo,
      });
    }
  } else if (o.allowUnsolicited !== true) {
    if (o.expectedRequestId !== undefined) {
      throw new SamlError("in_response_to_missing", {
        field: "Response InResponseTo",
        expected: o.expectedRequestId,
      });
    }
    throw new SamlError("unsolicited_not_allowed", { field: "Response InResponseTo" });
  }

  // Subject: a NameID and at least one satisfied bearer confirmation (profiles 4.1.4.2).
  const subject = child(a, SAML_ASSERTION_NS, "Subject");
  if (subject === undefined)
    throw new SamlError("subject_invalid", { field: "Subject", note: "missing" });
  const nameIdEl = child(subject, SAML_ASSERTION_NS, "NameID");
  if (nameIdEl === undefined)
    throw new SamlError("subject_invalid", {
      field: "NameID",
      note: "missing (EncryptedID and BaseID are not supported)",
    });
  const nameId = signedText(nameIdEl, "NameID", true);
  if (nameId === "") throw new SamlError("subject_invalid", { field: "NameID", note: "empty" });
  const nameIdFormat = attr(nameIdEl, "Format");

  const confirmations = children(subject, SAML_ASSERTION_NS, "SubjectConfirmation").filter(
    (sc) => attr(sc, "Method") === CM_BEARER,
  );
  if (confirmations.length === 0) {
    throw new SamlError("subject_invalid", {
      field: "SubjectConfirmation",
      expected: CM_BEARER,
      note: "no bearer confirmation",
    });
  }
  let confirmationError: SamlError | undefined;
  let confirmedUntil: number | undefined;
  for (const sc of confirmations) {
    try {
      confirmedUntil = checkConfirmation(sc, o, inResponseTo, now, skew);
      break;
    } catch (e) {
      if (!(e instanceof SamlError)) throw e;
      confirmationError ??= e;
    }
  }
  if (confirmedUntil === undefined) throw confirmationError!;

  // Conditions (core 2.5.1): required here, with both bounds and our audience.
  const conditions = children(a, SAML_ASSERTION_NS, "Conditions");
  if (conditions.length !== 1)
    throw new SamlError("schema_invalid", {
      field: "Conditions",
      note: conditions.length === 0 ? "missing" : "more than one",
    });
  const cond = conditions[0]!;
  const nbAttr = attr(cond, "NotBefore");
  const notBefore = nbAttr === undefined ? undefined : parseInstant(nbAttr, "Conditions NotBefore");
  const notOnOrAfter = parseInstant(attr(cond, "NotOnOrAfter"), "Conditions NotOnOrAfter");
  if (notBefore !== undefined && now + skew < notBefore) {
    throw new SamlError("not_yet_valid", {
      field: "Conditions NotBefore",
      expected: `at or before ${o.now.toISOString()} (+${skew / 1000}s skew)`,
      received: nbAttr,
    });
  }
  if (now - skew >= notOnOrAfter) {
    throw new SamlError("expired", {
      field: "Conditions NotOnOrAfter",
      expected: `after ${o.now.toISOString()} (-${skew / 1000}s skew)`,
      received: attr(cond, "NotOnOrAfter"),
    });
  }
  const restrictions = children(cond, SAML_ASSERTION_NS, "AudienceRestriction");
  if (restrictions.length === 0) {
    throw new SamlError("audience_invalid", {
      field: "Audience",
      expected: o.spEntityId,
      received: undefined,
      note: "no AudienceRestriction",
    });
  }
  // Every AudienceRestriction must be satisfied (core 2.5.1.4); within one, any Audience.
  for (const r of restrictions) {
    const audiences = children(r, SAML_ASSERTION_NS, "Audience").map((el) =>
      signedText(el, "Audience", true),
    );
    if (!audiences.includes(o.spEntityId)) {
      throw new SamlError("audience_invalid", {
        field: "Audience",
        expected: o.spEntityId,
        received: audiences.join(", ") || undefined,
      });
    }
  }
  for (const c of childElements(cond)) {
    if (
      c.ns === SAML_ASSERTION_NS &&
      (c.local === "AudienceRestriction" ||
        c.local === "OneTimeUse" ||
        c.local === "ProxyRestriction")
    )
      continue;
    // Core 2.5.1: a condition we do not understand makes the assertion Indeterminate.
    throw new SamlError("schema_invalid", {
      field: "Conditions",
      note: `unknown condition ${c.local}`,
    });
  }

  // AuthnStatement (profiles 4.1.4.2: at least one).
  const authn = children(a, SAML_ASSERTION_NS, "AuthnStatement");
  if (authn.length === 0)
    throw new SamlError("schema_invalid", { field: "AuthnStatement", note: "missing" });
  const first = authn[0]!;
  const authnInstant = parseInstant(attr(first, "AuthnInstant"), "AuthnInstant");
  const sessionIndex = attr(first, "SessionIndex");
  const snoaAttr = attr(first, "SessionNotOnOrAfter");
  const sessionNotOnOrAfter =
    snoaAttr === undefined ? undefined : parseInstant(snoaAttr, "SessionNotOnOrAfter");
  if (sessionNotOnOrAfter !== undefined && now - skew >= sessionNotOnOrAfter) {
    throw new SamlError("expired", {
      field: "AuthnStatement SessionNotOnOrAfter",
      expected: `after ${o.now.toISOString()} (-${skew / 1000}s skew)`,
      received: snoaAttr,
    });
  }
  const ctx = child(first, SAML_ASSERTION_NS, "AuthnContext");
  const classRefEl =
    ctx === undefined ? undefined : child(ctx, SAML_ASSERTION_NS, "AuthnContextClassRef");
  const authnContextClassRef =
    classRefEl === undefined ? undefined : signedText(classRefEl, "AuthnContextClassRef", true);

  const attributes = readAttributes(a);
  const emailClaim = attributes[CLAIM_EMAILADDRESS]?.[0];
  const email = emailClaim ?? (nameIdFormat === NAMEID_FORMAT.emailAddress ? nameId : undefined);

  return Object.freeze({
    responseId: facts.responseId,
    assertionId,
    issuer,
    inResponseTo,
    nameId,
    nameIdFormat,
    sessionIndex,
    attributes,
    email,
    authnInstant: new Date(authnInstant),
    authnContextClassRef,
    sessionNotOnOrAfter:
      sessionNotOnOrAfter === undefined ? undefined : new Date(sessionNotOnOrAfter),
    notBefore: notBefore === undefined ? undefined : new Date(notBefore),
    notOnOrAfter: new Date(Math.min(notOnOrAfter, confirmedUntil)),
    signed: facts.signed,
    encrypted: facts.encrypted,
    certificateFingerprint: facts.certificateFingerprint,
  }) as unknown as VerifiedResponse;
}

/** One bearer SubjectConfirmationData (profiles 4.1.4.2); returns its NotOnOrAfter. */
function checkConfirmation(
  sc: XmlElement,
  o: ResponseValidationOptions,
  inResponseTo: string | undefined,
  now: number,
  skew: number,
): number {
  const data = child(sc, SAML_ASSERTION_NS, "SubjectConfirmationData");
  if (data === undefined)
    throw new SamlError("subject_invalid", { field: "SubjectConfirmationData", note: "missing" });
  const recipient = attr(data, "Recipient");
  if (recipient !== o.acsUrl) {
    throw new SamlError("recipient_invalid", {
      field: "SubjectConfirmationData Recipient",
      expected: o.acsUrl,
      received: recipient,
    });
  }
  const scdIrt = attr(data, "InResponseTo");
  if (scdIrt !== inResponseTo) {
    throw new SamlError("in_response_to_mismatch", {
      field: "SubjectConfirmationData InResponseTo",
      expected: inResponseTo ?? "(absent, as on the Response)",
      received: scdIrt,
    });
  }
  const noaAttr = attr(data, "NotOnOrAfter");
  const noa = parseInstant(noaAttr, "SubjectConfirmationData NotOnOrAfter");
  if (now - skew >= noa) {
    throw new SamlError("expired", {
      field: "SubjectConfirmationData NotOnOrAfter",
      expected: `after ${o.now.toISOString()} (-${skew / 1000}s skew)`,
      received: noaAttr,
    });
  }
  const nbAttr = attr(data, "NotBefore");
  if (
    nbAttr !== undefined &&
    now + skew < parseInstant(nbAttr, "SubjectConfirmationData NotBefore")
  ) {
    throw new SamlError("not_yet_valid", {
      field: "SubjectConfirmationData NotBefore",
      expected: `at or before ${o.now.toISOString()} (+${skew / 1000}s skew)`,
      received: nbAttr,
    });
  }
  return noa;
}

function readAttributes(a: XmlElement): Record<string, string[]> {
  const out: Record<string, string[]> = Object.create(null);
  for (const statement of children(a, SAML_ASSERTION_NS, "AttributeStatement")) {
    for (const at of childElements(statement)) {
      if (at.ns !== SAML_ASSERTION_NS || at.local !== "Attribute") {
        throw new SamlError("schema_invalid", {
          field: "AttributeStatement",
          note: `unexpected ${at.local} (EncryptedAttribute is not supported)`,
        });
      }
      const name = attr(at, "Name");
      if (name === undefined || name === "")
        throw new SamlError("schema_invalid", { field: "Attribute Name", note: "missing" });
      let values = out[name];
      if (values === undefined) {
        values = [];
        out[name] = values;
      }
      let field: string | undefined;
      for (const c of at.children) {
        if (c.type !== "element" || c.ns !== SAML_ASSERTION_NS || c.local !== "AttributeValue")
          continue;
        field ??= `Attribute ${name}`;
        values.push(signedText(c, field, false));
      }
    }
  }
  return out;
}

/**
 * The text of a signed leaf element. A comment or child element inside it, or (for identifiers)
 * whitespace around it, is refused: that is the comment-injection family, where a verifier and
 * a reader disagree about "the text" of a node.
 */
function signedText(el: XmlElement, field: string, identifier: boolean): string {
  const kids = el.children;
  // The common shape, one text node (the parser merges adjacent text), needs no loop.
  if (!identifier && kids.length === 1 && kids[0]!.type === "text") return kids[0]!.value;
  let text = "";
  for (const c of el.children) {
    if (c.type === "comment")
      throw new SamlError("signed_value_tampered", { field, note: "contains a comment" });
    if (c.type === "element")
      throw new SamlError("signed_value_tampered", {
        field,
        note: `contains an element (${c.local})`,
      });
    text += c.value;
  }
  if (identifier && text !== text.trim()) {
    throw new SamlError("signed_value_tampered", {
      field,
      received: text,
      note: "surrounded by whitespace",
    });
  }
  return text;
}

function checkIssuer(el: XmlElement, expected: string, field: string): string {
  const format = attr(el, "Format");
  if (format !== undefined && format !== NAMEID_FORMAT.entity) {
    throw new SamlError("issuer_invalid", {
      field: `${field} Format`,
      expected: NAMEID_FORMAT.entity,
      received: format,
    });
  }
  const value = signedText(el, field, true);
  if (value !== expected)
    throw new SamlError("issuer_invalid", { field, expected, received: value });
  return value;
}

function checkStatus(response: XmlElement): void {
  const status = child(response, SAML_PROTOCOL_NS, "Status");
  if (status === undefined)
    throw new SamlError("schema_invalid", { field: "Status", note: "missing" });
  const codes: string[] = [];
  for (
    let code = child(status, SAML_PROTOCOL_NS, "StatusCode");
    code !== undefined;
    code = child(code, SAML_PROTOCOL_NS, "StatusCode")
  ) {
    codes.push(attr(code, "Value") ?? "");
  }
  if (codes.length === 0)
    throw new SamlError("schema_invalid", { field: "StatusCode", note: "missing" });
  if (codes[0] !== STATUS_SUCCESS) {
    const messageEl = child(status, SAML_PROTOCOL_NS, "StatusMessage");
    const message = messageEl === undefined ? undefined : directText(messageEl);
    throw new SamlError("status_not_success", {
      field: "StatusCode",
      expected: STATUS_SUCCESS,
      received: codes.join(" / "),
      note: message === undefined ? undefined : `StatusMessage: ${message}`,
    });
  }
}

function requireAttr(el: XmlElement, name: string, field: string): string {
  const v = attr(el, name);
  if (v === undefined || v === "")
    throw new SamlError("schema_invalid", { field, note: "missing" });
  return v;
}

function requireVersion(el: XmlElement, field: string): void {
  const v = attr(el, "Version");
  if (v !== "2.0")
    throw new SamlError("schema_invalid", {
      field: `${field} Version`,
      expected: "2.0",
      received: v,
    });
}

/** IDs seen in a message, and the first one seen twice. */
interface IdSurvey {
  readonly seen: Set<string>;
  duplicate: string | undefined;
}

/**
 * One walk over a subtree: counts Assertions (plain or encrypted) and records every ID, noting
 * the first duplicate (XML-DSig references are by ID; duplicates serve wrapping attacks).
 */
function survey(el: XmlElement, ids: IdSurvey): number {
  let assertions =
    el.ns === SAML_ASSERTION_NS && (el.local === "Assertion" || el.local === "EncryptedAssertion")
      ? 1
      : 0;
  const attrs = el.attributes;
  for (let i = 0; i < attrs.length; i++) {
    const a = attrs[i]!;
    if (a.ns === "" && (a.local === "ID" || a.local === "Id" || a.local === "AssertionID")) {
      if (ids.seen.has(a.value)) ids.duplicate ??= a.value;
      else ids.seen.add(a.value);
    }
  }
  const kids = el.children;
  for (let i = 0; i < kids.length; i++) {
    const c = kids[i]!;
    if (c.type === "element") assertions += survey(c, ids);
  }
  return assertions;
}

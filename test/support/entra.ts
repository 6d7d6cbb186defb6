/**
 * Signed Entra-shaped Responses for the adversarial suites (XSW, fuzzing, c14n cross-checks),
 * made with the mock IdP and the test keys, and a validator call that reports the outcome
 * instead of throwing: either the VerifiedResponse or the SamlError code. Anything thrown that
 * is not a SamlError is rethrown, since that is a defect in itself.
 */

import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildEntraResponse,
  entraIssuer,
  type MockResponseOptions,
  type SigningOption,
} from "../../src/mock-idp/response.ts";
import { readCertificate, type TrustedCertificate } from "../../src/saml/certs.ts";
import { SamlError, type SamlErrorCode } from "../../src/saml/errors.ts";
import {
  type ResponseValidationOptions,
  type VerifiedResponse,
  validateResponseXml,
} from "../../src/saml/response.ts";

export const KEYS_DIR = join(import.meta.dirname, "..", "fixtures", "keys");
export const FIXTURES_DIR = join(import.meta.dirname, "..", "fixtures");

export function privateKey(name: string): KeyObject {
  return createPrivateKey(readFileSync(join(KEYS_DIR, `${name}.key`), "utf8"));
}

export function certPem(name: string): string {
  return readFileSync(join(KEYS_DIR, `${name}.crt`), "utf8");
}

/** Base64 DER of a test certificate, as KeyInfo carries it. */
export function certBase64(name: string): string {
  return certPem(name)
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, "")
    .replace(/\s+/g, "");
}

export function trusted(name: string): TrustedCertificate {
  return readCertificate(certPem(name));
}

export const TENANT = "5c1d0e2f-7a8b-4c9d-8e0f-1a2b3c4d5e6f";
export const ISSUER = entraIssuer(TENANT);
export const ACS = "https://sso.example.test/api/auth/saml/callback";
export const SP_ENTITY_ID = "https://sso.example.test/saml/contoso";
export const REQUEST_ID = "_7e1f0c2d3b4a59687f6e5d4c3b2a1908";
export const NOW = new Date("2025-03-04T05:06:07.089Z");
export const RESPONSE_ID = "_0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
export const ASSERTION_ID = "_f9e8d7c6-b5a4-4392-8180-7f6e5d4c3b2a";

export const VICTIM = {
  upn: "ada@contoso.example",
  mail: "ada@contoso.example",
  objectId: "3f2e1d0c-9b8a-4766-a554-433221100fed",
  displayName: "Ada Lovelace",
} as const;

export const SIGNING_OPTIONS: readonly Exclude<SigningOption, "none">[] = [
  "assertion",
  "response",
  "both",
];

/** A signed Entra Response for our SP (fixed IDs and time, so the bytes are deterministic). */
export function signedResponse(extra: Partial<MockResponseOptions> = {}): string {
  return buildEntraResponse({
    tenantId: TENANT,
    user: VICTIM,
    acsUrl: ACS,
    audience: SP_ENTITY_ID,
    inResponseTo: REQUEST_ID,
    now: NOW,
    signingKey: privateKey("idp-rsa"),
    signingCertificate: certBase64("idp-rsa"),
    responseId: RESPONSE_ID,
    assertionId: ASSERTION_ID,
    ...extra,
  });
}

const IDP_CERT = trusted("idp-rsa");

/** Options under which signedResponse() validates; a replay cache that never remembers. */
export function validationOptions(
  extra: Partial<ResponseValidationOptions> = {},
): ResponseValidationOptions {
  return {
    idpCertificates: [IDP_CERT],
    idpEntityId: ISSUER,
    spEntityId: SP_ENTITY_ID,
    acsUrl: ACS,
    expectedRequestId: REQUEST_ID,
    now: NOW,
    replayCache: { consume: () => true },
    ...extra,
  };
}

export type Outcome =
  | { readonly ok: true; readonly result: VerifiedResponse }
  | { readonly ok: false; readonly code: SamlErrorCode; readonly error: SamlError };

/** Validates; returns the refusal code, or the result. Non-SamlError exceptions propagate. */
export async function outcome(
  xml: string,
  extra: Partial<ResponseValidationOptions> = {},
): Promise<Outcome> {
  try {
    return { ok: true, result: await validateResponseXml(xml, validationOptions(extra)) };
  } catch (e) {
    if (e instanceof SamlError) return { ok: false, code: e.code, error: e };
    throw e;
  }
}

/** The values an attacker would want to change, for comparing results. */
export function claimsOf(r: VerifiedResponse): {
  nameId: string;
  email: string | undefined;
  attributes: Record<string, readonly string[]>;
  issuer: string;
  assertionId: string;
} {
  return {
    nameId: r.nameId,
    email: r.email,
    attributes: { ...r.attributes },
    issuer: r.issuer,
    assertionId: r.assertionId,
  };
}

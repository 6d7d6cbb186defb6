// Single Logout (saml-core-2.0-os 3.7, saml-profiles-2.0-os 4.4, saml-bindings-2.0-os 3.4.4.1)
// against Entra's behaviour (ENTRA.md, Single Logout).
import assert from "node:assert/strict";
import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { deflateRawSync } from "node:zlib";
import { SAML } from "@node-saml/node-saml";
import {
  buildEntraLogoutRequest,
  buildEntraLogoutResponse,
  entraRedirectQuery,
  lowercasePercentEncode,
  readSpLogoutQuery,
} from "../../src/mock-idp/logout.ts";
import { readCertificate, type TrustedCertificate } from "../../src/saml/certs.ts";
import { signEnveloped } from "../../src/saml/dsig.ts";
import { SamlError } from "../../src/saml/errors.ts";
import {
  buildLogoutRequest,
  buildLogoutResponse,
  isVerifiedLogoutRequest,
  isVerifiedLogoutResponse,
  type LogoutMessageInput,
  type LogoutRequestValidationOptions,
  type LogoutResponseValidationOptions,
  parseLogoutRequest,
  validateLogoutRequest,
  validateLogoutResponse,
} from "../../src/saml/logout.ts";
import { encodeRedirectMessage } from "../../src/saml/redirect.ts";
import { signRedirectQuery, verifyRedirectQuery } from "../../src/saml/redirect-signature.ts";

const KEYS = join(import.meta.dirname, "../fixtures/keys");
const FIXTURES = join(import.meta.dirname, "../fixtures/logout");
const key = (name: string): KeyObject => createPrivateKey(readFileSync(join(KEYS, `${name}.key`)));
const cert = (name: string): TrustedCertificate =>
  readCertificate(readFileSync(join(KEYS, `${name}.crt`), "utf8"));

const idpKey = key("idp-rsa");
const idpCert = cert("idp-rsa");
const idp2Cert = cert("idp2-rsa");
const spKey = key("sp-rsa");
const spCert = cert("sp-rsa");
const otherKey = key("other-rsa");
const otherCert = cert("other-rsa");

const TENANT = "82869000-6ad1-48f0-8171-272ed18796e9";
const STS = `https://sts.windows.net/${TENANT}/`;
const LOGIN = `https://login.microsoftonline.com/${TENANT}/`;
const IDP_SLO = `https://login.microsoftonline.com/${TENANT}/saml2`;
const SLO = "https://app.example.com/api/auth/saml/logout/callback";
const SP = "https://app.example.com/saml";
const NOW = new Date("2025-01-01T00:00:00.000Z");
const OUR_REQUEST_ID = "_0d2f9b6c1e8a4f7db3c5a1e2f4b6d8c0";

const requestOptions: LogoutRequestValidationOptions = {
  certificates: [idp2Cert, idpCert],
  idpEntityIds: [STS, LOGIN],
  sloUrl: SLO,
  now: NOW,
};
const responseOptions: LogoutResponseValidationOptions = {
  ...requestOptions,
  expectedInResponseTo: OUR_REQUEST_ID,
  requireSignature: false,
};

function entraRequest(over: Partial<Parameters<typeof buildEntraLogoutRequest>[0]> = {}) {
  return buildEntraLogoutRequest({
    tenantId: TENANT,
    destination: SLO,
    nameId: "Uz2Pqz1X7pxe4XLWxV9KJQ+n59d573SepSAkuYKSde8=",
    sessionIndex: "_5f0c2d71-9a0e-4d55-b1b5-0c3e1b6f2a00",
    now: NOW,
    signingKey: idpKey,
    ...over,
  });
}

function refusal(fn: () => unknown, code: string, field?: string): SamlError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SamlError, `expected SamlError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (field !== undefined) assert.equal(caught.detail.field, field, caught.message);
  return caught;
}

function redirect(query: string): LogoutMessageInput {
  return { binding: "redirect", query };
}

function post(xml: string, relayState?: string): LogoutMessageInput {
  return { binding: "post", body: Buffer.from(xml, "utf8").toString("base64"), relayState };
}

/** The query re-encoded with uppercase escapes (what URLSearchParams-style code would send). */
function uppercased(query: string): string {
  return query.replace(/%[0-9a-f]{2}/gi, (e) => e.toUpperCase());
}

function lowercased(query: string): string {
  return query.replace(/%[0-9a-f]{2}/gi, (e) => e.toLowerCase());
}

function param(query: string, name: string): string {
  const part = query.split("&").find((p) => p.startsWith(`${name}=`));
  assert.ok(part !== undefined, `no ${name} in ${query}`);
  return part.slice(name.length + 1);
}

function replaceParam(query: string, name: string, value: string): string {
  return query
    .split("&")
    .map((p) => (p.startsWith(`${name}=`) ? `${name}=${value}` : p))
    .join("&");
}

describe("IdP-initiated logout from Entra (Redirect binding, lowercase percent-encoding)", () => {
  it("verifies the signature over the raw query as Entra encodes it (%2f) and returns the session indexes", () => {
    const m = entraRequest();
    assert.match(m.query, /%2f/, "the mock must encode in lowercase, as Entra does");
    assert.doesNotMatch(m.query, /%2F/);
    const v = validateLogoutRequest(redirect(m.query), requestOptions);
    assert.equal(v.id, m.id);
    assert.equal(v.issuer, STS);
    assert.equal(v.nameId, "Uz2Pqz1X7pxe4XLWxV9KJQ+n59d573SepSAkuYKSde8=");
    assert.equal(v.nameIdFormat, undefined, "Entra's NameID carries no Format");
    assert.deepEqual(v.sessionIndexes, ["_5f0c2d71-9a0e-4d55-b1b5-0c3e1b6f2a00"]);
    assert.equal(v.signed, true);
    assert.equal(v.certificateFingerprint, idpCert.fingerprint256);
    assert.equal(v.binding, "redirect");
    assert.ok(Object.isFrozen(v) && Object.isFrozen(v.sessionIndexes));
    assert.ok(isVerifiedLogoutRequest(v));
    assert.ok(!isVerifiedLogoutRequest({ ...v }), "a copy is not a verified result");
  });

  it("accepts the query with its leading '?', and parameters in any order", () => {
    const m = entraRequest({ relayState: "/after/logout?x=1" });
    const parts = m.query.split("&");
    const shuffled = [parts[3], parts[1], parts[2], parts[0]].join("&");
    const v = validateLogoutRequest(redirect(`?${shuffled}`), requestOptions);
    assert.equal(v.relayState, "/after/logout?x=1");
  });

  it("refuses the same message re-encoded in uppercase: only the octets that were signed verify", () => {
    const m = entraRequest();
    const upper = uppercased(m.query);
    assert.notEqual(upper, m.query);
    refusal(
      () => validateLogoutRequest(redirect(upper), requestOptions),
      "signature_invalid",
      "Signature",
    );
  });

  it("verifies an uppercase query when uppercase is what was signed, and refuses it lowercased", () => {
    const xml = entraRequest().xml;
    const query = signRedirectQuery({
      type: "SAMLRequest",
      message: encodeRedirectMessage(xml),
      privateKey: idpKey,
    });
    assert.match(query, /%2F/);
    const v = validateLogoutRequest(redirect(query), requestOptions);
    assert.equal(v.sessionIndexes.length, 1);
    refusal(
      () => validateLogoutRequest(redirect(lowercased(query)), requestOptions),
      "signature_invalid",
    );
  });

  it("covers RelayState with the signature (bindings 3.4.4.1)", () => {
    const m = entraRequest({ relayState: "abc" });
    const tampered = replaceParam(m.query, "RelayState", "abd");
    refusal(() => validateLogoutRequest(redirect(tampered), requestOptions), "signature_invalid");
    const dropped = m.query
      .split("&")
      .filter((p) => !p.startsWith("RelayState="))
      .join("&");
    refusal(() => validateLogoutRequest(redirect(dropped), requestOptions), "signature_invalid");
  });

  it("refuses a signature taken from another message", () => {
    const a = entraRequest({ sessionIndex: "_a" });
    const b = entraRequest({ sessionIndex: "_b" });
    const swapped = replaceParam(a.query, "Signature", param(b.query, "Signature"));
    refusal(() => validateLogoutRequest(redirect(swapped), requestOptions), "signature_invalid");
  });

  it("refuses a signature by an unconfigured key of the same size (signature_invalid: no KeyInfo to tell)", () => {
    const m = entraRequest({ signingKey: otherKey });
    refusal(() => validateLogoutRequest(redirect(m.query), requestOptions), "signature_invalid");
  });

  it("refuses a signature that no configured key could have made (signature_unknown_key)", () => {
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 3072 });
    const m = entraRequest({ signingKey: privateKey });
    refusal(
      () => validateLogoutRequest(redirect(m.query), requestOptions),
      "signature_unknown_key",
      "Signature",
    );
  });

  it("accepts a signature by any configured certificate (rotation)", () => {
    const m = entraRequest();
    const v = validateLogoutRequest(redirect(m.query), {
      ...requestOptions,
      certificates: [otherCert, idpCert],
    });
    assert.equal(v.certificateFingerprint, idpCert.fingerprint256);
  });

  it("refuses SHA-1 unless the connection allows it", () => {
    const xml = entraRequest().xml;
    const query = signRedirectQuery({
      type: "SAMLRequest",
      message: encodeRedirectMessage(xml),
      privateKey: idpKey,
      algorithm: "rsa-sha1",
    });
    refusal(
      () => validateLogoutRequest(redirect(query), requestOptions),
      "algorithm_not_allowed",
      "SigAlg",
    );
    const v = validateLogoutRequest(redirect(query), {
      ...requestOptions,
      algorithms: { allowSha1: true },
    });
    assert.equal(v.signed, true);
  });

  it("refuses an unknown SigAlg", () => {
    const m = entraRequest();
    const q = replaceParam(
      m.query,
      "SigAlg",
      lowercasePercentEncode("http://www.w3.org/2001/04/xmldsig-more#hmac-sha256"),
    );
    refusal(
      () => validateLogoutRequest(redirect(q), requestOptions),
      "algorithm_not_allowed",
      "SigAlg",
    );
  });

  it("verifies ECDSA query signatures (IEEE P1363, as XML-DSig)", () => {
    const xml = entraRequest().xml;
    const query = signRedirectQuery({
      type: "SAMLRequest",
      message: encodeRedirectMessage(xml),
      privateKey: key("idp-ec"),
      algorithm: "ecdsa-sha256",
    });
    const v = validateLogoutRequest(redirect(query), {
      ...requestOptions,
      certificates: [idpCert, cert("idp-ec")],
    });
    assert.equal(v.certificateFingerprint, cert("idp-ec").fingerprint256);
  });

  it("refuses a Signature that is not base64", () => {
    const m = entraRequest();
    refusal(
      () =>
        validateLogoutRequest(
          redirect(replaceParam(m.query, "Signature", "%21%21%21%21")),
          requestOptions,
        ),
      "malformed_base64",
      "Signature",
    );
  });

  it("refuses a SAMLRequest that is not base64 or not DEFLATE", () => {
    const unsigned = { ...requestOptions, requireSignature: false };
    refusal(
      () => validateLogoutRequest(redirect("SAMLRequest=%21%21%21%21"), unsigned),
      "malformed_base64",
    );
    const notDeflate = encodeURIComponent(Buffer.from("<samlp:LogoutRequest/>").toString("base64"));
    refusal(
      () => validateLogoutRequest(redirect(`SAMLRequest=${notDeflate}`), unsigned),
      "malformed_base64",
    );
  });

  it("refuses malformed XML and DTDs, signed or not", () => {
    refusal(
      () =>
        validateLogoutRequest(
          redirect(entraRedirectQuery("SAMLRequest", "<samlp:LogoutRequest", undefined, idpKey)),
          requestOptions,
        ),
      "malformed_xml",
    );
    const dtd = `<!DOCTYPE x [<!ENTITY e "x">]>${entraRequest().xml}`;
    refusal(
      () =>
        validateLogoutRequest(
          redirect(entraRedirectQuery("SAMLRequest", dtd, undefined, idpKey)),
          requestOptions,
        ),
      "xml_dtd_forbidden",
    );
  });

  it("refuses a comment inside the NameID (comment injection)", () => {
    const xml = entraRequest().xml.replace("Uz2P", "Uz<!---->2P");
    refusal(
      () =>
        validateLogoutRequest(
          redirect(entraRedirectQuery("SAMLRequest", xml, undefined, idpKey)),
          requestOptions,
        ),
      "signed_value_tampered",
      "LogoutRequest NameID",
    );
  });

  it("accepts an unsigned request only when the caller explicitly does not require a signature", () => {
    const m = entraRequest({ unsigned: true });
    refusal(
      () => validateLogoutRequest(redirect(m.query), requestOptions),
      "logout_invalid",
      "Signature",
    );
    const v = validateLogoutRequest(redirect(m.query), {
      ...requestOptions,
      requireSignature: false,
    });
    assert.equal(v.signed, false);
    assert.equal(v.certificateFingerprint, undefined);
  });

  it("returns every SessionIndex, a NotOnOrAfter when present, and accepts a request without Destination", () => {
    const xml = entraRequest({ includeDestination: false })
      .xml.replace(
        'Version="2.0"',
        'Version="2.0" NotOnOrAfter="2025-01-01T00:05:00.000Z" Reason="urn:oasis:names:tc:SAML:2.0:logout:user"',
      )
      .replace(
        "</samlp:LogoutRequest>",
        "<samlp:SessionIndex>_second</samlp:SessionIndex></samlp:LogoutRequest>",
      );
    const v = validateLogoutRequest(
      redirect(entraRedirectQuery("SAMLRequest", xml, undefined, idpKey)),
      requestOptions,
    );
    assert.deepEqual(v.sessionIndexes, ["_5f0c2d71-9a0e-4d55-b1b5-0c3e1b6f2a00", "_second"]);
    assert.equal(v.notOnOrAfter?.toISOString(), "2025-01-01T00:05:00.000Z");
    assert.equal(v.destination, undefined);
    assert.equal(v.reason, "urn:oasis:names:tc:SAML:2.0:logout:user");
  });

  it("tolerates NotOnOrAfter within the clock skew, and refuses it past the skew", () => {
    const xml = entraRequest().xml.replace(
      'Version="2.0"',
      'Version="2.0" NotOnOrAfter="2024-12-31T23:58:00.000Z"',
    );
    const q = entraRedirectQuery("SAMLRequest", xml, undefined, idpKey);
    assert.equal(validateLogoutRequest(redirect(q), requestOptions).sessionIndexes.length, 1);
    refusal(
      () => validateLogoutRequest(redirect(q), { ...requestOptions, clockSkewSeconds: 60 }),
      "logout_invalid",
      "LogoutRequest NotOnOrAfter",
    );
  });

  it("allows our own configured query parameters, and only those", () => {
    const m = entraRequest();
    const q = `${m.query}&connection=con_123`;
    refusal(
      () => validateLogoutRequest(redirect(q), requestOptions),
      "logout_invalid",
      "query string",
    );
    assert.equal(
      validateLogoutRequest(redirect(q), { ...requestOptions, extraParameters: ["connection"] })
        .signed,
      true,
    );
  });

  it("refuses an oversized query before parsing it", () => {
    refusal(
      () => validateLogoutRequest(redirect(`SAMLRequest=${"A".repeat(300_000)}`), requestOptions),
      "input_too_large",
    );
  });
});

describe("SP-initiated logout: our LogoutRequest, Entra's LogoutResponse", () => {
  it("builds a LogoutRequest with NameID+Format, SessionIndex, Issuer, Destination, NotOnOrAfter", () => {
    const built = buildLogoutRequest({
      spEntityId: SP,
      destination: IDP_SLO,
      nameId: "ada@contoso.com",
      nameIdFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      sessionIndex: "_5f0c2d71",
      now: NOW,
      relayState: "/bye",
    });
    assert.match(built.id, /^_[0-9a-f]{32}$/);
    assert.ok(built.url.startsWith(`${IDP_SLO}?SAMLRequest=`));
    const { xml, relayState } = readSpLogoutQuery(new URL(built.url).search);
    assert.equal(xml, built.xml);
    assert.equal(relayState, "/bye");
    assert.match(xml, /Destination="https:\/\/login\.microsoftonline\.com\/[^"]+\/saml2"/);
    assert.match(xml, / NotOnOrAfter="2025-01-01T00:05:00\.000Z"/);
    const parsed = parseLogoutRequest(xml);
    assert.equal(parsed.id, built.id);
    assert.equal(parsed.issuer, SP);
    assert.equal(parsed.nameId, "ada@contoso.com");
    assert.equal(parsed.nameIdFormat, "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress");
    assert.deepEqual(parsed.sessionIndexes, ["_5f0c2d71"]);
    assert.equal(parsed.destination, IDP_SLO);
  });

  it("signs our LogoutRequest over the query when asked, verifiable with our certificate", () => {
    const built = buildLogoutRequest({
      spEntityId: SP,
      destination: `${IDP_SLO}?appid=abc`,
      nameId: "ada@contoso.com",
      now: NOW,
      signing: { privateKey: spKey },
    });
    const query = built.url.slice(built.url.indexOf("?") + 1);
    const v = verifyRedirectQuery(query, [spCert], {}, { extraParameters: ["appid"] });
    assert.equal(v.xml, built.xml);
    assert.equal(v.signature?.certificate.fingerprint256, spCert.fingerprint256);
  });

  it("refuses to build a LogoutRequest without a NameID (Entra AADSTS7500530)", () => {
    assert.throws(
      () => buildLogoutRequest({ spEntityId: SP, destination: IDP_SLO, nameId: "", now: NOW }),
      TypeError,
    );
  });

  it("accepts Entra's unsigned LogoutResponse with either documented Issuer", () => {
    for (const issuer of ["login", "sts"] as const) {
      const m = buildEntraLogoutResponse({
        tenantId: TENANT,
        destination: SLO,
        inResponseTo: OUR_REQUEST_ID,
        now: NOW,
        issuer,
        relayState: "/bye",
      });
      const v = validateLogoutResponse(redirect(new URL(m.url).search), responseOptions);
      assert.equal(v.issuer, issuer === "login" ? LOGIN : STS);
      assert.equal(v.inResponseTo, OUR_REQUEST_ID);
      assert.equal(v.success, true);
      assert.equal(v.signed, false);
      assert.equal(v.relayState, "/bye");
      assert.ok(Object.isFrozen(v) && isVerifiedLogoutResponse(v));
    }
  });

  it("round-trips: our request, the mock IdP's answer, our validation", () => {
    const built = buildLogoutRequest({
      spEntityId: SP,
      destination: IDP_SLO,
      nameId: "ada@contoso.com",
      sessionIndex: "_s",
      now: NOW,
    });
    const ours = parseLogoutRequest(readSpLogoutQuery(new URL(built.url).search).xml);
    const answer = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO,
      inResponseTo: ours.id,
      now: new Date(NOW.getTime() + 2000),
    });
    const v = validateLogoutResponse(redirect(answer.query), {
      ...responseOptions,
      expectedInResponseTo: built.id,
    });
    assert.equal(v.inResponseTo, built.id);
  });

  it("reports a non-Success status instead of throwing (the local logout goes on)", () => {
    const m = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO,
      inResponseTo: OUR_REQUEST_ID,
      now: NOW,
      statusCode: "urn:oasis:names:tc:SAML:2.0:status:Responder",
    });
    const v = validateLogoutResponse(redirect(m.query), responseOptions);
    assert.equal(v.success, false);
    assert.deepEqual(v.statusCodes, ["urn:oasis:names:tc:SAML:2.0:status:Responder"]);
  });

  it("verifies a LogoutResponse signature when present even if not required", () => {
    const m = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO,
      inResponseTo: OUR_REQUEST_ID,
      now: NOW,
      signingKey: idpKey,
    });
    assert.equal(validateLogoutResponse(redirect(m.query), responseOptions).signed, true);
    assert.equal(
      validateLogoutResponse(redirect(m.query), { ...responseOptions, requireSignature: true })
        .signed,
      true,
    );
    refusal(
      () => validateLogoutResponse(redirect(uppercased(m.query)), responseOptions),
      "signature_invalid",
    );
  });

  it("demands requireSignature explicitly for responses", () => {
    const m = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO,
      inResponseTo: OUR_REQUEST_ID,
      now: NOW,
    });
    const { requireSignature: _, ...without } = responseOptions;
    assert.throws(
      () => validateLogoutResponse(redirect(m.query), without as LogoutResponseValidationOptions),
      TypeError,
    );
  });
});

describe("our LogoutResponse to the IdP's request", () => {
  it("carries InResponseTo and the status, signed when asked", () => {
    const built = buildLogoutResponse({
      spEntityId: SP,
      destination: IDP_SLO,
      inResponseTo: "_req1",
      now: NOW,
      relayState: "rs",
      signing: { privateKey: spKey },
    });
    const v = verifyRedirectQuery(new URL(built.url).search, [spCert], {});
    assert.equal(v.type, "SAMLResponse");
    assert.equal(v.relayState, "rs");
    assert.equal(v.xml, built.xml);
    assert.match(built.xml, / InResponseTo="_req1"/);
    assert.match(
      built.xml,
      /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"\/>/,
    );
    // And our own validator reads it back as a LogoutResponse from "the IdP" SP.
    const back = validateLogoutResponse(redirect(new URL(built.url).search), {
      certificates: [spCert],
      idpEntityIds: [SP],
      sloUrl: IDP_SLO,
      now: NOW,
      expectedInResponseTo: "_req1",
      requireSignature: true,
    });
    assert.equal(back.success, true);
  });

  it("can report a partial logout", () => {
    const built = buildLogoutResponse({
      spEntityId: SP,
      destination: IDP_SLO,
      inResponseTo: "_req1",
      now: NOW,
      statusCode: "urn:oasis:names:tc:SAML:2.0:status:Responder",
      subStatusCode: "urn:oasis:names:tc:SAML:2.0:status:PartialLogout",
      statusMessage: "a & b",
    });
    assert.match(
      built.xml,
      /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:PartialLogout"\/><\/samlp:StatusCode><samlp:StatusMessage>a &amp; b<\/samlp:StatusMessage>/,
    );
  });
});

describe("POST binding (enveloped XML signature referencing the message)", () => {
  const signedRequest = (xml = entraRequest().xml, k = idpKey, c = idpCert) =>
    signEnveloped(xml, { privateKey: k, certificate: c.base64 });

  it("verifies an enveloped signature on the LogoutRequest", () => {
    const v = validateLogoutRequest(post(signedRequest(), "rs"), requestOptions);
    assert.equal(v.binding, "post");
    assert.equal(v.signed, true);
    assert.equal(v.relayState, "rs");
    assert.equal(v.certificateFingerprint, idpCert.fingerprint256);
  });

  it("refuses a signature whose Reference names another ID", () => {
    const xml = signedRequest().replace(/ID="_[^"]+"/, 'ID="_renamed"');
    refusal(() => validateLogoutRequest(post(xml), requestOptions), "signature_reference_invalid");
  });

  it("refuses content changed after signing", () => {
    const xml = signedRequest().replace("_5f0c2d71", "_00000000");
    refusal(() => validateLogoutRequest(post(xml), requestOptions), "digest_mismatch");
  });

  it("refuses a signature by an unconfigured certificate", () => {
    refusal(
      () =>
        validateLogoutRequest(post(signedRequest(undefined, otherKey, otherCert)), requestOptions),
      "signature_unknown_key",
    );
  });

  it("refuses two Signatures", () => {
    const once = signedRequest();
    const sig = /<Signature [\s\S]*<\/Signature>/.exec(once)![0];
    refusal(
      () => validateLogoutRequest(post(once.replace(sig, sig + sig)), requestOptions),
      "signature_reference_invalid",
    );
  });

  it("refuses duplicate IDs", () => {
    const xml = entraRequest().xml.replace(
      "<samlp:SessionIndex>",
      `<samlp:SessionIndex ID="${entraRequest({ id: "_dup" }).id}">`,
    );
    const signed = signEnveloped(xml.replace(/ID="_[^"]+"/, 'ID="_dup"'), { privateKey: idpKey });
    refusal(() => validateLogoutRequest(post(signed), requestOptions), "duplicate_id");
  });

  it("verifies a signed POST LogoutResponse, and refuses a bad one even when signatures are optional", () => {
    const m = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO,
      inResponseTo: OUR_REQUEST_ID,
      now: NOW,
    });
    const signed = signEnveloped(m.xml, { privateKey: idpKey });
    assert.equal(
      validateLogoutResponse(post(signed), { ...responseOptions, requireSignature: true }).signed,
      true,
    );
    const unsignedOk = validateLogoutResponse(post(m.xml), responseOptions);
    assert.equal(unsignedOk.signed, false);
    const bySomeoneElse = signEnveloped(m.xml, { privateKey: otherKey });
    refusal(
      () => validateLogoutResponse(post(bySomeoneElse), responseOptions),
      "signature_invalid",
    );
  });

  it("refuses a POST body that is not base64", () => {
    refusal(
      () => validateLogoutRequest({ binding: "post", body: "not base64!" }, requestOptions),
      "malformed_base64",
    );
  });
});

// One directory per broken rule (test/fixtures/logout/bad-<code>-<variant>/): message.xml (the
// readable message, encoded and signed here as case.json says) or query.txt (a raw query).
interface FixtureCase {
  readonly rule: string;
  readonly direction: "request" | "response";
  readonly binding: "redirect" | "post";
  readonly sign?: "none" | "query" | "enveloped";
  readonly parameter?: "SAMLRequest" | "SAMLResponse";
  readonly requireSignature?: boolean;
  readonly expected: { readonly code: string; readonly field?: string };
}

describe("refusal fixtures (test/fixtures/logout)", () => {
  const dirs = readdirSync(FIXTURES).filter((d) => d.startsWith("bad-"));
  it("has fixtures", () => assert.ok(dirs.length >= 20));
  for (const dir of dirs) {
    const c = JSON.parse(readFileSync(join(FIXTURES, dir, "case.json"), "utf8")) as FixtureCase;
    it(`${dir}: ${c.rule}`, () => {
      assert.ok(dir.startsWith(`bad-${c.expected.code}`), "directory named after its code");
      const files = readdirSync(join(FIXTURES, dir));
      let input: LogoutMessageInput;
      if (files.includes("query.txt")) {
        input = redirect(readFileSync(join(FIXTURES, dir, "query.txt"), "utf8").trim());
      } else {
        const xml = readFileSync(join(FIXTURES, dir, "message.xml"), "utf8").trim();
        const parameter =
          c.parameter ?? (c.direction === "request" ? "SAMLRequest" : "SAMLResponse");
        if (c.binding === "redirect") {
          input = redirect(
            entraRedirectQuery(parameter, xml, undefined, c.sign === "query" ? idpKey : undefined),
          );
        } else {
          input = post(c.sign === "enveloped" ? signEnveloped(xml, { privateKey: idpKey }) : xml);
        }
      }
      const run =
        c.direction === "request"
          ? () =>
              validateLogoutRequest(input, {
                ...requestOptions,
                ...(c.requireSignature === undefined
                  ? {}
                  : { requireSignature: c.requireSignature }),
              })
          : () =>
              validateLogoutResponse(input, {
                ...responseOptions,
                requireSignature: c.requireSignature ?? false,
              });
      refusal(run, c.expected.code, c.expected.field);
    });
  }
});

describe("an independent signer (node-saml)", () => {
  it("our verifier accepts node-saml's signed Redirect LogoutRequest, and refuses it altered", async () => {
    const peer = new SAML({
      callbackUrl: "https://peer.example.com/acs",
      entryPoint: "https://idp.example.com/sso",
      logoutUrl: "https://idp.example.com/slo",
      issuer: "https://peer.example.com/saml",
      idpCert: idpCert.pem,
      privateKey: readFileSync(join(KEYS, "sp-rsa.key"), "utf8"),
      signatureAlgorithm: "sha256",
    });
    const profile = {
      issuer: STS,
      nameID: "ada@contoso.com",
      nameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      sessionIndex: "_s1",
    };
    const url = await peer.getLogoutUrlAsync(profile as never, "rs", {});
    const query = url.slice(url.indexOf("?") + 1);
    const v = verifyRedirectQuery(query, [spCert], {});
    assert.equal(v.relayState, "rs");
    const parsed = parseLogoutRequest(v.xml);
    assert.equal(parsed.nameId, "ada@contoso.com");
    assert.deepEqual(parsed.sessionIndexes, ["_s1"]);
    refusal(
      () => verifyRedirectQuery(replaceParam(query, "RelayState", "rt"), [spCert], {}),
      "signature_invalid",
    );
  });
});

describe("the Redirect decoder keeps its limits", () => {
  it("refuses a deflate bomb", () => {
    const bomb = deflateRawSync(Buffer.alloc(1024 * 1024, 0x20)).toString("base64");
    refusal(
      () =>
        verifyRedirectQuery(
          `SAMLRequest=${encodeURIComponent(bomb)}`,
          [],
          {},
          { requireSignature: false },
        ),
      "input_too_large",
    );
  });
});

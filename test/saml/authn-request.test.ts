// The AuthnRequest (saml-core-2.0-os 3.4.1) on the HTTP-Redirect binding, under Entra's
// constraints (ENTRA.md, AuthnRequest).
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { DOMParser } from "@xmldom/xmldom";
import {
  appendQuery,
  buildAuthnRequest,
  newRequestId,
  parseAuthnRequest,
} from "../../src/saml/authn-request.ts";
import { readCertificate } from "../../src/saml/certs.ts";
import { SamlError } from "../../src/saml/errors.ts";
import { decodeRedirectMessage } from "../../src/saml/redirect.ts";
import { verifyRedirectQuery } from "../../src/saml/redirect-signature.ts";

const KEYS = join(import.meta.dirname, "../fixtures/keys");
const spKey = createPrivateKey(readFileSync(join(KEYS, "sp-rsa.key")));
const spCert = readCertificate(readFileSync(join(KEYS, "sp-rsa.crt"), "utf8"));
const otherCert = readCertificate(readFileSync(join(KEYS, "other-rsa.crt"), "utf8"));

const TENANT = "82869000-6ad1-48f0-8171-272ed18796e9";
const SSO = `https://login.microsoftonline.com/${TENANT}/saml2`;
const SP = "https://app.example.com/saml";
const ACS = "https://app.example.com/api/auth/saml/callback";
const NOW = new Date("2025-01-01T00:00:00.123Z");
const base = { spEntityId: SP, acsUrl: ACS, destination: SSO, now: NOW };

/** The AuthnRequest XML carried by a Redirect URL, decoded the way Entra does. */
function carried(url: string): string {
  const value = new URL(url).searchParams.get("SAMLRequest");
  assert.ok(value !== null);
  return decodeRedirectMessage(value, 64 * 1024);
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof SamlError, String(e));
    return e.code;
  }
  assert.fail("no refusal");
}

describe("AuthnRequest ID (AADSTS7500529: must not start with a digit)", () => {
  it("is '_' + 32 hex digits from the random source", () => {
    const built = buildAuthnRequest(base);
    assert.match(built.id, /^_[0-9a-f]{32}$/);
    assert.notEqual(buildAuthnRequest(base).id, built.id);
    assert.match(built.xml, new RegExp(` ID="${built.id}"`));
  });

  it("uses the injected random source (deterministic)", () => {
    const random = (n: number) => new Uint8Array(n).fill(0xab);
    assert.equal(newRequestId(random), `_${"ab".repeat(16)}`);
    assert.equal(buildAuthnRequest({ ...base, random }).id, `_${"ab".repeat(16)}`);
  });

  it("refuses an explicit ID starting with a digit, or not an NCName", () => {
    assert.throws(() => buildAuthnRequest({ ...base, id: "1abc" }), TypeError);
    assert.throws(() => buildAuthnRequest({ ...base, id: "a b" }), TypeError);
    assert.throws(() => buildAuthnRequest({ ...base, id: "" }), TypeError);
    assert.equal(buildAuthnRequest({ ...base, id: "_fixed" }).id, "_fixed");
  });
});

describe("AuthnRequest content (Entra's constraints)", () => {
  it("carries the exact Issuer, ACS URL, POST ProtocolBinding, Destination and IssueInstant", () => {
    const built = buildAuthnRequest(base);
    const p = parseAuthnRequest(carried(built.url));
    assert.equal(p.id, built.id);
    assert.equal(p.issuer, SP);
    assert.equal(p.acsUrl, ACS);
    assert.equal(p.destination, SSO);
    assert.equal(p.protocolBinding, "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
    assert.equal(p.issueInstant.toISOString(), "2025-01-01T00:00:00.123Z");
    assert.equal(p.forceAuthn, false);
    assert.equal(p.isPassive, false);
    assert.equal(p.nameIdFormat, undefined);
    assert.equal(p.hasSubject, false);
    assert.ok(Object.isFrozen(built) && Object.isFrozen(p));
  });

  it("sends no Subject, no RequestedAuthnContext and no NameIDPolicy by default", () => {
    const { xml } = buildAuthnRequest({ ...base, loginHint: "ada@contoso.com" });
    assert.doesNotMatch(xml, /Subject/);
    assert.doesNotMatch(xml, /RequestedAuthnContext/);
    assert.doesNotMatch(xml, /NameIDPolicy/);
    assert.doesNotMatch(xml, /ada@contoso\.com/, "the login hint never goes into the XML");
  });

  it("is namespace-well-formed for a conforming parser (xmldom)", () => {
    const { xml } = buildAuthnRequest({ ...base, nameIdFormat: "persistent", forceAuthn: true });
    const doc = new DOMParser().parseFromString(xml, "text/xml");
    const root = doc.documentElement!;
    assert.equal(root.namespaceURI, "urn:oasis:names:tc:SAML:2.0:protocol");
    assert.equal(root.localName, "AuthnRequest");
    const issuer = doc.getElementsByTagNameNS("urn:oasis:names:tc:SAML:2.0:assertion", "Issuer")[0];
    assert.equal(issuer?.textContent, SP);
  });

  it("escapes values in the XML", () => {
    const p = parseAuthnRequest(buildAuthnRequest({ ...base, spEntityId: "urn:a&b<c>" }).xml);
    assert.equal(p.issuer, "urn:a&b<c>");
  });

  it("sends ForceAuthn and IsPassive when asked", () => {
    const p = parseAuthnRequest(
      buildAuthnRequest({ ...base, forceAuthn: true, isPassive: true }).xml,
    );
    assert.equal(p.forceAuthn, true);
    assert.equal(p.isPassive, true);
  });

  it("requests only the NameID formats Entra honours (AADSTS75016)", () => {
    const expected = {
      persistent: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
      emailAddress: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
      unspecified: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
      transient: "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
    };
    for (const [short, uri] of Object.entries(expected)) {
      assert.equal(
        parseAuthnRequest(buildAuthnRequest({ ...base, nameIdFormat: short }).xml).nameIdFormat,
        uri,
      );
      assert.equal(
        parseAuthnRequest(buildAuthnRequest({ ...base, nameIdFormat: uri }).xml).nameIdFormat,
        uri,
      );
    }
    for (const bad of [
      "urn:oasis:names:tc:SAML:2.0:nameid-format:entity",
      "urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName",
      "email",
      "",
    ]) {
      assert.throws(() => buildAuthnRequest({ ...base, nameIdFormat: bad }), TypeError, bad);
    }
  });

  it("refuses missing or relative URLs and an empty entity ID", () => {
    assert.throws(() => buildAuthnRequest({ ...base, acsUrl: "/acs" }), TypeError);
    assert.throws(() => buildAuthnRequest({ ...base, destination: "" }), TypeError);
    assert.throws(() => buildAuthnRequest({ ...base, destination: "ftp://idp/sso" }), TypeError);
    assert.throws(() => buildAuthnRequest({ ...base, spEntityId: "" }), TypeError);
  });
});

describe("the Redirect URL", () => {
  it("puts login_hint as a query parameter on the SSO URL", () => {
    const { url } = buildAuthnRequest({ ...base, loginHint: "ada+test@contoso.com" });
    const u = new URL(url);
    assert.equal(`${u.origin}${u.pathname}`, SSO);
    assert.equal(u.searchParams.get("login_hint"), "ada+test@contoso.com");
    assert.deepEqual([...u.searchParams.keys()], ["SAMLRequest", "login_hint"]);
  });

  it("appends to an SSO URL that already has a query (Entra's ?appid=)", () => {
    const { url } = buildAuthnRequest({
      ...base,
      destination: `${SSO}?appid=1234`,
      loginHint: "ada@contoso.com",
      relayState: "/dash",
    });
    assert.ok(url.startsWith(`${SSO}?appid=1234&SAMLRequest=`), url);
    const u = new URL(url);
    assert.equal(u.searchParams.get("appid"), "1234");
    assert.equal(u.searchParams.get("RelayState"), "/dash");
    assert.equal(u.searchParams.get("login_hint"), "ada@contoso.com");
    assert.equal(url.split("?").length, 2, "one '?' only");
  });

  it("handles endpoints ending in '?' or '&', and refuses fragments or SAML parameters already there", () => {
    assert.equal(appendQuery("https://idp/sso?", "a=1"), "https://idp/sso?a=1");
    assert.equal(appendQuery("https://idp/sso?x=1&", "a=1"), "https://idp/sso?x=1&a=1");
    assert.throws(() => appendQuery("https://idp/sso#frag", "a=1"), TypeError);
    assert.throws(() => appendQuery("https://idp/sso?SAMLRequest=x", "a=1"), TypeError);
  });

  it("refuses a RelayState over 80 bytes (bindings 3.4.3)", () => {
    assert.throws(() => buildAuthnRequest({ ...base, relayState: "é".repeat(41) }), TypeError);
    assert.doesNotThrow(() => buildAuthnRequest({ ...base, relayState: "x".repeat(80) }));
  });

  it("signs SAMLRequest, RelayState and SigAlg in the spec's order; login_hint stays outside", () => {
    const { url, xml } = buildAuthnRequest({
      ...base,
      destination: `${SSO}?appid=1234`,
      relayState: "/dash",
      loginHint: "ada@contoso.com",
      signing: { privateKey: spKey },
    });
    const query = url.slice(url.indexOf("?") + 1);
    const names = query.split("&").map((p) => p.split("=")[0]);
    assert.deepEqual(names, [
      "appid",
      "SAMLRequest",
      "RelayState",
      "SigAlg",
      "Signature",
      "login_hint",
    ]);
    assert.match(query, /SigAlg=http%3A%2F%2Fwww\.w3\.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256/);
    const v = verifyRedirectQuery(
      query,
      [spCert],
      {},
      { extraParameters: ["appid", "login_hint"] },
    );
    assert.equal(v.xml, xml);
    assert.equal(v.relayState, "/dash");
    // A changed login_hint does not touch the signature; a changed RelayState does.
    const hinted = query.replace("login_hint=ada%40contoso.com", "login_hint=eve%40contoso.com");
    assert.equal(
      verifyRedirectQuery(hinted, [spCert], {}, { extraParameters: ["appid", "login_hint"] }).xml,
      xml,
    );
    const moved = query.replace("RelayState=%2Fdash", "RelayState=%2Fevil");
    assert.equal(
      code(() =>
        verifyRedirectQuery(moved, [spCert], {}, { extraParameters: ["appid", "login_hint"] }),
      ),
      "signature_invalid",
    );
    assert.equal(
      code(() =>
        verifyRedirectQuery(query, [otherCert], {}, { extraParameters: ["appid", "login_hint"] }),
      ),
      "signature_invalid",
    );
  });

  it("is unsigned unless a key is given", () => {
    const { url } = buildAuthnRequest(base);
    const u = new URL(url);
    assert.equal(u.searchParams.get("SigAlg"), null);
    assert.equal(u.searchParams.get("Signature"), null);
  });
});

describe("parseAuthnRequest (mock IdP, gatehouse inspect)", () => {
  const ns =
    'xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"';

  it("reads another SP's request (node-saml style, with a Subject)", () => {
    const p = parseAuthnRequest(
      `<samlp:AuthnRequest ${ns} ID="_x" Version="2.0" IssueInstant="2025-01-01T00:00:00Z" ForceAuthn="1" IsPassive="0"><saml:Issuer>urn:sp</saml:Issuer><saml:Subject><saml:NameID>a</saml:NameID></saml:Subject></samlp:AuthnRequest>`,
    );
    assert.equal(p.forceAuthn, true);
    assert.equal(p.isPassive, false);
    assert.equal(p.acsUrl, undefined);
    assert.equal(p.hasSubject, true);
  });

  it("refuses what is not an AuthnRequest, or lacks ID, Version, IssueInstant, Issuer", () => {
    const ok = `<samlp:AuthnRequest ${ns} ID="_x" Version="2.0" IssueInstant="2025-01-01T00:00:00Z"><saml:Issuer>urn:sp</saml:Issuer></samlp:AuthnRequest>`;
    assert.equal(parseAuthnRequest(ok).id, "_x");
    assert.equal(
      code(() => parseAuthnRequest(ok.replaceAll("AuthnRequest", "LogoutRequest"))),
      "schema_invalid",
    );
    assert.equal(
      code(() => parseAuthnRequest(ok.replace(' ID="_x"', ""))),
      "schema_invalid",
    );
    assert.equal(
      code(() => parseAuthnRequest(ok.replace('Version="2.0"', 'Version="1.0"'))),
      "schema_invalid",
    );
    assert.equal(
      code(() => parseAuthnRequest(ok.replace(' IssueInstant="2025-01-01T00:00:00Z"', ""))),
      "schema_invalid",
    );
    assert.equal(
      code(() => parseAuthnRequest(ok.replace("<saml:Issuer>urn:sp</saml:Issuer>", ""))),
      "schema_invalid",
    );
    assert.equal(
      code(() => parseAuthnRequest(ok.replace('Version="2.0"', 'Version="2.0" ForceAuthn="yes"'))),
      "schema_invalid",
    );
  });

  it("refuses malformed XML and DTDs", () => {
    assert.equal(
      code(() => parseAuthnRequest("<samlp:AuthnRequest")),
      "malformed_xml",
    );
    assert.equal(
      code(() => parseAuthnRequest('<!DOCTYPE x [<!ENTITY e "x">]><x/>')),
      "xml_dtd_forbidden",
    );
  });
});

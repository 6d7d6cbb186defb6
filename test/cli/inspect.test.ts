// `gatehouse inspect`: decodes any SAML message without validating it, run as a child process.
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { buildEntraLogoutRequest } from "../../src/mock-idp/logout.ts";
import { buildAuthnRequest } from "../../src/saml/authn-request.ts";
import { readCertificate } from "../../src/saml/certs.ts";
import { encodeRedirectMessage } from "../../src/saml/redirect.ts";
import { parseXml } from "../../src/saml/xml/parse.ts";
import { ACS, cli, entraResponse, IDP, keyFile, SP, TENANT, writeTmp } from "./run-cli.ts";

const NOW = "2027-03-01T10:05:00Z";
const fp = readCertificate(readFileSync(keyFile("idp-rsa", "crt"), "utf8")).fingerprint256;

function inspect(args: readonly string[], stdin?: string) {
  return cli(["inspect", "--now", NOW, ...args], stdin);
}
function inspectJson(stdin: string): Record<string, unknown> {
  const r = inspect(["--json"], stdin);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  return JSON.parse(r.stdout);
}

const response = entraResponse({
  inResponseTo: "_req-7",
  mutateAssertion: (x) =>
    x.replace(
      "<AttributeStatement>",
      '<AttributeStatement><Attribute Name="note"><AttributeValue>a &lt;b&gt; &amp; "c"</AttributeValue></Attribute>',
    ),
});

describe("inspect: a Response", () => {
  it("base64 and XML give the same facts: type, IDs, issuer, times from now, signature, certificate, attributes", () => {
    const fromXml = inspectJson(response);
    const fromB64 = inspectJson(Buffer.from(response).toString("base64"));
    assert.equal(fromXml.encoding, "xml");
    assert.equal(fromB64.encoding, "base64");
    assert.deepEqual({ ...fromB64, encoding: "xml" }, fromXml);
    assert.equal(fromXml.messageType, "Response");
    assert.equal(fromXml.issuer, IDP);
    assert.equal(fromXml.destination, ACS);
    assert.equal(fromXml.inResponseTo, "_req-7");
    assert.deepEqual(fromXml.status, {
      codes: ["urn:oasis:names:tc:SAML:2.0:status:Success"],
      message: null,
    });
    const [a] = fromXml.assertions as Record<string, unknown>[];
    assert.equal(a!.nameId, "alice@contoso.com");
    assert.deepEqual(a!.audiences, [SP]);
    assert.deepEqual((a!.attributes as Record<string, string[]>).note, ['a <b> & "c"']);
    const times = fromXml.times as { where: string; fromNow: string }[];
    assert.deepEqual(
      times.find((t) => t.where === "Response/Assertion/Conditions NotOnOrAfter")?.fromNow,
      "in 55 min",
    );
    assert.equal(times.find((t) => t.where === "Response IssueInstant")?.fromNow, "5 min ago");
    const [sig] = fromXml.signatures as Record<string, unknown>[];
    assert.equal(sig!.where, "Response/Assertion");
    assert.equal(sig!.referencesParent, true);
    assert.equal(sig!.signatureAlgorithm, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    const [c] = fromXml.certificates as Record<string, unknown>[];
    assert.equal(c!.fingerprint256, fp);
    assert.equal(c!.subject, "CN=Microsoft Azure Federated SSO Certificate");
    assert.equal(c!.expired, false);
  });

  it("prints a readable report, then the XML indented and correctly escaped (it parses back)", () => {
    const r = inspect([writeTmp("inspect-response.xml", response)]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Response {2}\(XML; not validated\)/);
    assert.ok(r.stdout.includes(fp));
    assert.match(r.stdout, /Conditions NotOnOrAfter\s+2027-03-01T11:00:00\.000Z {2}\(in 55 min\)/);
    const xml = r.stdout.slice(r.stdout.indexOf("\nXML\n") + 5);
    assert.ok(xml.includes('a &lt;b&gt; &amp; "c"'));
    const reparsed = parseXml(xml);
    assert.equal(reparsed.local, "Response");
  });

  it("a failure Response shows the status and its message", () => {
    const failure = `<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_f" Version="2.0" IssueInstant="2027-03-01T10:00:00Z"><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported"/></samlp:StatusCode><samlp:StatusMessage>AADSTS50105: not assigned</samlp:StatusMessage></samlp:Status></samlp:Response>`;
    const o = inspectJson(failure);
    assert.deepEqual(o.status, {
      codes: [
        "urn:oasis:names:tc:SAML:2.0:status:Requester",
        "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported",
      ],
      message: "AADSTS50105: not assigned",
    });
  });
});

describe("inspect: Redirect-binding messages", () => {
  const request = buildAuthnRequest({
    id: "_authn-1",
    spEntityId: SP,
    acsUrl: ACS,
    destination: `https://login.microsoftonline.com/${TENANT}/saml2`,
    now: new Date("2027-03-01T10:04:00Z"),
    relayState: "/dashboard",
  });

  it("a whole Redirect URL: SAMLRequest inflated, RelayState and the endpoint shown", () => {
    const o = inspectJson(request.url);
    assert.equal(o.encoding, "redirect-url");
    assert.equal(o.messageType, "AuthnRequest");
    assert.equal(o.id, "_authn-1");
    assert.equal(o.issuer, SP);
    const redirect = o.redirect as Record<string, unknown>;
    assert.equal(redirect.parameter, "SAMLRequest");
    assert.equal(redirect.relayState, "/dashboard");
    assert.equal(redirect.endpoint, `https://login.microsoftonline.com/${TENANT}/saml2`);
    assert.equal((o.request as Record<string, unknown>).assertionConsumerServiceUrl, ACS);
  });

  it("a bare deflated base64 value (and its URL-encoded form)", () => {
    const value = encodeRedirectMessage(request.xml);
    const o = inspectJson(value);
    assert.equal(o.encoding, "base64-deflated");
    assert.equal(o.messageType, "AuthnRequest");
    assert.equal(inspectJson(encodeURIComponent(value)).id, "_authn-1");
  });

  it("Entra's signed LogoutRequest URL: SigAlg and the query signature", () => {
    const logout = buildEntraLogoutRequest({
      tenantId: TENANT,
      destination: "https://app.example.com/api/auth/saml/logout/callback",
      nameId: "alice@contoso.com",
      sessionIndex: "_s-1",
      now: new Date("2027-03-01T10:00:00Z"),
      signingKey: createPrivateKey(readFileSync(keyFile("idp-rsa", "key"))),
    });
    const o = inspectJson(logout.url);
    assert.equal(o.messageType, "LogoutRequest");
    assert.deepEqual((o.logout as Record<string, unknown>).sessionIndexes, ["_s-1"]);
    const redirect = o.redirect as Record<string, unknown>;
    assert.equal(redirect.signature, true);
    assert.equal(redirect.sigAlg, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
  });
});

describe("inspect: metadata", () => {
  it("Entra Federation Metadata: roles, endpoints, certificates with expiry", () => {
    const file = join(import.meta.dirname, "../fixtures/metadata/good-entra-rotation/metadata.xml");
    const r = cli(["inspect", "--now", "2027-06-01T00:00:00Z", "--json", file]);
    assert.equal(r.status, 0, r.stderr);
    const o = JSON.parse(r.stdout);
    assert.equal(o.messageType, "EntityDescriptor");
    const [entity] = o.metadata;
    assert.deepEqual(
      entity.roles.map((x: { type: string }) => x.type),
      [
        "RoleDescriptor fed:SecurityTokenServiceType",
        "RoleDescriptor fed:ApplicationServiceType",
        "IDPSSODescriptor",
      ],
    );
    const expired = o.certificates.filter((c: { expired: boolean }) => c.expired);
    assert.equal(expired.length, 1);
    assert.ok(o.certificates.some((c: { fingerprint256: string }) => c.fingerprint256 === fp));
  });
});

describe("inspect: exit codes", () => {
  it("input that is not a SAML message exits 1 with the parser's code", () => {
    const r = inspect(["--json"], "<a><b></a>");
    assert.equal(r.status, 1);
    assert.deepEqual(Object.keys(JSON.parse(r.stdout)), ["ok", "code", "message"]);
    assert.equal(JSON.parse(r.stdout).code, "malformed_xml");
    assert.equal(inspect(["--json"], "!!!not base64").status, 1);
  });
  it("usage errors and unreadable files exit 2", () => {
    assert.equal(inspect(["/nonexistent/file.xml"]).status, 2);
    assert.equal(cli(["inspect", "--now", "yesterday"], response).status, 2);
    assert.equal(inspect(["--bogus"], response).status, 2);
    assert.equal(inspect([], "").status, 2);
  });
});

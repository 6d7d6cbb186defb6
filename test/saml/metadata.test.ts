// SAML metadata (saml-metadata-2.0-os): Gatehouse's SP metadata, and IdP metadata as Entra
// publishes it (ENTRA.md, "Metadata and certificates").
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  buildEntraFederationMetadata,
  entraFederationMetadataUrl,
} from "../../src/mock-idp/metadata.ts";
import { readCertificate, type TrustedCertificate } from "../../src/saml/certs.ts";
import { SamlError } from "../../src/saml/errors.ts";
import {
  MAX_METADATA_BYTES,
  readIdpMetadata,
  renderSpMetadata,
  verifyMetadataSignature,
} from "../../src/saml/metadata.ts";
import { parseXml } from "../../src/saml/xml/parse.ts";
import { attr, children, descendants } from "../../src/saml/xml/tree.ts";

const KEYS = join(import.meta.dirname, "../fixtures/keys");
const FIXTURES = join(import.meta.dirname, "../fixtures/metadata");
const cert = (name: string): TrustedCertificate =>
  readCertificate(readFileSync(join(KEYS, `${name}.crt`), "utf8"));
const idpKey = createPrivateKey(readFileSync(join(KEYS, "idp-rsa.key")));
const idp = cert("idp-rsa");
const idp2 = cert("idp2-rsa");
const expired = cert("idp-expired-rsa");
const other = cert("other-rsa");
const sp = cert("sp-rsa");

const TENANT = "82869000-6ad1-48f0-8171-272ed18796e9";
const SAML2_ENDPOINT = `https://login.microsoftonline.com/${TENANT}/saml2`;
const NOW = new Date("2027-06-01T00:00:00.000Z");
const MD_NS = "urn:oasis:names:tc:SAML:2.0:metadata";

function entra(over: Partial<Parameters<typeof buildEntraFederationMetadata>[0]> = {}): string {
  return buildEntraFederationMetadata({
    tenantId: TENANT,
    certificates: [idp.base64, idp2.base64],
    signingKey: idpKey,
    signingCertificate: idp.base64,
    now: NOW,
    ...over,
  });
}

function refusal(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SamlError, String(e));
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe("the mock IdP's Federation Metadata has Entra's shape", () => {
  const xml = entra();
  it("starts with a UTF-8 byte-order mark, then the XML declaration", () => {
    assert.equal(xml.charCodeAt(0), 0xfeff);
    assert.ok(xml.startsWith('\uFEFF<?xml version="1.0" encoding="utf-8"?><EntityDescriptor '));
  });
  it("has ID=_<guid>, the Signature first, two RoleDescriptors before IDPSSODescriptor, no NameIDFormat", () => {
    const root = parseXml(xml);
    assert.match(
      attr(root, "ID") ?? "",
      /^_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    assert.equal(attr(root, "entityID"), `https://sts.windows.net/${TENANT}/`);
    const kids = root.children.filter((c) => c.type === "element").map((c) => c.local);
    assert.deepEqual(kids, ["Signature", "RoleDescriptor", "RoleDescriptor", "IDPSSODescriptor"]);
    const types = children(root, MD_NS, "RoleDescriptor").map((r) =>
      attr(r, "type", "http://www.w3.org/2001/XMLSchema-instance"),
    );
    assert.deepEqual(types, ["fed:SecurityTokenServiceType", "fed:ApplicationServiceType"]);
    assert.equal([...descendants(root)].filter((e) => e.local === "NameIDFormat").length, 0);
  });
  it("is signed with the app certificate (verifyMetadataSignature)", () => {
    assert.equal(
      verifyMetadataSignature(xml, [idp2, idp]).certificate.fingerprint256,
      idp.fingerprint256,
    );
    refusal(() => verifyMetadataSignature(xml, [other]), "signature_unknown_key");
    refusal(
      () => verifyMetadataSignature(xml.replace('saml2"', 'saml3"'), [idp]),
      "digest_mismatch",
    );
    const unsigned = readFileSync(
      join(FIXTURES, "bad-metadata_missing_endpoint-post-only/metadata.xml"),
      "utf8",
    );
    refusal(() => verifyMetadataSignature(unsigned, [idp]), "signature_missing");
  });
  it("publishes its URL with the app ID", () => {
    assert.equal(
      entraFederationMetadataUrl(TENANT, "app-1"),
      `https://login.microsoftonline.com/${TENANT}/federationmetadata/2007-06/federationmetadata.xml?appid=app-1`,
    );
  });
});

describe("readIdpMetadata: Entra Federation Metadata", () => {
  it("reads the entity ID, SSO Redirect+POST, SLO Redirect and every signing certificate", () => {
    const md = readIdpMetadata(entra(), { now: NOW });
    assert.equal(md.entityId, `https://sts.windows.net/${TENANT}/`);
    assert.equal(md.ssoRedirectUrl, SAML2_ENDPOINT);
    assert.equal(md.ssoPostUrl, SAML2_ENDPOINT);
    assert.equal(md.sloRedirectUrl, SAML2_ENDPOINT);
    assert.equal(md.sloPostUrl, undefined);
    // Active and inactive alike, in document order: never "the first one" (ENTRA.md).
    assert.deepEqual(
      md.certificates.map((c) => c.fingerprint256),
      [idp.fingerprint256, idp2.fingerprint256],
    );
    assert.deepEqual(md.expiredCertificates, []);
    assert.deepEqual(md.nameIdFormats, []);
    assert.deepEqual(md.warnings, []);
    assert.ok(
      Object.isFrozen(md) && Object.isFrozen(md.certificates) && Object.isFrozen(md.warnings),
    );
  });

  it("takes keys only from IDPSSODescriptor, never from the WS-Federation RoleDescriptors", () => {
    const md = readIdpMetadata(entra({ roleDescriptorCertificates: [other.base64] }), { now: NOW });
    assert.ok(!md.certificates.some((c) => c.fingerprint256 === other.fingerprint256));
    assert.equal(md.certificates.length, 2);
  });

  it("keeps unexpired certificates and reports expired ones with a warning", () => {
    const xml = readFileSync(join(FIXTURES, "good-entra-rotation/metadata.xml"), "utf8");
    const md = readIdpMetadata(xml, { now: NOW });
    assert.deepEqual(
      md.certificates.map((c) => c.fingerprint256),
      [idp.fingerprint256, idp2.fingerprint256],
    );
    assert.deepEqual(
      md.expiredCertificates.map((c) => c.fingerprint256),
      [expired.fingerprint256],
    );
    assert.equal(md.warnings.length, 1);
    assert.match(md.warnings[0]!, new RegExp(expired.fingerprint256));
    assert.equal(
      verifyMetadataSignature(xml, md.certificates).certificate.fingerprint256,
      idp.fingerprint256,
    );
  });

  it("accepts an EntitiesDescriptor holding exactly one IdP (beside SPs)", () => {
    const inner = entra().replace(/^\uFEFF<\?xml[^>]*\?>/, "");
    const spEntity = renderSpMetadata({ entityId: "https://sp", acsUrl: "https://sp/acs" }).replace(
      /^<\?xml[^>]*\?>\n/,
      "",
    );
    const xml = `<EntitiesDescriptor xmlns="${MD_NS}">${spEntity}${inner}</EntitiesDescriptor>`;
    assert.equal(readIdpMetadata(xml, { now: NOW }).entityId, `https://sts.windows.net/${TENANT}/`);
  });

  it("accepts a no-use KeyDescriptor as a signing key and ignores use=encryption", () => {
    const xml = entra()
      .replace('<KeyDescriptor use="signing">', "<KeyDescriptor>")
      .replace(
        /(<IDPSSODescriptor[^>]*>)<KeyDescriptor use="signing">/,
        '$1<KeyDescriptor use="encryption">',
      );
    const md = readIdpMetadata(xml, { now: NOW });
    assert.equal(md.certificates.length, 1);
  });

  it(`refuses more than ${MAX_METADATA_BYTES} bytes with input_too_large, and allows up to it`, () => {
    const base = entra();
    const pad = (n: number) =>
      base.replace("<RoleDescriptor", `<!--${"x".repeat(n)}--><RoleDescriptor`);
    const room = MAX_METADATA_BYTES - Buffer.byteLength(base) - 7;
    assert.equal(readIdpMetadata(pad(room), { now: NOW }).certificates.length, 2);
    refusal(() => readIdpMetadata(pad(room + 1), { now: NOW }), "input_too_large");
  });

  it("refuses when every signing certificate has expired at now (certificate_expired)", () => {
    refusal(
      () => readIdpMetadata(entra(), { now: new Date("2037-01-01T00:00:00Z") }),
      "certificate_expired",
    );
  });
});

describe("readIdpMetadata refusals, one fixture directory per rule", () => {
  const dirs = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory());
  const bad = dirs.filter((d) => d.name.startsWith("bad-"));
  it("has fixtures for every metadata refusal code", () => {
    const codes = new Set(bad.map((d) => /^bad-([a-z0-9_]+)/.exec(d.name)![1]));
    for (const code of [
      "metadata_invalid",
      "metadata_is_sp",
      "metadata_missing_endpoint",
      "certificate_expired",
    ]) {
      assert.ok(codes.has(code), code);
    }
  });
  for (const d of bad) {
    const code = /^bad-([a-z0-9_]+?)(?:-[a-z0-9-]+)?$/.exec(d.name)![1]!;
    it(`${d.name} is refused with ${code}`, () => {
      const xml = readFileSync(join(FIXTURES, d.name, "metadata.xml"), "utf8");
      refusal(() => readIdpMetadata(xml, { now: NOW }), code);
    });
  }
  for (const d of dirs.filter((x) => x.name.startsWith("good-"))) {
    it(`${d.name} is accepted`, () => {
      const xml = readFileSync(join(FIXTURES, d.name, "metadata.xml"), "utf8");
      assert.ok(readIdpMetadata(xml, { now: NOW }).certificates.length > 0);
    });
  }
});

describe("renderSpMetadata", () => {
  const xml = renderSpMetadata({
    entityId: "https://app.example.com/saml",
    acsUrl: "https://app.example.com/api/auth/saml/callback?a=1&b=2",
    sloUrl: "https://app.example.com/api/auth/saml/logout/callback",
    signingCertificates: [sp.pem],
    encryptionCertificates: [sp.base64],
  });
  const root = parseXml(xml);
  const descriptor = children(root, MD_NS, "SPSSODescriptor")[0]!;

  it("parses with our parser, in the schema's element order", () => {
    assert.equal(root.local, "EntityDescriptor");
    assert.equal(attr(root, "entityID"), "https://app.example.com/saml");
    assert.equal(
      attr(descriptor, "protocolSupportEnumeration"),
      "urn:oasis:names:tc:SAML:2.0:protocol",
    );
    assert.equal(attr(descriptor, "AuthnRequestsSigned"), "true");
    assert.equal(attr(descriptor, "WantAssertionsSigned"), "true");
    const order = descriptor.children.filter((c) => c.type === "element").map((c) => c.local);
    assert.deepEqual(order, [
      "KeyDescriptor",
      "KeyDescriptor",
      "SingleLogoutService",
      "SingleLogoutService",
      "NameIDFormat",
      "AssertionConsumerService",
    ]);
  });
  it("declares signing and encryption keys, SLO Redirect and POST, the ACS on POST index 0 isDefault", () => {
    const kds = children(descriptor, MD_NS, "KeyDescriptor");
    assert.deepEqual(
      kds.map((k) => attr(k, "use")),
      ["signing", "encryption"],
    );
    const certText = [...descendants(kds[0]!)].find((e) => e.local === "X509Certificate")!;
    assert.equal(certText.children[0]?.type === "text" && certText.children[0].value, sp.base64);
    const slo = children(descriptor, MD_NS, "SingleLogoutService").map((e) => attr(e, "Binding"));
    assert.deepEqual(slo, [
      "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
      "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
    ]);
    const acs = children(descriptor, MD_NS, "AssertionConsumerService")[0]!;
    assert.equal(attr(acs, "Binding"), "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
    assert.equal(attr(acs, "Location"), "https://app.example.com/api/auth/saml/callback?a=1&b=2");
    assert.equal(attr(acs, "index"), "0");
    assert.equal(attr(acs, "isDefault"), "true");
  });
  it("round trip: readIdpMetadata refuses it with metadata_is_sp", () => {
    refusal(() => readIdpMetadata(xml, { now: NOW }), "metadata_is_sp");
  });
  it("without certificates, AuthnRequestsSigned is false and the NameIDFormat is configurable", () => {
    const plain = parseXml(
      renderSpMetadata({
        entityId: "spn:1234",
        acsUrl: "https://a/acs",
        nameIdFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        wantAssertionsSigned: false,
      }),
    );
    const d = children(plain, MD_NS, "SPSSODescriptor")[0]!;
    assert.equal(attr(d, "AuthnRequestsSigned"), "false");
    assert.equal(attr(d, "WantAssertionsSigned"), "false");
    assert.equal(children(d, MD_NS, "KeyDescriptor").length, 0);
    assert.equal(children(d, MD_NS, "SingleLogoutService").length, 0);
  });
  it("refuses a bad entity ID, ACS URL or certificate", () => {
    refusal(() => renderSpMetadata({ entityId: "", acsUrl: "https://a/acs" }), "metadata_invalid");
    refusal(() => renderSpMetadata({ entityId: "x", acsUrl: "/acs" }), "metadata_invalid");
    refusal(
      () =>
        renderSpMetadata({ entityId: "x", acsUrl: "https://a/acs", signingCertificates: ["nope"] }),
      "certificate_invalid",
    );
  });
});

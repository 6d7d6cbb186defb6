// The connection doctor: each broken configuration gives its finding, with the severity the
// setup page acts on and a fix naming the field to change in Entra. Metadata cases come from the
// fixture directories (read at the generator's clock); certificate ages are fixed relative to the
// test certificates' own notAfter, so nothing here rots with the calendar.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { type DoctorInput, diagnose, type Finding } from "../../src/domain/doctor.ts";
import type { AuditEvent } from "../../src/domain/model.ts";
import { readCertificate } from "../../src/saml/certs.ts";
import { SamlError, type SamlErrorCode, type SamlErrorDetail } from "../../src/saml/errors.ts";
import { MAX_METADATA_BYTES } from "../../src/saml/metadata.ts";

const KEYS = join(import.meta.dirname, "../fixtures/keys");
const METADATA = join(import.meta.dirname, "../fixtures/metadata");
const cert = (name: string) => readCertificate(readFileSync(join(KEYS, `${name}.crt`), "utf8"));
const VALID = cert("idp-rsa");
const EXPIRED = cert("idp-expired-rsa");
const DAY_MS = 86_400_000;
/** The clock test/fixtures/metadata/generate.ts reads its fixtures at. */
const METADATA_NOW = new Date("2027-06-01T00:00:00.000Z");
/** The fix of every upload that cannot be read. */
const DOWNLOAD_AGAIN =
  "Download the Federation Metadata XML again from Entra (Single sign-on, SAML Certificates, Federation Metadata XML, Download) and upload that file unchanged: not a page saved from the browser, not a copy opened and edited.";
/** A year before the valid certificate expires, long after the expired one did. */
const NOW = new Date(VALID.notAfter.getTime() - 365 * DAY_MS);

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const ENTRA_ISSUER = `https://sts.windows.net/${TENANT}/`;
const ENTRA_LOGIN = `https://login.microsoftonline.com/${TENANT}/saml2`;
const SP = {
  identifier: "https://gatehouse.example.com/sp/contoso",
  replyUrl: "https://gatehouse.example.com/api/auth/saml/callback",
  logoutUrl: "https://gatehouse.example.com/api/auth/saml/logout/callback",
};

type TestConnection = NonNullable<DoctorInput["connection"]>;

/** A healthy Entra connection; each test breaks one thing. */
function connection(over: Partial<TestConnection> = {}): TestConnection {
  return {
    id: "conn_1",
    idpEntityId: ENTRA_ISSUER,
    ssoUrl: ENTRA_LOGIN,
    sloUrl: ENTRA_LOGIN,
    certificates: [VALID.base64],
    allowSha1: false,
    ...over,
  };
}

function run(over: Partial<DoctorInput> = {}): Finding[] {
  return diagnose({ connection: connection(), sp: SP, now: NOW, ...over });
}

function metadata(dir: string): string {
  return readFileSync(join(METADATA, dir, "metadata.xml"), "utf8");
}

function fixtureDirs(prefix: string): string[] {
  const dirs = readdirSync(METADATA).filter((d) => d.startsWith(prefix));
  assert.ok(dirs.length > 0, `no fixture directory starts with ${prefix}`);
  return dirs;
}

/** The one finding with this code; fails when there is none or several. */
function only(findings: readonly Finding[], code: string): Finding {
  const hits = findings.filter((f) => f.code === code);
  assert.equal(hits.length, 1, `${code} in ${JSON.stringify(findings.map((f) => f.code))}`);
  return hits[0]!;
}

function codes(findings: readonly Finding[]): string[] {
  return findings.map((f) => f.code);
}

function errors(findings: readonly Finding[]): string[] {
  return findings.filter((f) => f.severity === "error").map((f) => f.code);
}

/** A failed login's audit event, its detail shaped as the ACS and Test SSO record a SamlError. */
function samlFailure(code: SamlErrorCode, detail: SamlErrorDetail): AuditEvent {
  const e = new SamlError(code, detail);
  return failure(code, { message: e.message, ...e.detail, fix: e.fix });
}

function failure(reason: string, detail: Record<string, unknown>): AuditEvent {
  return {
    id: "evt_1",
    at: new Date(NOW.getTime() - 3_600_000),
    reference: "REF-1234",
    type: "login.sso",
    outcome: "failure",
    reason,
    accountId: "acc_1",
    userId: null,
    connectionId: "conn_1",
    actor: "idp",
    ip: "203.0.113.9",
    detail,
  };
}

describe("doctor: uploaded metadata", () => {
  for (const dir of fixtureDirs("bad-metadata_is_sp-")) {
    it(`${dir}: SP metadata instead of the IdP's is metadata_is_sp, fixed from Federation Metadata XML`, () => {
      const findings = diagnose({ metadataXml: metadata(dir), sp: SP, now: METADATA_NOW });
      const f = only(findings, "metadata_is_sp");
      assert.equal(f.severity, "error");
      assert.match(f.fix, /SAML Certificates/);
      assert.match(f.fix, /Federation Metadata XML/);
      assert.deepEqual(errors(findings), ["metadata_is_sp"]);
    });
  }

  for (const dir of fixtureDirs("bad-metadata_missing_endpoint-")) {
    it(`${dir}: no HTTP-Redirect sign-on endpoint is sso_endpoint_missing, naming Entra's Login URL`, () => {
      const findings = diagnose({ metadataXml: metadata(dir), sp: SP, now: METADATA_NOW });
      const f = only(findings, "sso_endpoint_missing");
      assert.equal(f.severity, "error");
      assert.match(f.message, /HTTP-Redirect/);
      assert.match(f.fix, /Federation Metadata XML/);
      assert.match(f.fix, /Login URL/);
      assert.deepEqual(errors(findings), ["sso_endpoint_missing"]);
    });
  }

  it("every certificate expired is certificates_all_expired, fixed in SAML Certificates", () => {
    const findings = diagnose({
      metadataXml: metadata("bad-certificate_expired-every-certificate"),
      sp: SP,
      now: METADATA_NOW,
    });
    const f = only(findings, "certificates_all_expired");
    assert.equal(f.severity, "error");
    assert.match(f.message, /expired/);
    assert.match(f.fix, /SAML Certificates/);
    assert.match(f.fix, /add a new certificate, make it active/);
    assert.deepEqual(errors(findings), ["certificates_all_expired"]);
  });

  const unreadable = [
    ...fixtureDirs("bad-metadata_invalid-"),
    ...fixtureDirs("bad-certificate_invalid-"),
  ];
  for (const dir of unreadable) {
    it(`${dir}: metadata that cannot be read is metadata_unreadable, fixed by downloading it again`, () => {
      const findings = diagnose({ metadataXml: metadata(dir), sp: SP, now: METADATA_NOW });
      const f = only(findings, "metadata_unreadable");
      assert.equal(f.severity, "error");
      assert.match(f.message, /^The metadata could not be read: /);
      assert.equal(f.fix, DOWNLOAD_AGAIN);
      assert.deepEqual(errors(findings), ["metadata_unreadable"]);
    });
  }

  // The XML-level refusals are shared with SAML Responses, whose fixes speak of the POST to the
  // Reply URL: an upload gets the metadata's own.
  for (const [name, text] of [
    ["text that is not XML", "this is not metadata"],
    ["an empty upload", ""],
    ["XML cut short", '<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">'],
    ["a DOCTYPE", '<!DOCTYPE x [<!ENTITY a "b">]><EntityDescriptor/>'],
    ["a page saved from the browser", "<!DOCTYPE html><html><body>Federation</body></html>"],
    ["an XHTML page", '<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>'],
    ["a file over the size limit", `<a>${"x".repeat(MAX_METADATA_BYTES)}</a>`],
  ] as const) {
    it(`${name} is metadata_unreadable (a finding, never a thrown error), fixed by downloading the file again`, () => {
      const findings = diagnose({ metadataXml: text, sp: SP, now: METADATA_NOW });
      const f = only(findings, "metadata_unreadable");
      assert.equal(f.severity, "error");
      assert.equal(f.fix, DOWNLOAD_AGAIN);
      assert.doesNotMatch(f.fix, /Reply URL|POST|SAML message|Capture/);
      assert.deepEqual(errors(findings), ["metadata_unreadable"]);
    });
  }

  it("checks the uploaded metadata, not the saved connection it replaces", () => {
    const findings = diagnose({
      connection: connection({ certificates: [], ssoUrl: "" }),
      metadataXml: metadata("good-entra-rotation"),
      sp: SP,
      now: METADATA_NOW,
    });
    assert.deepEqual(errors(findings), []);
    assert.equal(only(findings, "metadata_readable").severity, "ok");
  });
});

describe("doctor: a healthy connection", () => {
  it("good Entra metadata (rotation, one expired certificate kept) has no error", () => {
    for (const dir of fixtureDirs("good-")) {
      const findings = diagnose({ metadataXml: metadata(dir), sp: SP, now: METADATA_NOW });
      assert.deepEqual(errors(findings), [], dir);
      assert.match(only(findings, "metadata_readable").message, /sts\.windows\.net/);
      assert.equal(only(findings, "sso_endpoint").severity, "ok");
      assert.equal(only(findings, "certificates_valid").severity, "ok");
      assert.equal(only(findings, "reply_url").severity, "ok");
      // Entra publishes its logout URL: nothing to say about it.
      assert.ok(!codes(findings).includes("slo_endpoint_missing"));
    }
  });

  it("a saved Entra connection gives only ok findings, every one with an empty fix", () => {
    const findings = run();
    assert.deepEqual(codes(findings), ["sso_endpoint", "certificates_valid", "reply_url"]);
    for (const f of findings) {
      assert.equal(f.severity, "ok");
      assert.equal(f.fix, "");
    }
  });

  it("sorts errors before warnings before ok findings", () => {
    const findings = run({
      connection: connection({ sloUrl: null, allowSha1: true, idpEntityId: "https://x.test" }),
      sp: { ...SP, replyUrl: "http://gatehouse.example.com/acs" },
      otherConnections: [{ id: "conn_2", spEntityId: SP.identifier, accountId: "acc_2" }],
      lastFailure: samlFailure("audience_invalid", { expected: SP.identifier, received: "x" }),
    });
    const rank = { error: 0, warning: 1, ok: 2 } as const;
    const ranks = findings.map((f) => rank[f.severity]);
    assert.deepEqual(
      ranks,
      [...ranks].sort((a, b) => a - b),
    );
    assert.deepEqual(new Set(ranks), new Set([0, 1, 2]));
    // Several errors, several warnings: a real mix, not a trivially sorted list.
    assert.ok(ranks.filter((r) => r === 0).length >= 3, JSON.stringify(codes(findings)));
    assert.ok(ranks.filter((r) => r === 1).length >= 2, JSON.stringify(codes(findings)));
  });
});

describe("doctor: the saved connection's IdP side", () => {
  it("nothing configured yet is metadata_missing, asking for the Federation Metadata XML", () => {
    const f = only(diagnose({ sp: SP, now: NOW }), "metadata_missing");
    assert.equal(f.severity, "error");
    assert.match(f.fix, /SAML Certificates: download Federation Metadata XML/);
    assert.match(f.fix, /App Federation Metadata Url/);
  });

  it("no sign-on URL is sso_endpoint_missing, naming Entra's Login URL", () => {
    const f = only(run({ connection: connection({ ssoUrl: "" }) }), "sso_endpoint_missing");
    assert.equal(f.severity, "error");
    assert.match(f.fix, /copy Login URL/);
  });

  it("no logout URL is an slo_endpoint_missing warning, naming Entra's Logout URL", () => {
    const findings = run({ connection: connection({ sloUrl: null }) });
    const f = only(findings, "slo_endpoint_missing");
    assert.equal(f.severity, "warning");
    assert.match(f.fix, /copy Logout URL/);
    assert.deepEqual(errors(findings), []);
  });

  it("SHA-1 allowed is a sha1_allowed warning, naming Entra's Signing Algorithm", () => {
    const f = only(run({ connection: connection({ allowSha1: true }) }), "sha1_allowed");
    assert.equal(f.severity, "warning");
    assert.match(f.fix, /SAML Certificates, Signing Algorithm: choose SHA-256/);
    assert.ok(!codes(run()).includes("sha1_allowed"));
  });

  it("no certificate is certificates_missing; an unreadable one is certificate_unreadable", () => {
    const none = only(
      run({ connection: connection({ certificates: [] }) }),
      "certificates_missing",
    );
    assert.equal(none.severity, "error");
    assert.match(none.fix, /SAML Certificates/);
    const findings = run({ connection: connection({ certificates: ["not a certificate"] }) });
    assert.equal(only(findings, "certificate_unreadable").severity, "error");
    assert.match(only(findings, "certificate_unreadable").message, /certificate 1/);
    only(findings, "certificates_missing");
  });

  it("an unreadable certificate beside a valid one is reported, the valid one still checked", () => {
    const findings = run({ connection: connection({ certificates: ["@@", VALID.base64] }) });
    assert.match(only(findings, "certificate_unreadable").message, /certificate 1/);
    assert.equal(only(findings, "certificates_valid").severity, "ok");
  });
});

describe("doctor: certificate expiry", () => {
  const at = (msBeforeExpiry: number) => new Date(VALID.notAfter.getTime() - msBeforeExpiry);

  it("every certificate expired is certificates_all_expired, naming SAML Certificates", () => {
    const findings = run({ connection: connection({ certificates: [EXPIRED.base64] }) });
    const f = only(findings, "certificates_all_expired");
    assert.equal(f.severity, "error");
    assert.match(f.message, new RegExp(EXPIRED.notAfter.toISOString().slice(0, 10)));
    assert.match(f.fix, /In Entra, Single sign-on, SAML Certificates: add a new certificate/);
  });

  it("a certificate expires at its notAfter instant, not a millisecond later", () => {
    const findings = run({ now: at(0) });
    assert.equal(only(findings, "certificates_all_expired").severity, "error");
    assert.ok(!codes(run({ now: at(1) })).includes("certificates_all_expired"));
  });

  it("an expired certificate beside a valid one is a certificate_expired_in_set warning", () => {
    const findings = run({
      connection: connection({ certificates: [VALID.base64, EXPIRED.base64] }),
    });
    const f = only(findings, "certificate_expired_in_set");
    assert.equal(f.severity, "warning");
    assert.match(f.message, new RegExp(EXPIRED.thumbprint));
    assert.ok(!f.message.includes(VALID.thumbprint));
    assert.match(
      f.fix,
      /SAML Certificates: make the newest certificate active, delete the expired/,
    );
    assert.deepEqual(errors(findings), []);
    assert.equal(only(findings, "certificates_valid").severity, "ok");
  });

  // Entra mails its expiry warnings at 60, 30 and 7 days; the doctor names the nearest threshold.
  const cases: [string, number, string | undefined][] = [
    ["61 days", 61 * DAY_MS, undefined],
    ["exactly 60 days", 60 * DAY_MS, undefined],
    ["60 days less a minute", 60 * DAY_MS - 60_000, "certificate_expires_60d"],
    ["45 days", 45 * DAY_MS, "certificate_expires_60d"],
    ["exactly 30 days", 30 * DAY_MS, "certificate_expires_60d"],
    ["29 days", 29 * DAY_MS + 3_600_000, "certificate_expires_30d"],
    ["exactly 7 days", 7 * DAY_MS, "certificate_expires_30d"],
    ["6 days", 6 * DAY_MS + 3_600_000, "certificate_expires_7d"],
    ["an hour", 3_600_000, "certificate_expires_7d"],
  ];
  for (const [left, ms, code] of cases) {
    it(`${left} before expiry: ${code ?? "certificates_valid, no warning"}`, () => {
      const findings = run({ now: at(ms) });
      const expiry = findings.filter((f) => f.code.startsWith("certificate_expires_"));
      if (code === undefined) {
        assert.deepEqual(expiry, []);
        assert.equal(only(findings, "certificates_valid").severity, "ok");
        return;
      }
      assert.deepEqual(codes(expiry), [code]);
      const f = expiry[0]!;
      assert.equal(f.severity, "warning");
      assert.match(f.message, new RegExp(`expires in ${Math.floor(ms / DAY_MS)} day`));
      assert.match(f.message, new RegExp(VALID.notAfter.toISOString().slice(0, 10)));
      assert.match(f.fix, /In Entra, SAML Certificates: add a new certificate and make it active/);
      assert.ok(!codes(findings).includes("certificates_valid"));
    });
  }

  it("the newest certificate decides: an older one about to expire raises no warning", () => {
    // idp-expired-rsa has 10 days left here, idp-rsa years: the set stays valid.
    const findings = run({
      connection: connection({ certificates: [EXPIRED.base64, VALID.base64] }),
      now: new Date(EXPIRED.notAfter.getTime() - 10 * DAY_MS),
    });
    assert.ok(!codes(findings).some((c) => c.startsWith("certificate_expires_")));
    assert.ok(!codes(findings).includes("certificate_expired_in_set"));
    assert.match(
      only(findings, "certificates_valid").message,
      new RegExp(VALID.notAfter.toISOString().slice(0, 10)),
    );
  });
});

describe("doctor: the IdP entity ID against Entra's issuer", () => {
  it("Entra's issuer without its trailing slash is idp_entity_id_slash", () => {
    const findings = run({
      connection: connection({ idpEntityId: `https://sts.windows.net/${TENANT}` }),
    });
    const f = only(findings, "idp_entity_id_slash");
    assert.equal(f.severity, "error");
    assert.match(f.fix, /Microsoft Entra Identifier ends with a slash/);
    assert.ok(f.fix.includes(`set the IdP entity ID to ${ENTRA_ISSUER},`));
    assert.ok(!codes(findings).includes("idp_entity_id_not_entra"));
  });

  it("a non-Entra issuer with Entra's login URL is idp_entity_id_not_entra, with the tenant's issuer", () => {
    for (const idpEntityId of [
      "https://idp.contoso.com/saml",
      `https://login.microsoftonline.com/${TENANT}/`,
      `http://sts.windows.net/${TENANT}/`,
    ]) {
      const findings = run({ connection: connection({ idpEntityId }) });
      const f = only(findings, "idp_entity_id_not_entra");
      assert.equal(f.severity, "error");
      assert.ok(f.message.includes(idpEntityId));
      assert.ok(f.fix.includes(`copy Microsoft Entra Identifier (${ENTRA_ISSUER})`), f.fix);
      assert.ok(!codes(findings).includes("idp_entity_id_slash"));
    }
  });

  it("Entra's US government cloud login host is Entra too", () => {
    const findings = run({
      connection: connection({
        idpEntityId: "https://idp.contoso.com",
        ssoUrl: `https://login.microsoftonline.us/${TENANT}/saml2`,
      }),
    });
    only(findings, "idp_entity_id_not_entra");
  });

  it("another IdP's issuer with its own login URL is not questioned", () => {
    const findings = run({
      connection: connection({
        idpEntityId: "http://www.okta.com/exk1abcd",
        ssoUrl: "https://contoso.okta.com/app/exk1abcd/sso/saml",
      }),
    });
    assert.ok(!codes(findings).some((c) => c.startsWith("idp_entity_id_")));
  });

  it("the correct Entra issuer is not questioned", () => {
    assert.ok(!codes(run()).some((c) => c.startsWith("idp_entity_id_")));
    assert.ok(!codes(run()).includes("idp_tenant_mismatch"));
  });

  const OTHER_TENANT = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0";
  for (const host of ["login.microsoftonline.com", "login.microsoftonline.us"]) {
    it(`an Entra issuer and a ${host} Login URL of two tenants is idp_tenant_mismatch`, () => {
      const ssoUrl = `https://${host}/${OTHER_TENANT}/saml2`;
      const findings = run({ connection: connection({ ssoUrl }) });
      const f = only(findings, "idp_tenant_mismatch");
      assert.equal(f.severity, "error");
      assert.equal(
        f.message,
        `The IdP entity ID ${ENTRA_ISSUER} names the Entra tenant ${TENANT}, but the Login URL ${ssoUrl} names another, ${OTHER_TENANT}.`,
      );
      assert.match(f.fix, /Set up section of the same Entra application/);
      assert.match(f.fix, /upload the Federation Metadata XML of that one application again/);
      assert.deepEqual(errors(findings), ["idp_tenant_mismatch"]);
    });
  }

  it("is not idp_tenant_mismatch when only the letter case differs, or the URL names no tenant ID", () => {
    for (const ssoUrl of [
      `https://login.microsoftonline.com/${TENANT.toUpperCase()}/saml2`,
      "https://login.microsoftonline.com/contoso.onmicrosoft.com/saml2",
    ]) {
      const findings = run({ connection: connection({ ssoUrl }) });
      assert.deepEqual(errors(findings), [], ssoUrl);
    }
  });

  it("uploaded metadata naming two tenants is idp_tenant_mismatch too", () => {
    const xml = metadata("good-entra-rotation");
    const issuer = /entityID="([^"]+)"/.exec(xml)![1]!;
    const issuerTenant = /[0-9a-f-]{36}/.exec(issuer)![0];
    assert.ok(xml.includes(`/${issuerTenant}/saml2`), "the fixture's Login URL names its tenant");
    const mixed = xml.replaceAll(`/${issuerTenant}/saml2`, `/${OTHER_TENANT}/saml2`);
    const findings = diagnose({ metadataXml: mixed, sp: SP, now: METADATA_NOW });
    assert.deepEqual(errors(findings), ["idp_tenant_mismatch"]);
  });
});

describe("doctor: our side (Entra's Basic SAML Configuration)", () => {
  it("an Identifier another connection uses is identifier_shared, fixed in Basic SAML Configuration", () => {
    const findings = run({
      otherConnections: [
        { id: "conn_1", spEntityId: SP.identifier, accountId: "acc_1" },
        { id: "conn_2", spEntityId: SP.identifier, accountId: "acc_2" },
        { id: "conn_3", spEntityId: "https://gatehouse.example.com/sp/other", accountId: "acc_3" },
      ],
    });
    const f = only(findings, "identifier_shared");
    assert.equal(f.severity, "error");
    // conn_1 is this connection itself: only conn_2 shares.
    assert.match(f.message, /1 other connection/);
    assert.match(f.fix, /Basic SAML Configuration, set Identifier \(Entity ID\)/);
  });

  it("the connection itself, or other Identifiers, do not count as shared", () => {
    const findings = run({
      otherConnections: [
        { id: "conn_1", spEntityId: SP.identifier, accountId: "acc_1" },
        { id: "conn_3", spEntityId: `${SP.identifier}/`, accountId: "acc_3" },
      ],
    });
    assert.ok(!codes(findings).includes("identifier_shared"));
  });

  it("metadata being uploaded for a new connection is checked against every connection", () => {
    const findings = diagnose({
      metadataXml: metadata("good-entra-rotation"),
      sp: SP,
      otherConnections: [{ id: "conn_1", spEntityId: SP.identifier, accountId: "acc_1" }],
      now: METADATA_NOW,
    });
    assert.equal(only(findings, "identifier_shared").severity, "error");
  });

  it("an http Reply URL on a public host is reply_url_not_https, fixed in Basic SAML Configuration", () => {
    const replyUrl = "http://gatehouse.example.com/api/auth/saml/callback";
    const findings = run({ sp: { ...SP, replyUrl } });
    const f = only(findings, "reply_url_not_https");
    assert.equal(f.severity, "error");
    assert.ok(f.message.includes(replyUrl));
    assert.match(
      f.fix,
      /Basic SAML Configuration, set Reply URL \(Assertion Consumer Service URL\)/,
    );
    assert.ok(!codes(findings).includes("reply_url"));
  });

  for (const host of ["localhost:3000", "127.0.0.1:3000", "[::1]:3000"]) {
    it(`an http Reply URL on ${host} is fine (Entra allows http for localhost)`, () => {
      const findings = run({ sp: { ...SP, replyUrl: `http://${host}/api/auth/saml/callback` } });
      assert.equal(only(findings, "reply_url").severity, "ok");
      assert.ok(!codes(findings).includes("reply_url_not_https"));
    });
  }

  it("a Reply URL that is not a URL is reply_url_invalid, fixed by PUBLIC_URL then Basic SAML Configuration", () => {
    const f = only(
      run({ sp: { ...SP, replyUrl: "/api/auth/saml/callback" } }),
      "reply_url_invalid",
    );
    assert.equal(f.severity, "error");
    assert.match(f.fix, /^Set Gatehouse's PUBLIC_URL to the https address people use/);
    assert.match(
      f.fix,
      /then in Entra, Basic SAML Configuration, paste the Reply URL \(Assertion Consumer Service URL\)/,
    );
  });
});

describe("doctor: the latest failed sign-in, explained", () => {
  function explained(event: AuditEvent): Finding {
    const f = only(run({ lastFailure: event }), "last_failure");
    assert.equal(f.severity, "error");
    assert.ok(f.message.includes(`ref ${event.reference}`), f.message);
    assert.ok(f.message.includes(`refused: ${event.reason}`), f.message);
    return f;
  }

  it("audience_invalid: set Identifier (Entity ID) to our identifier", () => {
    const f = explained(
      samlFailure("audience_invalid", {
        field: "Audience",
        expected: SP.identifier,
        received: "spn:0b3f5e3c",
      }),
    );
    assert.match(f.message, /The Audience was spn:0b3f5e3c/);
    assert.equal(
      f.fix,
      `In Entra, Basic SAML Configuration, set Identifier (Entity ID) to ${SP.identifier}.`,
    );
  });

  for (const code of ["destination_invalid", "recipient_invalid"] as const) {
    it(`${code}: set Reply URL to our Reply URL`, () => {
      const f = explained(
        samlFailure(code, { expected: SP.replyUrl, received: "https://old.example.com/acs" }),
      );
      assert.match(f.message, /sent to https:\/\/old\.example\.com\/acs/);
      assert.equal(
        f.fix,
        `In Entra, Basic SAML Configuration, set Reply URL (Assertion Consumer Service URL) to ${SP.replyUrl}.`,
      );
    });
  }

  it("issuer_invalid: set the IdP entity ID to the Issuer received (Microsoft Entra Identifier)", () => {
    const received = `https://sts.windows.net/${TENANT}/`;
    const f = explained(
      samlFailure("issuer_invalid", { expected: `https://sts.windows.net/${TENANT}`, received }),
    );
    assert.ok(f.message.includes(`The Issuer was ${received}`));
    assert.ok(f.fix.includes(`Set the IdP entity ID to ${received}`));
    assert.match(f.fix, /Microsoft Entra Identifier, with its trailing slash/);
  });

  it("status_not_success with AADSTS50105: assign the user in Users and groups", () => {
    const f = explained(
      samlFailure("status_not_success", {
        field: "StatusCode",
        expected: "urn:oasis:names:tc:SAML:2.0:status:Success",
        received: "urn:oasis:names:tc:SAML:2.0:status:Requester",
        note: "StatusMessage: AADSTS50105: Your administrator has configured the application to block users unless they are specifically granted access.",
      }),
    );
    assert.match(f.message, /AADSTS50105/);
    assert.match(f.fix, /^In Entra, Users and groups: assign this user/);
  });

  for (const [aadsts, field] of [
    ["AADSTS50011", /Basic SAML Configuration: the Reply URL/],
    ["AADSTS700016", /Basic SAML Configuration: the Identifier \(Entity ID\)/],
    ["AADSTS76021", /Verification certificates/],
  ] as const) {
    it(`status_not_success with ${aadsts}: ${field.source}`, () => {
      const f = explained(
        samlFailure("status_not_success", {
          received: "urn:oasis:names:tc:SAML:2.0:status:Requester",
          note: `StatusMessage: ${aadsts}: something went wrong.`,
        }),
      );
      assert.match(f.fix, field);
    });
  }

  it("status_not_success with an unknown message: the catalogue's fix", () => {
    const e = new SamlError("status_not_success", {
      received: "urn:oasis:names:tc:SAML:2.0:status:Responder",
    });
    const f = explained(samlFailure("status_not_success", e.detail));
    assert.equal(f.fix, e.fix);
    assert.ok(f.fix !== "");
  });

  it("no_matching_user: names the email read and points at Test SSO and the UPN", () => {
    const f = explained(
      failure("no_matching_user", {
        emailRead: "alice.smith@contoso.com",
        emailSource: "emailaddress claim (else NameID in emailAddress format)",
        subject: null,
        nameId: "alice@contoso.com",
      }),
    );
    assert.match(f.message, /No user has the email alice\.smith@contoso\.com/);
    assert.match(f.fix, /Test SSO/);
    assert.match(f.fix, /UPN/);
  });

  it("email_claim_missing: fixed in Attributes & Claims", () => {
    const f = explained(failure("email_claim_missing", { emailRead: null }));
    assert.match(f.fix, /In Entra, Attributes & Claims/);
  });

  it("any other code keeps its expected and received values and the recorded fix", () => {
    const f = explained(
      samlFailure("algorithm_not_allowed", {
        expected: "RSA-SHA256",
        received: "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
      }),
    );
    assert.match(f.message, /Expected RSA-SHA256, received http:\/\/www\.w3\.org/);
    assert.equal(f.fix, new SamlError("algorithm_not_allowed").fix);
  });

  it("no failure, no last_failure finding", () => {
    assert.ok(!codes(run()).includes("last_failure"));
  });
});

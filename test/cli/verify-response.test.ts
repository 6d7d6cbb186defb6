// `gatehouse verify-response`: the fixed contract (README.md, "Command line"), run as scripts run it.
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { buildEntraFederationMetadata } from "../../src/mock-idp/metadata.ts";
import { ENTRA_CLAIMS } from "../../src/mock-idp/response.ts";
import { readCertificate } from "../../src/saml/certs.ts";
import { ACS, cli, entraResponse, IDP, ISSUED, keyFile, SP, TENANT, writeTmp } from "./run-cli.ts";

const AT = "2027-03-01T10:05:00Z";
const base = [
  "--idp-cert",
  keyFile("idp-rsa", "crt"),
  "--idp-entity-id",
  IDP,
  "--sp-entity-id",
  SP,
  "--acs-url",
  ACS,
  "--allow-unsolicited",
  "--now",
  AT,
];
const xml = entraResponse({ assertionId: "_a1b2c3d4-0000-4000-8000-000000000001" });
const b64 = Buffer.from(xml).toString("base64");
const xmlFile = writeTmp("response.xml", xml);
const b64File = writeTmp("response.b64", b64);

/** `gatehouse verify-response <args>` */
function vr(args: readonly string[], stdin?: string): ReturnType<typeof cli> {
  return cli(["verify-response", ...args], stdin);
}

function json(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split("\n");
  assert.equal(lines.length, 1, "one JSON object on one line");
  return JSON.parse(lines[0]!);
}

function assertAcceptedShape(o: Record<string, unknown>): void {
  assert.deepEqual(Object.keys(o), [
    "ok",
    "issuer",
    "nameId",
    "nameIdFormat",
    "sessionIndex",
    "email",
    "attributes",
    "notOnOrAfter",
  ]);
  assert.equal(o.ok, true);
  for (const k of ["issuer", "nameId", "notOnOrAfter"]) assert.equal(typeof o[k], "string", k);
  for (const k of ["nameIdFormat", "sessionIndex", "email"])
    assert.ok(o[k] === null || typeof o[k] === "string", k);
  const attrs = o.attributes as Record<string, unknown>;
  assert.equal(typeof attrs, "object");
  for (const v of Object.values(attrs)) {
    assert.ok(Array.isArray(v) && v.every((s) => typeof s === "string"));
  }
}

function assertRefused(r: ReturnType<typeof cli>, code: string): void {
  assert.equal(r.status, 1, r.stderr);
  const o = json(r.stdout);
  assert.deepEqual(Object.keys(o), ["ok", "code", "message"]);
  assert.equal(o.ok, false);
  assert.equal(o.code, code, String(o.message));
  assert.equal(typeof o.message, "string");
}

describe("verify-response: accepted (exit 0)", () => {
  it("base64 file, --json: exactly the contract's keys and values", () => {
    const r = vr([...base, "--json", b64File]);
    assert.equal(r.status, 0, r.stderr);
    const o = json(r.stdout);
    assertAcceptedShape(o);
    assert.equal(o.issuer, IDP);
    assert.equal(o.nameId, "alice@contoso.com");
    assert.equal(o.nameIdFormat, "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress");
    assert.equal(o.sessionIndex, "_a1b2c3d4-0000-4000-8000-000000000001");
    assert.equal(o.email, "alice.smith@contoso.com", "the emailaddress claim wins over the NameID");
    assert.equal(o.notOnOrAfter, new Date(ISSUED.getTime() + 3_600_000).toISOString());
    const attrs = o.attributes as Record<string, string[]>;
    assert.deepEqual(attrs[ENTRA_CLAIMS.groups], ["g1", "g2"]);
    assert.deepEqual(attrs[ENTRA_CLAIMS.tenantid], [TENANT]);
  });

  it("raw XML file and XML on stdin (no FILE, and -) give the same result", () => {
    const fromFile = vr([...base, "--json", xmlFile]);
    const fromStdin = vr([...base, "--json"], xml);
    const fromDash = vr([...base, "--json", "-"], `\uFEFF${xml}\n`);
    assert.equal(fromFile.status, 0, fromFile.stderr);
    assert.equal(fromStdin.stdout, fromFile.stdout);
    assert.equal(fromDash.stdout, fromFile.stdout);
  });

  it("base64 pasted URL-encoded from developer tools (%2B %2F %3D), with SAMLResponse= in front", () => {
    const encoded = `SAMLResponse=${encodeURIComponent(b64)}`;
    assert.ok(/%2B|%2F|%3D/.test(encoded));
    const r = vr([...base, "--json"], encoded);
    assert.equal(r.status, 0, r.stderr);
    assertAcceptedShape(json(r.stdout));
  });

  it("email is the NameID when its format is emailAddress and there is no emailaddress claim; null otherwise", () => {
    const noMail = entraResponse({ user: { upn: "bob@contoso.com", objectId: "o-2" } });
    const o = json(vr([...base, "--json"], noMail).stdout);
    assert.equal(o.email, "bob@contoso.com");
    const opaque = entraResponse({
      user: { upn: "bob@contoso.com", objectId: "o-2" },
      nameIdSource: "persistent",
    });
    const p = json(vr([...base, "--json"], opaque).stdout);
    assertAcceptedShape(p);
    assert.equal(p.email, null);
  });

  it("--idp-metadata instead of --idp-cert (Entra metadata; the IdP entity ID comes from it)", () => {
    const idpCert = readCertificate(readFileSync(keyFile("idp-rsa", "crt"), "utf8"));
    const idp2 = readCertificate(readFileSync(keyFile("idp2-rsa", "crt"), "utf8"));
    const metadata = writeTmp(
      "federationmetadata.xml",
      buildEntraFederationMetadata({
        tenantId: TENANT,
        certificates: [idp2.base64, idpCert.base64],
        signingKey: createPrivateKey(readFileSync(keyFile("idp2-rsa", "key"))),
        signingCertificate: idp2.base64,
        now: ISSUED,
      }),
    );
    const args = ["--idp-metadata", metadata, "--sp-entity-id", SP, "--acs-url", ACS];
    const r = vr([...args, "--allow-unsolicited", "--now", AT, "--json", b64File]);
    assert.equal(r.status, 0, r.stderr);
    assertAcceptedShape(json(r.stdout));
    const wrongIssuer = vr([
      ...args,
      "--idp-entity-id",
      "https://other/",
      "--allow-unsolicited",
      "--now",
      AT,
      "--json",
      b64File,
    ]);
    assertRefused(wrongIssuer, "issuer_invalid");
  });

  it("the readable report names the verdict, NameID, email, signer and every attribute value", () => {
    const r = vr([...base, xmlFile]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ACCEPTED/);
    assert.match(
      r.stdout,
      /alice@contoso\.com {2}\(urn:oasis:names:tc:SAML:1\.1:nameid-format:emailAddress\)/,
    );
    assert.match(r.stdout, /Email\s+alice\.smith@contoso\.com/);
    const fp = readCertificate(readFileSync(keyFile("idp-rsa", "crt"), "utf8")).fingerprint256;
    assert.ok(r.stdout.includes(`Assertion by ${fp}`));
    for (const v of ["g1", "g2", ENTRA_CLAIMS.groups, "2027-03-01T11:00:00.000Z"])
      assert.ok(r.stdout.includes(v), v);
  });

  it("--in-response-to matches a solicited response", () => {
    const solicited = entraResponse({ inResponseTo: "_req-42" });
    const args = base.filter((a) => a !== "--allow-unsolicited");
    assert.equal(vr([...args, "--in-response-to", "_req-42", "--json"], solicited).status, 0);
    assertRefused(
      vr([...args, "--in-response-to", "_req-43", "--json"], solicited),
      "in_response_to_mismatch",
    );
  });

  it("--sp-key decrypts an EncryptedAssertion", () => {
    const spCert = readCertificate(readFileSync(keyFile("sp-rsa", "crt"), "utf8"));
    const encrypted = entraResponse({
      encryptFor: { publicKey: createPublicKey(spCert.pem), certificate: spCert.base64 },
    });
    assertRefused(vr([...base, "--json"], encrypted), "decryption_failed");
    const r = vr([...base, "--sp-key", keyFile("sp-rsa", "key"), "--json"], encrypted);
    assert.equal(r.status, 0, r.stderr);
    assertAcceptedShape(json(r.stdout));
  });
});

describe("verify-response: refused (exit 1)", () => {
  it("--now after NotOnOrAfter (+skew) is expired; --clock-skew moves the edge", () => {
    // NotOnOrAfter is 11:00:00Z; the default skew is 180 s.
    assert.equal(vr([...base, "--json", "--now", "2027-03-01T11:02:59Z"], xml).status, 0);
    assertRefused(vr([...base, "--json", "--now", "2027-03-01T11:03:00Z"], xml), "expired");
    assertRefused(
      vr([...base, "--json", "--now", "2027-03-01T11:00:00Z", "--clock-skew", "0"], xml),
      "expired",
    );
    assert.equal(
      vr([...base, "--json", "--now", "2027-03-01T11:09:00Z", "--clock-skew", "600"], xml).status,
      0,
    );
    // Offsets are honoured: 12:02:59+01:00 is 11:02:59Z.
    assert.equal(vr([...base, "--json", "--now", "2027-03-01T12:02:59+01:00"], xml).status, 0);
  });

  it("--now before NotBefore (-skew) is not yet valid", () => {
    assertRefused(vr([...base, "--json", "--now", "2027-03-01T09:51:59Z"], xml), "not_yet_valid");
  });

  it("SHA-1 is refused unless --allow-sha1", () => {
    const sha1 = entraResponse({ signatureAlgorithm: "rsa-sha1", digest: "sha1" });
    assertRefused(vr([...base, "--json"], sha1), "algorithm_not_allowed");
    assert.equal(vr([...base, "--json", "--allow-sha1"], sha1).status, 0);
  });

  it("a certificate that is not configured, a wrong audience, a replay-free single run", () => {
    const other = [...base];
    other[1] = keyFile("other-rsa", "crt");
    assertRefused(vr([...other, "--json"], xml), "signature_unknown_key");
    const wrongSp = base.map((a) => (a === SP ? "https://other.example.com" : a));
    assertRefused(vr([...wrongSp, "--json"], xml), "audience_invalid");
  });

  it("an unsolicited response without --allow-unsolicited is refused (in_response_to_unexpected the other way)", () => {
    const args = base.filter((a) => a !== "--allow-unsolicited");
    assertRefused(
      vr([...args, "--in-response-to", "_req-1", "--json"], xml),
      "in_response_to_missing",
    );
  });

  it("malformed base64 and malformed XML are refusals with their codes", () => {
    assertRefused(vr([...base, "--json"], "not*base64"), "malformed_base64");
    assertRefused(vr([...base, "--json"], "<samlp:Response"), "malformed_xml");
  });

  it("the readable refusal gives the code, the message and the fix", () => {
    const r = vr([...base, "--now", "2027-03-02T00:00:00Z"], xml);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^REFUSED {2}expired\n/);
    assert.match(r.stdout, /Fix: The response is older than its validity window/);
  });
});

describe("verify-response: usage and unreadable input (exit 2)", () => {
  const cases: [string, string[], RegExp][] = [
    ["no --sp-entity-id", base.filter((_, i) => i !== 4 && i !== 5), /--sp-entity-id/],
    ["no --acs-url", base.filter((_, i) => i !== 6 && i !== 7), /--acs-url/],
    ["no certificate source", base.slice(2), /--idp-cert/],
    [
      "no --idp-entity-id with --idp-cert",
      base.filter((_, i) => i !== 2 && i !== 3),
      /--idp-entity-id/,
    ],
    [
      "neither --in-response-to nor --allow-unsolicited",
      base.filter((a) => a !== "--allow-unsolicited"),
      /--allow-unsolicited/,
    ],
    [
      "both --in-response-to and --allow-unsolicited",
      [...base, "--in-response-to", "_x"],
      /--in-response-to/,
    ],
    [
      "unreadable --idp-cert file",
      ["--idp-cert", "/nonexistent/idp.pem", ...base.slice(2)],
      /--idp-cert \/nonexistent\/idp\.pem/,
    ],
    [
      "--idp-cert is not a certificate",
      ["--idp-cert", keyFile("idp-rsa", "key"), ...base.slice(2)],
      /--idp-cert/,
    ],
    ["unreadable --sp-key", [...base, "--sp-key", keyFile("idp-rsa", "crt")], /--sp-key/],
    ["--now not ISO 8601", [...base.slice(0, -1), "01/03/2027 10:00"], /--now/],
    ["--now without a zone", [...base.slice(0, -1), "2027-03-01T10:05:00"], /--now/],
    ["--now not a real date", [...base.slice(0, -1), "2027-02-30T10:05:00Z"], /--now/],
    ["--clock-skew not a number", [...base, "--clock-skew", "3m"], /--clock-skew/],
    ["an unknown option", [...base, "--no-such-option"], /no-such-option/],
    ["two input files", [...base, "a", "b"], /at most one/],
    [
      "unreadable input file",
      [...base, "/nonexistent/response.xml"],
      /\/nonexistent\/response\.xml/,
    ],
  ];
  for (const [name, args, pattern] of cases) {
    it(name, () => {
      const r = vr(args, xml);
      assert.equal(r.status, 2, r.stdout + r.stderr);
      assert.equal(r.stdout, "");
      assert.match(r.stderr.split("\n")[0]!, pattern);
    });
  }

  it("empty input", () => {
    const r = vr([...base, "--json"], "  \n");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /empty input/);
  });

  it("--idp-metadata that is SP metadata names the option and the code", () => {
    const spMetadata = join(
      import.meta.dirname,
      "../fixtures/metadata/bad-metadata_is_sp-gatehouse-own/metadata.xml",
    );
    const r = vr(["--idp-metadata", spMetadata, ...base.slice(4), "--json"], xml);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--idp-metadata .*metadata_is_sp/);
  });
});

describe("the gatehouse dispatcher", () => {
  it("an unknown command prints the usage on stderr and exits 2", () => {
    const r = cli(["no-such-command"]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /unknown command 'no-such-command'/);
    assert.match(r.stderr, /verify-response/);
  });
  it("no command exits 2; help lists the commands and exits 0", () => {
    assert.equal(cli([]).status, 2);
    const help = cli(["help"]);
    assert.equal(help.status, 0);
    for (const c of ["help", "verify-response", "inspect"])
      assert.match(help.stdout, new RegExp(`^  ${c} `, "m"));
  });
  it("help <command> and <command> --help print the command's usage", () => {
    const a = cli(["help", "verify-response"]);
    const b = cli(["verify-response", "--help"]);
    assert.equal(a.status, 0);
    assert.equal(a.stdout, b.stdout);
    assert.match(a.stdout, /exit 0 accepted, 1 refused, 2 usage or unreadable input/);
  });
});

import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { ConfigError, type LoadOptions, loadConfig, redacted } from "../../src/config/load.ts";
import { type Config, configReference, VARIABLES } from "../../src/config/schema.ts";

const keys = resolve(import.meta.dirname, "../fixtures/keys");
const fixture = (name: string) => readFileSync(join(keys, name), "utf8");
const IDP_PEM = fixture("idp-rsa.crt");
const IDP = new X509Certificate(IDP_PEM);
const IDP_B64 = IDP.raw.toString("base64");
const SP_KEY = fixture("sp-rsa.key");
const SP_CERT = fixture("sp-rsa.crt");
const NOW = new Date("2030-06-01T00:00:00Z");
const TENANT = "6b8e1d2f-1c5e-4a7b-9b1e-2f3c4d5e6f70";
const ENTRA_LOGIN = `https://login.microsoftonline.com/${TENANT}/saml2`;
const SECRET = "s".repeat(32);
const TOKEN = "t".repeat(40);
const PROD = { NODE_ENV: "production", SESSION_SECRET: SECRET, ADMIN_TOKEN: TOKEN };

const root = mkdtempSync(join(tmpdir(), "gatehouse-config-"));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
/** A fresh empty working directory (no stray .env), optionally with files. */
function workdir(files: Record<string, string> = {}): string {
  const dir = join(root, `w${++dirs}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function load(env: Record<string, string | undefined>, options: LoadOptions = {}): Config {
  return loadConfig(env, { cwd: workdir(), now: NOW, ...options });
}

/** The problems of a configuration that must be refused. */
function problems(env: Record<string, string | undefined>, options: LoadOptions = {}): string[] {
  try {
    load(env, options);
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    assert.equal(e.name, "ConfigError");
    for (const p of e.problems) assert.ok(e.message.includes(p), "the message lists every problem");
    return [...e.problems];
  }
  assert.fail("the configuration was accepted");
}

/** Exactly one problem, about `name`, matching `reason`. */
function refuses(env: Record<string, string | undefined>, name: string, reason: RegExp): string {
  const list = problems(env);
  assert.equal(list.length, 1, `one problem expected, got:\n${list.join("\n")}`);
  const p = list[0]!;
  assert.ok(p.startsWith(`${name}: `), `"${p}" should name ${name}`);
  assert.match(p, reason);
  return p;
}

describe("defaults (demo mode, nothing set)", () => {
  it("runs on localhost with SQLite and the outbox, secrets generated with warnings", () => {
    const cwd = workdir();
    const c = loadConfig({}, { cwd, now: NOW });
    assert.equal(c.mode, "demo");
    assert.equal(c.port, 3000);
    assert.equal(c.host, "127.0.0.1");
    assert.equal(c.publicUrl, "http://localhost:3000");
    assert.equal(c.acsUrl, "http://localhost:3000/api/auth/saml/callback");
    assert.equal(c.sloUrl, "http://localhost:3000/api/auth/saml/logout/callback");
    assert.equal(c.loginUrl, "http://localhost:3000/login");
    assert.equal(c.spEntityId, "http://localhost:3000");
    assert.deepEqual(c.database, { kind: "sqlite", path: join(cwd, "data/gatehouse.db") });
    assert.deepEqual(c.mail, {
      outboxDir: join(cwd, "data/outbox"),
      from: "Gatehouse <gatehouse@localhost>",
    });
    assert.equal(c.session.idleMinutes, 60);
    assert.equal(c.session.absoluteHours, 12);
    assert.equal(c.loginRequestTtlMinutes, 10);
    assert.equal(c.clockSkewSeconds, 180);
    assert.equal(c.defaultAccount, "default");
    assert.equal(c.mockIdp, true);
    assert.equal(c.logLevel, "info");
    assert.equal(c.trustProxy, false);
    assert.equal(c.saml, undefined);
    assert.equal(c.spKey, undefined);
    assert.equal(c.session.secretGenerated, true);
    assert.equal(c.adminTokenGenerated, true);
    assert.ok(c.session.secret.length >= 32 && c.adminToken.length >= 32);
    assert.notEqual(c.session.secret, c.adminToken);
    assert.notEqual(load({}).adminToken, c.adminToken, "generated per start");
    assert.equal(c.warnings.length, 2);
    assert.match(c.warnings[0]!, /^SESSION_SECRET is not set: a random one was generated/);
    assert.match(c.warnings[1]!, /^ADMIN_TOKEN is not set: a random one was generated/);
  });

  it("production mode follows NODE_ENV and turns the mock IdP off", () => {
    const c = load(PROD);
    assert.equal(c.mode, "production");
    assert.equal(c.mockIdp, false);
    assert.equal(c.session.secret, SECRET);
    assert.equal(c.adminToken, TOKEN);
    assert.equal(c.session.secretGenerated, false);
    assert.equal(c.adminTokenGenerated, false);
    assert.match(c.warnings.join("\n"), /PUBLIC_URL is http:\/\/localhost:3000 in production mode/);
  });
});

describe("mode and mock IdP", () => {
  it("GATEHOUSE_MODE=production without NODE_ENV", () => {
    const c = load({ GATEHOUSE_MODE: "production", SESSION_SECRET: SECRET, ADMIN_TOKEN: TOKEN });
    assert.equal(c.mode, "production");
    assert.equal(c.mockIdp, false);
  });
  it("an unknown mode is refused", () => {
    refuses(
      { GATEHOUSE_MODE: "staging" },
      "GATEHOUSE_MODE",
      /"staging" is not a mode\. Use demo or production\./,
    );
  });
  it("demo under NODE_ENV=production is refused", () => {
    refuses(
      { ...PROD, GATEHOUSE_MODE: "demo" },
      "GATEHOUSE_MODE",
      /contradicts NODE_ENV=production/,
    );
  });
  it("MOCK_IDP=on in production is refused; off in demo is honoured", () => {
    refuses({ ...PROD, MOCK_IDP: "on" }, "MOCK_IDP", /production mode never mounts it/);
    assert.equal(load({ MOCK_IDP: "off" }).mockIdp, false);
    assert.equal(load({ MOCK_IDP: "true" }).mockIdp, true);
    assert.equal(load({ ...PROD, MOCK_IDP: "off" }).mockIdp, false);
    refuses({ MOCK_IDP: "maybe" }, "MOCK_IDP", /"maybe" is not on or off/);
  });
});

describe("PORT, HOST, PUBLIC_URL, DOMAIN", () => {
  it("PORT", () => {
    assert.equal(load({ PORT: "8080" }).port, 8080);
    assert.equal(load({ PORT: "8080" }).publicUrl, "http://localhost:8080");
    for (const bad of ["0", "65536", "80a", "-1", "3.5", "1e3"]) {
      refuses({ PORT: bad }, "PORT", /is not a whole number from 1 to 65535/);
    }
  });

  it("HOST", () => {
    for (const ok of ["0.0.0.0", "::", "localhost", "10.0.0.5", "gatehouse.internal"]) {
      assert.equal(load({ HOST: ok }).host, ok);
    }
    refuses({ HOST: "bad host!" }, "HOST", /is not an IP address or host name/);
  });

  it("PUBLIC_URL: https, or http on localhost; origin only", () => {
    assert.equal(
      load({ PUBLIC_URL: "https://sso.example.com/" }).publicUrl,
      "https://sso.example.com",
    );
    assert.equal(
      load({ PUBLIC_URL: "https://SSO.Example.com:8443" }).publicUrl,
      "https://sso.example.com:8443",
    );
    assert.equal(
      load({ PUBLIC_URL: "https://sso.example.com:443" }).publicUrl,
      "https://sso.example.com",
    );
    assert.equal(load({ PUBLIC_URL: "http://127.0.0.1:8080" }).publicUrl, "http://127.0.0.1:8080");
    const c = load({ PUBLIC_URL: "https://sso.example.com" });
    assert.equal(c.acsUrl, "https://sso.example.com/api/auth/saml/callback");
    assert.equal(c.sloUrl, "https://sso.example.com/api/auth/saml/logout/callback");
    assert.equal(c.loginUrl, "https://sso.example.com/login");
    assert.equal(c.spEntityId, "https://sso.example.com");

    refuses(
      { PUBLIC_URL: "http://sso.example.com" },
      "PUBLIC_URL",
      /uses http for sso\.example\.com.*Use https:\/\/sso\.example\.com/,
    );
    refuses({ PUBLIC_URL: "https://example.com/sso" }, "PUBLIC_URL", /has a path \(\/sso\)/);
    refuses({ PUBLIC_URL: "ftp://example.com" }, "PUBLIC_URL", /is not an http\(s\) URL/);
    refuses({ PUBLIC_URL: "sso.example.com" }, "PUBLIC_URL", /is not an http\(s\) URL/);
    refuses(
      { PUBLIC_URL: "https://u:p@example.com" },
      "PUBLIC_URL",
      /credentials, a query or a fragment/,
    );
    refuses(
      { PUBLIC_URL: "https://example.com/?x=1" },
      "PUBLIC_URL",
      /credentials, a query or a fragment/,
    );
  });

  it("DOMAIN sets PUBLIC_URL to https://DOMAIN and the mail sender", () => {
    const c = load({ DOMAIN: "test1234.example.com" });
    assert.equal(c.domain, "test1234.example.com");
    assert.equal(c.publicUrl, "https://test1234.example.com");
    assert.equal(c.acsUrl, "https://test1234.example.com/api/auth/saml/callback");
    assert.equal(c.mail.from, "Gatehouse <gatehouse@test1234.example.com>");
    const withPort = load({ DOMAIN: "sso.example.com:8443" });
    assert.equal(withPort.publicUrl, "https://sso.example.com:8443");
    assert.equal(withPort.mail.from, "Gatehouse <gatehouse@sso.example.com>");
    assert.equal(load({ DOMAIN: "203.0.113.7" }).publicUrl, "https://203.0.113.7");
    assert.equal(
      load({ DOMAIN: "sso.example.com", PUBLIC_URL: "https://sso.example.com/" }).publicUrl,
      "https://sso.example.com",
    );
  });

  it("a wildcard DOMAIN is refused, with the explanation and the exact host to use", () => {
    const p = refuses({ DOMAIN: "*.example.com" }, "DOMAIN", /"\*\.example\.com" is a wildcard/);
    assert.match(
      p,
      /Entra's Reply URL must be one exact host; use the exact host, e\.g\. test1234\.example\.com/,
    );
    refuses({ DOMAIN: "*.xcally.com" }, "DOMAIN", /e\.g\. test1234\.xcally\.com/);
  });

  it("other bad DOMAINs", () => {
    refuses({ DOMAIN: "https://sso.example.com" }, "DOMAIN", /is a URL, but DOMAIN is a host name/);
    refuses({ DOMAIN: "exa mple.com" }, "DOMAIN", /is not a host name with an optional port/);
    refuses(
      { DOMAIN: "sso.example.com:99999" },
      "DOMAIN",
      /is not a host name with an optional port/,
    );
    refuses(
      { DOMAIN: "sso.example.com/path" },
      "DOMAIN",
      /is not a host name with an optional port/,
    );
    refuses(
      { DOMAIN: "a.example.com", PUBLIC_URL: "https://b.example.com" },
      "PUBLIC_URL",
      /differs from DOMAIN/,
    );
  });
});

describe("DATABASE_URL", () => {
  it("SQLite: sqlite:, file:, or a bare path, resolved against the working directory", () => {
    const cwd = workdir();
    const db = (v: string) => loadConfig({ DATABASE_URL: v }, { cwd, now: NOW }).database;
    assert.deepEqual(db("sqlite:./x.db"), { kind: "sqlite", path: join(cwd, "x.db") });
    assert.deepEqual(db("sqlite:///var/lib/g.db"), { kind: "sqlite", path: "/var/lib/g.db" });
    assert.deepEqual(db("file:data/y.db"), { kind: "sqlite", path: join(cwd, "data/y.db") });
    assert.deepEqual(db("/abs/z.db"), { kind: "sqlite", path: "/abs/z.db" });
    assert.deepEqual(db("rel.db"), { kind: "sqlite", path: join(cwd, "rel.db") });
    assert.deepEqual(db("sqlite::memory:"), { kind: "sqlite", path: ":memory:" });
  });
  it("PostgreSQL: postgres:// and postgresql://", () => {
    for (const url of [
      "postgres://gatehouse:pw@127.0.0.1:5432/gatehouse",
      "postgresql://gatehouse@db.internal/gatehouse?sslmode=require",
    ]) {
      assert.deepEqual(load({ DATABASE_URL: url }).database, { kind: "postgres", url });
    }
  });
  it("refusals", () => {
    refuses({ DATABASE_URL: "mysql://x@y/z" }, "DATABASE_URL", /the scheme mysql is not supported/);
    refuses({ DATABASE_URL: "postgres://" }, "DATABASE_URL", /not a valid PostgreSQL URL/);
    refuses({ DATABASE_URL: "sqlite:" }, "DATABASE_URL", /names no SQLite file/);
  });
});

describe("mail", () => {
  it("SMTP_URL: smtp:// and smtps://", () => {
    for (const url of ["smtp://127.0.0.1:2525", "smtps://u:p@smtp.example.com:465"]) {
      assert.equal(load({ SMTP_URL: url }).mail.smtpUrl, url);
    }
    for (const bad of ["http://smtp.example.com", "smtp.example.com:25", "smtp://"]) {
      refuses({ SMTP_URL: bad }, "SMTP_URL", /is not an smtp:\/\/ or smtps:\/\/ URL with a host/);
    }
  });
  it("MAIL_OUTBOX_DIR", () => {
    const cwd = workdir();
    assert.equal(
      loadConfig({ MAIL_OUTBOX_DIR: "mail" }, { cwd }).mail.outboxDir,
      join(cwd, "mail"),
    );
  });
  it("MAIL_FROM", () => {
    for (const ok of ["sso@example.com", "Example SSO <sso@example.com>", "<sso@example.com>"]) {
      assert.equal(load({ MAIL_FROM: ok }).mail.from, ok);
    }
    for (const bad of [
      "not an address",
      "Name <no-at-sign>",
      "a@b.c\r\nBcc: x@y.z",
      "A <a@b.c> <d@e.f>",
    ]) {
      refuses({ MAIL_FROM: bad }, "MAIL_FROM", /is not a mail address/);
    }
  });
});

describe("secrets and durations", () => {
  it("SESSION_SECRET and ADMIN_TOKEN are required in production", () => {
    const list = problems({ NODE_ENV: "production" });
    assert.equal(list.length, 2);
    assert.match(
      list[0]!,
      /^SESSION_SECRET: it is required in production .* Generate one with: openssl rand -base64 32\.$/,
    );
    assert.match(
      list[1]!,
      /^ADMIN_TOKEN: it is required in production .* Generate one with: openssl rand -base64 32\.$/,
    );
  });
  it("are at least 32 characters, and the problem never repeats the value", () => {
    const p = refuses(
      { SESSION_SECRET: "short-secret-value" },
      "SESSION_SECRET",
      /it is 18 characters long, too short/,
    );
    assert.doesNotMatch(p, /short-secret-value/);
    refuses({ ...PROD, ADMIN_TOKEN: "x".repeat(31) }, "ADMIN_TOKEN", /it is 31 characters long/);
    assert.equal(load({ ...PROD, ADMIN_TOKEN: "x".repeat(32) }).adminToken, "x".repeat(32));
  });
  it("must differ from each other", () => {
    refuses({ ...PROD, ADMIN_TOKEN: SECRET }, "ADMIN_TOKEN", /the same as SESSION_SECRET/);
  });
  it("given in demo mode, they are used and not warned about", () => {
    const c = load({ SESSION_SECRET: SECRET, ADMIN_TOKEN: TOKEN });
    assert.equal(c.session.secret, SECRET);
    assert.equal(c.adminToken, TOKEN);
    assert.deepEqual(c.warnings, []);
  });
  it("SESSION_IDLE_MINUTES, SESSION_ABSOLUTE_HOURS, LOGIN_REQUEST_TTL_MINUTES, CLOCK_SKEW_SECONDS", () => {
    const c = load({
      SESSION_IDLE_MINUTES: "30",
      SESSION_ABSOLUTE_HOURS: "8",
      LOGIN_REQUEST_TTL_MINUTES: "5",
      CLOCK_SKEW_SECONDS: "0",
    });
    assert.deepEqual(
      [
        c.session.idleMinutes,
        c.session.absoluteHours,
        c.loginRequestTtlMinutes,
        c.clockSkewSeconds,
      ],
      [30, 8, 5, 0],
    );
    assert.equal(load({ CLOCK_SKEW_SECONDS: "600" }).clockSkewSeconds, 600);
    refuses({ CLOCK_SKEW_SECONDS: "601" }, "CLOCK_SKEW_SECONDS", /from 0 to 600/);
    refuses({ SESSION_IDLE_MINUTES: "0" }, "SESSION_IDLE_MINUTES", /from 1 to 10080/);
    refuses({ SESSION_ABSOLUTE_HOURS: "721" }, "SESSION_ABSOLUTE_HOURS", /from 1 to 720/);
    refuses(
      { LOGIN_REQUEST_TTL_MINUTES: "ten" },
      "LOGIN_REQUEST_TTL_MINUTES",
      /"ten" is not a whole number from 1 to 60/,
    );
    const w = load({ SESSION_IDLE_MINUTES: "600", SESSION_ABSOLUTE_HOURS: "2" }).warnings;
    assert.match(
      w.join("\n"),
      /SESSION_IDLE_MINUTES \(600\) is longer than SESSION_ABSOLUTE_HOURS \(2 h\)/,
    );
  });
});

describe("LOG_LEVEL and TRUST_PROXY", () => {
  it("LOG_LEVEL", () => {
    assert.equal(load({ LOG_LEVEL: "DEBUG" }).logLevel, "debug");
    refuses(
      { LOG_LEVEL: "verbose" },
      "LOG_LEVEL",
      /"verbose" is not a log level\. Use one of fatal, error/,
    );
  });
  it("TRUST_PROXY: true, false or a hop count", () => {
    assert.equal(load({ TRUST_PROXY: "true" }).trustProxy, true);
    assert.equal(load({ TRUST_PROXY: "false" }).trustProxy, false);
    assert.equal(load({ TRUST_PROXY: "2" }).trustProxy, 2);
    assert.equal(load({ TRUST_PROXY: "0" }).trustProxy, false);
    refuses({ TRUST_PROXY: "10.0.0.0/8" }, "TRUST_PROXY", /neither true\/false nor a hop count/);
  });
});

describe("SP_KEY and SP_CERT", () => {
  it("inline, in the pasted forms, and the key comes out as PKCS#8 PEM", () => {
    const oneLine = (pem: string) => pem.replaceAll("\n", "\\n");
    const pkcs1 = createPrivateKey(SP_KEY).export({ type: "pkcs1", format: "pem" }).toString();
    const bare = SP_KEY.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    for (const key of [SP_KEY, oneLine(SP_KEY), `"${oneLine(SP_KEY)}"`, pkcs1, bare]) {
      const c = load({ SP_KEY: key, SP_CERT: oneLine(SP_CERT) });
      assert.match(c.spKey!.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n/);
      assert.ok(createPrivateKey(c.spKey!.privateKeyPem).equals(createPrivateKey(SP_KEY)));
      assert.equal(c.spKey!.certificate.subject, "CN=Gatehouse SP");
    }
  });
  it("from files (SP_KEY_FILE, SP_CERT_FILE), relative to the working directory", () => {
    const cwd = workdir({ "sp.key": SP_KEY, "sp.crt": SP_CERT });
    const c = loadConfig({ SP_KEY_FILE: "sp.key", SP_CERT_FILE: "sp.crt" }, { cwd, now: NOW });
    assert.equal(c.spKey!.certificate.fingerprint256, new X509Certificate(SP_CERT).fingerprint256);
  });
  it("refusals name the variable", () => {
    refuses({ SP_KEY }, "SP_CERT (or SP_CERT_FILE)", /it is missing, but SP_KEY is set/);
    refuses({ SP_CERT }, "SP_KEY (or SP_KEY_FILE)", /it is missing, but SP_CERT is set/);
    refuses({ SP_KEY: fixture("other-rsa.key"), SP_CERT }, "SP_KEY", /does not belong to SP_CERT/);
    refuses(
      { SP_KEY: fixture("idp-ec.key"), SP_CERT },
      "SP_KEY",
      /it is an ec key; the SP key must be RSA/,
    );
    refuses({ SP_KEY: SP_CERT, SP_CERT }, "SP_KEY", /it is a certificate, not a private key/);
    refuses({ SP_KEY, SP_CERT: SP_KEY }, "SP_CERT", /it is a private key, not a certificate/);
    refuses({ SP_KEY: "MIIBOgIBAAJBAK", SP_CERT }, "SP_KEY", /not valid Base64/);
    refuses(
      { SP_KEY, SP_KEY_FILE: "sp.key", SP_CERT },
      "SP_KEY",
      /both SP_KEY and SP_KEY_FILE are set/,
    );
    refuses(
      { SP_KEY_FILE: "missing.key", SP_CERT },
      "SP_KEY_FILE",
      /missing\.key cannot be read \(ENOENT\)/,
    );
    const encrypted = createPrivateKey(SP_KEY)
      .export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase: "pw" })
      .toString();
    refuses({ SP_KEY: encrypted, SP_CERT }, "SP_KEY", /encrypted with a passphrase/);
  });
});

describe("SAML_CERT: the pasted forms admins use", () => {
  const body = IDP_B64;
  const forms: Record<string, string> = {
    "one line (Entra's Certificate (Base64) body)": body,
    "with PEM armour and line breaks": IDP_PEM,
    "in double quotes": `"${body}"`,
    "armoured, in single quotes": `'${IDP_PEM}'`,
    'with literal "\\n" escapes': IDP_PEM.replaceAll("\n", "\\n"),
    'quoted with literal "\\n" escapes': `"${IDP_PEM.replaceAll("\n", "\\n")}"`,
    "with CRLF line breaks": IDP_PEM.replaceAll("\n", "\r\n"),
    "with trailing spaces and tabs": `${IDP_PEM.replaceAll("\n", "  \t\n")}   `,
    "armour on one line with spaces": IDP_PEM.replaceAll("\n", " "),
    "body wrapped at 76 columns, no armour": body.match(/.{1,76}/g)!.join("\n"),
  };
  for (const [form, value] of Object.entries(forms)) {
    it(`accepted: ${form}`, () => {
      const c = load({ SAML_ENTRYPOINT: ENTRA_LOGIN, SAML_CERT: value });
      assert.equal(c.saml!.certificate.base64, body);
      assert.equal(c.saml!.certificate.fingerprint256, IDP.fingerprint256);
      assert.equal(c.saml!.certificate.subject, "CN=Microsoft Azure Federated SSO Certificate");
      assert.equal(
        c.saml!.certificate.pem,
        `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)!.join("\n")}\n-----END CERTIFICATE-----\n`,
      );
    });
  }

  it("accepted as a multi-line double-quoted value in .env", () => {
    const cwd = workdir({ ".env": `SAML_ENTRYPOINT=${ENTRA_LOGIN}\nSAML_CERT="${IDP_PEM}"\n` });
    assert.equal(loadConfig({}, { cwd, now: NOW }).saml!.certificate.base64, body);
  });

  const entry = { SAML_ENTRYPOINT: ENTRA_LOGIN };
  const refusals: [string, string, RegExp][] = [
    ["not Base64", `${body.slice(0, 100)}!${body.slice(101)}`, /it is not Base64: it contains "!"/],
    [
      "cut off mid-way (not a multiple of 4)",
      body.slice(0, 301),
      /it is not valid Base64 \(301 characters/,
    ],
    [
      "cut off at a Base64 boundary",
      body.slice(0, 400),
      /it is cut off: 300 of the \d+ bytes it declares are present/,
    ],
    [
      "a private key pasted by mistake (armoured)",
      fixture("idp-rsa.key"),
      /it is a private key, not a certificate/,
    ],
    [
      "a private key pasted by mistake (bare)",
      fixture("idp-rsa.key")
        .replace(/-----[^-]+-----/g, "")
        .replace(/\s+/g, ""),
      /it is a private key, not a certificate/,
    ],
    [
      "empty once the armour is gone",
      "-----BEGIN CERTIFICATE----- -----END CERTIFICATE-----",
      /it is empty once quotes and BEGIN\/END lines are removed/,
    ],
    ["only quotes", '""', /it is empty/],
    [
      "Base64 of something else",
      Buffer.from("hello, this is not a certificate").toString("base64"),
      /it is Base64 but not an X\.509 certificate/,
    ],
    ["two certificates", IDP_PEM + fixture("idp2-rsa.crt"), /it holds more than one certificate/],
    [
      "a public key",
      createPublicKey(fixture("idp-rsa.key")).export({ type: "spki", format: "pem" }).toString(),
      /it is a PEM "PUBLIC KEY", not a CERTIFICATE/,
    ],
  ];
  for (const [what, value, reason] of refusals) {
    it(`refused, naming SAML_CERT: ${what}`, () => {
      const p = refuses({ ...entry, SAML_CERT: value }, "SAML_CERT", reason);
      assert.match(
        p,
        /Paste the whole certificate Entra gives under SAML Certificates, Certificate \(Base64\)/,
      );
    });
  }

  it("an expired certificate is a warning, not an error (Entra keeps signing with it)", () => {
    const c = load({ ...entry, SAML_CERT: fixture("idp-expired-rsa.crt") });
    assert.equal(c.saml!.certificate.notAfter, "2024-01-01T00:00:00.000Z");
    assert.equal(c.warnings.filter((w) => w.startsWith("SAML_CERT:")).length, 1);
    assert.match(
      c.warnings.join("\n"),
      /^SAML_CERT: the certificate expired on 2024-01-01T00:00:00\.000Z\. Entra keeps signing/m,
    );
  });
  it("a certificate not yet valid is a warning about the clock", () => {
    const c = loadConfig(
      { ...entry, SAML_CERT: IDP_PEM },
      { cwd: workdir(), now: new Date("2000-01-01T00:00:00Z") },
    );
    assert.match(
      c.warnings.join("\n"),
      /^SAML_CERT: the certificate is valid only from .*check this machine's clock/m,
    );
  });
});

describe("the single-server setup (XCALLY)", () => {
  it("all set: entry point, certificate, derived Entra entity ID, issuer, logout, multi-user field", () => {
    const c = load({
      DOMAIN: "test1234.example.com",
      SAML_ENTRYPOINT: ENTRA_LOGIN,
      SAML_CERT: IDP_B64,
      SAML_ISSUER: "urn:example:gatehouse",
      SAML_LOGOUT_URL: ENTRA_LOGIN,
      SAML_MULTI_USER_FIELD: "ssoid",
      SAML_ACCOUNT: "acme",
    });
    assert.equal(c.spEntityId, "urn:example:gatehouse");
    assert.equal(c.defaultAccount, "acme");
    assert.deepEqual(
      { ...c.saml!, certificate: undefined },
      {
        entryPoint: ENTRA_LOGIN,
        certificate: undefined,
        idpEntityId: `https://sts.windows.net/${TENANT}/`,
        logoutUrl: ENTRA_LOGIN,
        multiUserField: "ssoid",
      },
    );
  });

  it("SAML_ISSUER defaults to PUBLIC_URL; an explicit SAML_IDP_ENTITY_ID wins", () => {
    const c = load({
      PUBLIC_URL: "https://sso.example.com",
      SAML_ENTRYPOINT: ENTRA_LOGIN,
      SAML_CERT: IDP_B64,
      SAML_IDP_ENTITY_ID: "https://idp.example.com/x",
    });
    assert.equal(c.spEntityId, "https://sso.example.com");
    assert.equal(c.saml!.idpEntityId, "https://idp.example.com/x");
  });

  it("the XC_SAML_* names of XCALLY's .env are accepted; conflicting duplicates are not", () => {
    const c = load({
      XC_SAML_ENTRYPOINT: ENTRA_LOGIN,
      XC_SAML_CERT: IDP_B64,
      XC_SAML_ISSUER: "urn:x:y",
    });
    assert.equal(c.saml!.entryPoint, ENTRA_LOGIN);
    assert.equal(c.spEntityId, "urn:x:y");
    assert.equal(
      load({ SAML_ENTRYPOINT: ENTRA_LOGIN, XC_SAML_ENTRYPOINT: ENTRA_LOGIN, SAML_CERT: IDP_B64 })
        .saml!.entryPoint,
      ENTRA_LOGIN,
    );
    refuses(
      {
        SAML_ENTRYPOINT: ENTRA_LOGIN,
        XC_SAML_ENTRYPOINT: "https://other.example/saml2",
        SAML_CERT: IDP_B64,
      },
      "SAML_ENTRYPOINT",
      /XC_SAML_ENTRYPOINT is also set, to a different value\. Keep only one of them\./,
    );
    refuses(
      { SAML_ENTRYPOINT: ENTRA_LOGIN, XC_SAML_CERT: "nope!" },
      "XC_SAML_CERT",
      /it is not Base64: it contains "!"/,
    );
  });

  it("a partial set is refused, saying what is missing", () => {
    refuses(
      { SAML_ENTRYPOINT: ENTRA_LOGIN },
      "SAML_CERT",
      /it is missing, but SAML_ENTRYPOINT is set: the single-server setup needs both/,
    );
    refuses({ SAML_CERT: IDP_B64 }, "SAML_ENTRYPOINT", /it is missing, but SAML_CERT is set/);
    refuses(
      { SAML_LOGOUT_URL: ENTRA_LOGIN, SAML_MULTI_USER_FIELD: "ssoid" },
      "SAML_ENTRYPOINT, SAML_CERT",
      /they are missing, but SAML_LOGOUT_URL, SAML_MULTI_USER_FIELD are set.*Set SAML_ENTRYPOINT and SAML_CERT/,
    );
  });

  it("a non-Entra entry point needs SAML_IDP_ENTITY_ID", () => {
    const idp = { SAML_ENTRYPOINT: "https://idp.example.com/sso", SAML_CERT: IDP_B64 };
    refuses(
      idp,
      "SAML_IDP_ENTITY_ID",
      /required because SAML_ENTRYPOINT is not an Entra login URL/,
    );
    assert.equal(
      load({ ...idp, SAML_IDP_ENTITY_ID: "https://idp.example.com" }).saml!.idpEntityId,
      "https://idp.example.com",
    );
    refuses({ ...idp, SAML_IDP_ENTITY_ID: "not a uri" }, "SAML_IDP_ENTITY_ID", /is not a URI/);
  });

  it("IdP URLs: https, or http on localhost (the mock IdP)", () => {
    const mock = "http://localhost:3000/mock-idp/tenant/saml2";
    assert.equal(
      load({
        SAML_ENTRYPOINT: mock,
        SAML_CERT: IDP_B64,
        SAML_IDP_ENTITY_ID: "https://sts.windows.net/t/",
      }).saml!.entryPoint,
      mock,
    );
    refuses(
      {
        SAML_ENTRYPOINT: "http://idp.example.com/saml2",
        SAML_CERT: IDP_B64,
        SAML_IDP_ENTITY_ID: "urn:x",
      },
      "SAML_ENTRYPOINT",
      /uses http for idp\.example\.com/,
    );
    refuses(
      {
        SAML_ENTRYPOINT: "login.microsoftonline.com/x/saml2",
        SAML_CERT: IDP_B64,
        SAML_IDP_ENTITY_ID: "urn:x",
      },
      "SAML_ENTRYPOINT",
      /is not a URL/,
    );
    refuses(
      {
        SAML_ENTRYPOINT: ENTRA_LOGIN,
        SAML_CERT: IDP_B64,
        SAML_LOGOUT_URL: "http://idp.example.com/logout",
      },
      "SAML_LOGOUT_URL",
      /uses http/,
    );
  });

  it("SAML_ISSUER, SAML_ACCOUNT and SAML_MULTI_USER_FIELD refusals", () => {
    refuses(
      { SAML_ISSUER: "my app" },
      "SAML_ISSUER",
      /"my app" is not a URI\. Entra requires the Identifier to be a URI/,
    );
    refuses({ SAML_ACCOUNT: "-acme" }, "SAML_ACCOUNT", /is not an account name/);
    refuses(
      { SAML_ENTRYPOINT: ENTRA_LOGIN, SAML_CERT: IDP_B64, SAML_MULTI_USER_FIELD: "sso id" },
      "SAML_MULTI_USER_FIELD",
      /contains spaces/,
    );
  });
});

describe("one error lists every problem", () => {
  it("a problem per variable, all at once, in one ConfigError", () => {
    const env = {
      NODE_ENV: "production",
      PORT: "http",
      HOST: "no such host!",
      DOMAIN: "*.example.com",
      DATABASE_URL: "mysql://db",
      SMTP_URL: "mail.example.com",
      MAIL_FROM: "nobody",
      SESSION_SECRET: "short",
      SESSION_IDLE_MINUTES: "-5",
      SESSION_ABSOLUTE_HOURS: "forever",
      LOGIN_REQUEST_TTL_MINUTES: "0",
      CLOCK_SKEW_SECONDS: "3600",
      SP_KEY: SP_KEY,
      SAML_ENTRYPOINT: "http://idp.example.com/saml2",
      SAML_CERT: fixture("idp-rsa.key"),
      SAML_ISSUER: "not a uri",
      SAML_IDP_ENTITY_ID: "also not",
      SAML_ACCOUNT: "!",
      MOCK_IDP: "on",
      LOG_LEVEL: "loud",
      TRUST_PROXY: "maybe",
    };
    const list = problems(env);
    const named = list.map((p) => p.slice(0, p.indexOf(": ")));
    assert.deepEqual(named, [
      "PORT",
      "HOST",
      "DOMAIN",
      "DATABASE_URL",
      "SMTP_URL",
      "MAIL_FROM",
      "SESSION_SECRET",
      "ADMIN_TOKEN",
      "SESSION_IDLE_MINUTES",
      "SESSION_ABSOLUTE_HOURS",
      "LOGIN_REQUEST_TTL_MINUTES",
      "CLOCK_SKEW_SECONDS",
      "SP_CERT (or SP_CERT_FILE)",
      "SAML_ACCOUNT",
      "SAML_ISSUER",
      "SAML_ENTRYPOINT",
      "SAML_CERT",
      "SAML_IDP_ENTITY_ID",
      "MOCK_IDP",
      "LOG_LEVEL",
      "TRUST_PROXY",
    ]);
    // Each says what is wrong and how to fix it: two sentences at least.
    for (const p of list) assert.match(p, /^[A-Z_][A-Za-z_ ()]*: .+\. [A-Z].+\.$/s, p);
    assert.throws(
      () => load({ ...env, SAML_ENTRY_POINT: "x" }),
      (e: ConfigError) => {
        assert.match(e.message, /^The configuration has 21 problems:\n {2}- PORT: /);
        assert.deepEqual(e.warnings, [
          "SAML_ENTRY_POINT is not a Gatehouse setting and is ignored. Did you mean SAML_ENTRYPOINT?",
        ]);
        return true;
      },
    );
  });
});

describe("the result", () => {
  const full = () =>
    load({
      ...PROD,
      DOMAIN: "sso.example.com",
      DATABASE_URL: "postgres://gatehouse:db-pa%24%24word@127.0.0.1:5432/gatehouse?sslmode=require",
      SMTP_URL: "smtps://mailer:smtp-pa55word@smtp.example.com:465",
      SP_KEY,
      SP_CERT,
      SAML_ENTRYPOINT: ENTRA_LOGIN,
      SAML_CERT: IDP_B64,
    });

  it("is deep-frozen", () => {
    const c = full();
    const frozen = (v: unknown, path: string): void => {
      if (v === null || typeof v !== "object") return;
      assert.ok(Object.isFrozen(v), `${path} is frozen`);
      for (const [k, x] of Object.entries(v)) frozen(x, `${path}.${k}`);
    };
    frozen(c, "config");
    assert.throws(() => {
      (c as { port: number }).port = 1;
    }, TypeError);
    assert.throws(() => {
      (c.saml as { entryPoint: string }).entryPoint = "https://evil.example";
    }, TypeError);
    assert.throws(() => (c.warnings as string[]).push("x"), TypeError);
  });

  it("redacted() hides SESSION_SECRET, ADMIN_TOKEN, SP_KEY and the passwords in URLs", () => {
    const c = full();
    const r = redacted(c);
    const text = JSON.stringify(r);
    for (const secret of [
      SECRET,
      TOKEN,
      "db-pa",
      "smtp-pa55word",
      c.spKey!.privateKeyPem.split("\n")[1]!,
    ]) {
      assert.ok(!text.includes(secret), `${secret} is not in the redacted view`);
    }
    assert.equal(r.session.secret, "[redacted]");
    assert.equal(r.adminToken, "[redacted]");
    assert.equal(r.spKey!.privateKeyPem, "[redacted]");
    assert.deepEqual(r.database, {
      kind: "postgres",
      url: "postgres://gatehouse:[redacted]@127.0.0.1:5432/gatehouse?sslmode=require",
    });
    assert.equal(r.mail.smtpUrl, "smtps://mailer:[redacted]@smtp.example.com:465");
    // What is not secret stays, so the log still helps.
    assert.equal(r.publicUrl, "https://sso.example.com");
    assert.equal(r.saml!.certificate.base64, IDP_B64);
    assert.equal(r.spKey!.certificate.subject, "CN=Gatehouse SP");
    // And the config itself is untouched.
    assert.equal(c.session.secret, SECRET);
  });

  it("redacted() hides a password given as a URL parameter", () => {
    const r = redacted(
      load({ DATABASE_URL: "postgresql://db.internal/g?user=g&password=hunter2hunter2" }),
    );
    assert.deepEqual(r.database, {
      kind: "postgres",
      url: "postgresql://db.internal/g?user=g&password=[redacted]",
    });
  });
});

describe(".env", () => {
  const dotenv = [
    "# Gatehouse",
    "PORT=4000",
    "DOMAIN=sso.example.com",
    'MAIL_FROM="Example SSO <sso@example.com>"',
    `SAML_ENTRYPOINT=${ENTRA_LOGIN}`,
    `SAML_CERT=${IDP_B64}`,
    "SAML_LOGOUT_URL=",
    "",
  ].join("\n");

  it("is read from the working directory", () => {
    const c = loadConfig({}, { cwd: workdir({ ".env": dotenv }), now: NOW });
    assert.equal(c.port, 4000);
    assert.equal(c.publicUrl, "https://sso.example.com");
    assert.equal(c.mail.from, "Example SSO <sso@example.com>");
    assert.equal(c.saml!.certificate.base64, IDP_B64);
    assert.equal(c.saml!.logoutUrl, undefined, "an empty value counts as unset");
  });

  it("real environment variables win over it", () => {
    const c = loadConfig(
      { PORT: "5000", DOMAIN: "other.example.com", UNRELATED: undefined },
      { cwd: workdir({ ".env": dotenv }), now: NOW },
    );
    assert.equal(c.port, 5000);
    assert.equal(c.publicUrl, "https://other.example.com");
    assert.equal(c.mail.from, "Example SSO <sso@example.com>");
  });

  it("its problems are listed like any other", () => {
    const cwd = workdir({ ".env": "DOMAIN=*.example.com\nPORT=x\n" });
    try {
      loadConfig({}, { cwd });
      assert.fail("accepted");
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.problems.length, 2);
      assert.match(e.problems[0]!, /^PORT: /);
      assert.match(e.problems[1]!, /^DOMAIN: "\*\.example\.com" is a wildcard/);
    }
  });

  it("is ignored with dotenv: false", () => {
    const c = loadConfig({}, { cwd: workdir({ ".env": dotenv }), dotenv: false });
    assert.equal(c.port, 3000);
    assert.equal(c.saml, undefined);
  });

  it("a misspelt variable is warned about, with the likely name", () => {
    const c = load({ SAML_ENTRY_POINT: ENTRA_LOGIN, SESSION_IDLE_MINUTE: "5", PATH: "/usr/bin" });
    assert.ok(
      c.warnings.includes(
        "SAML_ENTRY_POINT is not a Gatehouse setting and is ignored. Did you mean SAML_ENTRYPOINT?",
      ),
    );
    assert.ok(
      c.warnings.includes(
        "SESSION_IDLE_MINUTE is not a Gatehouse setting and is ignored. Did you mean SESSION_IDLE_MINUTES?",
      ),
    );
    assert.ok(!c.warnings.some((w) => w.startsWith("PATH")));
  });
});

describe("configReference()", () => {
  it("documents every variable in one Markdown table", () => {
    const md = configReference();
    const rows = md.trim().split("\n");
    assert.equal(rows[0], "| Variable | What it sets | Type | Default | Example | Secret |");
    assert.equal(rows.length, 2 + VARIABLES.length);
    for (const v of VARIABLES) {
      const row = rows.find((r) => r.startsWith(`| \`${v.name}\``));
      assert.ok(row !== undefined, `${v.name} has a row`);
      assert.equal(row.split(/(?<!\\)\|/).length, 8, `${v.name}: six cells`);
      assert.equal(row.trimEnd().endsWith("| yes |"), v.secret, `${v.name}: secret flag`);
      assert.ok(v.description.length > 0 && v.example.length > 0);
    }
    assert.match(md, /\| `SAML_CERT`<br>`XC_SAML_CERT` \|/);
  });

  it("every variable the loader reads is in the table", () => {
    const source = readFileSync(resolve(import.meta.dirname, "../../src/config/load.ts"), "utf8");
    const read = new Set(
      [...source.matchAll(/(?:get|integer|secret)\("([A-Z_]+)"|text\("([A-Z_]+)", "([A-Z_]+)"\)/g)]
        .flatMap((m) => [m[1], m[2], m[3]])
        .filter((x) => x !== undefined),
    );
    const documented = new Set(VARIABLES.map((v) => v.name));
    for (const name of read) assert.ok(documented.has(name), `${name} is documented`);
    for (const name of documented) assert.ok(read.has(name), `${name} is read`);
  });
});

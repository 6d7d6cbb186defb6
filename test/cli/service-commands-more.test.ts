// More of the service commands as an operator runs them (service-commands.test.ts has the basics):
// the mock IdP behind a started demo, the single-server setup at start, a taken port, init's
// updates, certificate expiry warnings, rollback, audit tail --follow, usage errors, and the
// admin round trip on PostgreSQL (a database of its own per run: DATABASE_URL has no schema).
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import pg from "pg";
import { readCertificate } from "../../src/saml/certs.ts";

const MAIN = join(import.meta.dirname, "../../src/cli/main.ts");
const KEYS = join(import.meta.dirname, "../fixtures/keys");
const METADATA = join(import.meta.dirname, "../fixtures/metadata/good-entra-rotation/metadata.xml");
const IDP_CERT_FILE = join(KEYS, "idp-rsa.crt");
const IDP_CERT = readCertificate(readFileSync(IDP_CERT_FILE, "utf8"));
const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const ENTRYPOINT = `https://login.microsoftonline.com/${TENANT}/saml2`;

type Env = Record<string, string>;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "gatehouse-svc-"));
}

function gatehouse(args: readonly string[], cwd: string, env: Env = {}, input = ""): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    input,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves with everything printed so far once `pattern` appears on the child's stdout. */
function waitFor(child: ChildProcess, out: { text: string }, pattern: RegExp, ms = 60_000) {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; got:\n${out.text}`)),
      ms,
    );
    const check = () => {
      if (pattern.test(out.text)) {
        clearTimeout(timer);
        child.stdout?.off("data", check);
        resolve(out.text);
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", () => {
      clearTimeout(timer);
      if (!pattern.test(out.text)) reject(new Error(`exited before ${pattern}; got:\n${out.text}`));
    });
    check();
  });
}

function spawnGatehouse(args: readonly string[], cwd: string, env: Env) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = { text: "" };
  const err = { text: "" };
  child.stdout.setEncoding("utf8").on("data", (d: string) => {
    out.text += d;
  });
  child.stderr.setEncoding("utf8").on("data", (d: string) => {
    err.text += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => resolve(code)),
  );
  return { child, out, err, exited };
}

function singleServerEnv(dir: string): Env {
  return {
    DATABASE_URL: `sqlite:${join(dir, "gh.db")}`,
    DOMAIN: "sso.example.com",
    SAML_ENTRYPOINT: ENTRYPOINT,
    // One line, as the XCALLY page asks.
    SAML_CERT: IDP_CERT.base64,
    SAML_ISSUER: "https://sso.example.com/xcally",
  };
}

describe("gatehouse start", () => {
  it("serves the demo: banner, /healthz, /login, the mock IdP; stops on SIGTERM with exit 0", async () => {
    const dir = tempDir();
    const port = await freePort();
    const g = spawnGatehouse(["start"], dir, { PORT: String(port), LOG_LEVEL: "warn" });
    try {
      const banner = await waitFor(g.child, g.out, /Stop with Ctrl-C/);
      assert.match(banner, new RegExp(`Gatehouse is running: open http://localhost:${port}/login`));
      assert.match(banner, /Mode: {7}demo \(mock IdP mounted\)/);
      assert.match(banner, /Store: {6}SQLite \.\/data\/gatehouse\.db/);
      assert.match(banner, /Mail: {7}files in \.\/data\/outbox/);
      assert.match(
        banner,
        /Admin token \(generated for this run; set ADMIN_TOKEN to keep one\): \S{32,}/,
      );
      assert.match(banner, /alice@demo\.test/);

      const base = `http://127.0.0.1:${port}`;
      const health = await fetch(`${base}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { ok: true });

      const login = await fetch(`http://localhost:${port}/login`);
      assert.equal(login.status, 200);
      const page = await login.text();
      assert.match(page, /Log in with SSO/);
      assert.match(page, /Login with SAML/);

      const start = await fetch(`http://localhost:${port}/api/auth/saml/login?account=demo`, {
        redirect: "manual",
      });
      assert.equal(start.status, 302);
      const idp = start.headers.get("location") ?? "";
      assert.match(
        idp,
        new RegExp(`^http://localhost:${port}/mock-idp/[0-9a-f-]+/saml2\\?SAMLRequest=`),
      );
      const idpPage = await fetch(idp);
      assert.equal(idpPage.status, 200);
      assert.match(await idpPage.text(), /<title>Sign in \| Mock Entra ID<\/title>/);

      assert.ok(existsSync(join(dir, "data", "gatehouse.db")));
    } finally {
      g.child.kill("SIGTERM");
    }
    assert.equal(await g.exited, 0, g.err.text);
    assert.match(g.out.text, /SIGTERM: stopping Gatehouse\.\.\.\nStopped\.\n$/);
  });

  it("applies the single-server setup at start (production, no mock IdP)", async () => {
    const dir = tempDir();
    const port = await freePort();
    const g = spawnGatehouse(["start"], dir, {
      ...singleServerEnv(dir),
      GATEHOUSE_MODE: "production",
      SESSION_SECRET: "s".repeat(40),
      ADMIN_TOKEN: "a".repeat(40),
      PORT: String(port),
      LOG_LEVEL: "warn",
    });
    try {
      const banner = await waitFor(g.child, g.out, /Stop with Ctrl-C/);
      assert.match(banner, /Mode: {7}production\n/);
      assert.match(banner, /Single-server setup \(SAML_\*\):\n {2}created account "default"/);
      assert.doesNotMatch(banner, /Admin token/);
      assert.doesNotMatch(banner, /Demo mode/);
      const mock = await fetch(`http://127.0.0.1:${port}/mock-idp/x/saml2`);
      assert.equal(mock.status, 404);
    } finally {
      g.child.kill("SIGINT");
    }
    assert.equal(await g.exited, 0, g.err.text);
  });

  it("lists every configuration problem at once, numbered, and exits 2", () => {
    const r = gatehouse(["start"], tempDir(), { PORT: "abc", DOMAIN: "*.x.com", MAIL_FROM: "bad" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^The configuration has 3 problems:\n/);
    assert.match(r.stderr, /\n {2}1\. PORT: "abc" is not a whole number/);
    assert.match(r.stderr, /\n {2}2\. DOMAIN: "\*\.x\.com" is a wildcard/);
    assert.match(r.stderr, /\n {2}3\. MAIL_FROM: "bad" is not a mail address/);
    assert.equal(r.stdout, "");
  });

  it("refuses production without its secrets, naming both", () => {
    const r = gatehouse(["start"], tempDir(), { NODE_ENV: "production" });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /1\. SESSION_SECRET: it is required in production/);
    assert.match(r.stderr, /2\. ADMIN_TOKEN: it is required in production/);
  });

  it("exits 1 with one line naming PORT when the port is taken", async () => {
    const dir = tempDir();
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const r = gatehouse(["start"], dir, {
        PORT: String(port),
        MOCK_IDP: "off",
        LOG_LEVEL: "silent",
      });
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        new RegExp(`gatehouse start: PORT: 127\\.0\\.0\\.1:${port} is already in use`),
      );
    } finally {
      server.close();
    }
  });
});

describe("gatehouse init", () => {
  it("creates the default account and connection, then changes nothing the second time", () => {
    const dir = tempDir();
    const env = {
      ...singleServerEnv(dir),
      SAML_MULTI_USER_FIELD: "http://schemas.example.com/ssoid",
    };
    const first = gatehouse(["init"], dir, env);
    assert.equal(first.status, 0, first.stderr);
    assert.match(first.stdout, /- created account "default"/);
    assert.match(first.stdout, /- updated the settings of "default": multiLogin, multiLoginClaim/);
    assert.match(
      first.stdout,
      /- created connection con_\w+ to https:\/\/sts\.windows\.net\/72f988bf/,
    );
    assert.match(
      first.stdout,
      /Identifier \(Entity ID\): {2}https:\/\/sso\.example\.com\/xcally\n/,
    );
    assert.match(
      first.stdout,
      /Reply URL \(ACS\): {9}https:\/\/sso\.example\.com\/api\/auth\/saml\/callback\n/,
    );

    const second = gatehouse(["init", "--json"], dir, env);
    assert.equal(second.status, 0, second.stderr);
    const result = JSON.parse(second.stdout);
    assert.equal(result.changed, false);
    assert.deepEqual(result.changes, []);
    assert.equal(
      result.entra.metadataUrl,
      `https://sso.example.com/api/auth/saml/metadata/${result.connectionId}`,
    );
    const text = gatehouse(["init"], dir, env);
    assert.match(
      text.stdout,
      /^Nothing to change: account "default" and connection con_\w+ already match/,
    );

    const account = JSON.parse(
      gatehouse(["account", "show", "default", "--json"], dir, env).stdout,
    );
    assert.equal(account.settings.multiLogin, true);
    assert.equal(account.settings.multiLoginClaim, "http://schemas.example.com/ssoid");
  });

  it("updates the connection when a SAML_* value changes, and turns Login with SAML on when asked", () => {
    const dir = tempDir();
    const env = singleServerEnv(dir);
    assert.equal(gatehouse(["init"], dir, env).status, 0);
    const r = gatehouse(["init", "--saml-login", "all"], dir, {
      ...env,
      SAML_LOGOUT_URL: ENTRYPOINT,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /- updated the settings of "default": samlLogin/);
    assert.match(r.stdout, /- updated connection con_\w+: sloUrl\n/);
    assert.doesNotMatch(r.stdout, /Login with SAML is off/);
  });

  it("exits 1 when SAML_ENTRYPOINT and SAML_CERT are not set", () => {
    const dir = tempDir();
    const r = gatehouse(["init"], dir, { DATABASE_URL: `sqlite:${join(dir, "gh.db")}` });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /SAML_ENTRYPOINT and SAML_CERT are not set/);
  });

  it("names the variable of an unusable certificate (exit 2, every problem)", () => {
    const dir = tempDir();
    const r = gatehouse(["init"], dir, {
      ...singleServerEnv(dir),
      XC_SAML_CERT: "MIIBnotacert",
      SAML_CERT: "",
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /1\. XC_SAML_CERT: /);
  });
});

describe("gatehouse check-config", () => {
  it("prints the values to paste into Entra, with the metadata URL once init has run", () => {
    const dir = tempDir();
    const env = singleServerEnv(dir);
    const before = gatehouse(["check-config"], dir, env);
    assert.equal(before.status, 0, before.stderr);
    assert.match(before.stdout, /^The configuration is usable\./);
    assert.match(
      before.stdout,
      /Identifier \(Entity ID\): {2}https:\/\/sso\.example\.com\/xcally\n/,
    );
    assert.match(
      before.stdout,
      /Reply URL \(ACS\): {9}https:\/\/sso\.example\.com\/api\/auth\/saml\/callback\n/,
    );
    assert.match(before.stdout, /Sign on URL: {13}https:\/\/sso\.example\.com\/login\n/);
    assert.match(
      before.stdout,
      /Logout URL: {14}https:\/\/sso\.example\.com\/api\/auth\/saml\/logout\/callback\n/,
    );
    assert.match(before.stdout, /SP metadata URL: {9}after 'gatehouse init'/);
    // Nothing was created by checking.
    assert.equal(existsSync(join(dir, "gh.db")), false);
    assert.match(
      before.stdout,
      /Demo mode, but this looks like a production setup \(DOMAIN=sso\.example\.com/,
    );

    assert.equal(gatehouse(["init"], dir, env).status, 0);
    const after = JSON.parse(gatehouse(["check-config", "--json"], dir, env).stdout);
    assert.equal(after.ok, true);
    assert.match(
      after.entra.metadataUrl,
      /^https:\/\/sso\.example\.com\/api\/auth\/saml\/metadata\/con_\w+$/,
    );
  });

  it("warns about a certificate expiring within 30 days, as Entra's reminder does", () => {
    const dir = tempDir();
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "20",
        "-subj",
        "/CN=Soon",
        "-keyout",
        join(dir, "soon.key"),
        "-out",
        join(dir, "soon.crt"),
      ],
      { stdio: "ignore" },
    );
    const r = gatehouse(["check-config"], dir, {
      ...singleServerEnv(dir),
      SAML_CERT: readFileSync(join(dir, "soon.crt"), "utf8"),
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /SAML_CERT \(the IdP's signing certificate\) expires in (19|20) days \(\d{4}-\d\d-\d\d, within 30 days\)/,
    );
  });

  it("lists every problem and exits 1 when the configuration is not usable", () => {
    const dir = tempDir();
    const r = gatehouse(["check-config"], dir, {
      SAML_ENTRYPOINT: ENTRYPOINT,
      PUBLIC_URL: "http://sso.example.com",
    });
    assert.equal(r.status, 1);
    assert.match(r.stdout, /^The configuration has 2 problems:\n/);
    assert.match(r.stdout, /PUBLIC_URL: it uses http for sso\.example\.com/);
    assert.match(r.stdout, /SAML_CERT: it is missing, but SAML_ENTRYPOINT is set/);
  });
});

/** The admin commands on one store; `env` selects it. */
function adminRoundTrip(env: Env) {
  const dir = tempDir();
  const run = (args: readonly string[], input = "") => gatehouse(args, dir, env, input);

  let r = run([
    "account",
    "create",
    "acme",
    "--display-name",
    "Acme Corp",
    "--saml-login",
    "admin,agent",
  ]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^Created account acme \(acc_\w+\)\.\n {2}Display name: {10}Acme Corp\n {2}Login with SAML: {7}admin,agent\n/,
  );

  r = run(["account", "create", "ACME"]);
  assert.equal(r.status, 1);
  assert.equal(
    r.stderr,
    'gatehouse account create: NAME: An account named "ACME" already exists.\n',
  );

  r = run(["account", "set", "acme", "--sso-enforced", "on"]);
  assert.equal(r.status, 1);
  assert.match(
    r.stderr,
    /^gatehouse account set: --sso-enforced: Enforcing SSO turns password login off\./,
  );

  r = run(
    [
      "user",
      "add",
      "acme",
      "root",
      "--email",
      "root@acme.test",
      "--role",
      "admin",
      "--break-glass",
      "--password-stdin",
    ],
    "a-long-password-1\n",
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^Added root \(usr_\w+\) to acme: root@acme\.test, admin, break-glass\n$/);

  r = run(
    ["user", "add", "acme", "shorty", "--email", "s@acme.test", "--password-stdin"],
    "short\n",
  );
  assert.equal(r.status, 1);
  assert.equal(
    r.stderr,
    "gatehouse user add: --password-stdin: Passwords are at least 12 characters.\n",
  );

  r = run(["user", "add", "acme", "eve", "--email", "not-an-email"]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'gatehouse user add: --email: "not-an-email" is not an email address.\n');

  r = run(["account", "set", "acme", "--sso-enforced", "on", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).settings.ssoEnforced, true);

  const csv = join(dir, "users.csv");
  writeFileSync(
    csv,
    "username,email,role,sso_id\nann,ann@acme.test,agent,p-1\nben,ben@acme.test,user,\nbad,nope,user,\n",
  );
  r = run(["user", "import", "acme", "--csv", csv]);
  assert.equal(r.status, 1);
  assert.match(
    r.stdout,
    /^Imported 2 users into acme\.\n {2}line 4: "nope" is not an email address\.\n/,
  );

  r = run(["user", "set", "acme", "ben", "--role", "supervisor", "--disabled", "on"]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /ben@acme\.test, supervisor, disabled\n$/);
  r = run(["user", "set", "acme", "nobody", "--role", "agent"]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'gatehouse user set: USERNAME: no user "nobody" in account acme.\n');

  r = run(["user", "list", "acme", "--json"]);
  const users = JSON.parse(r.stdout) as Record<string, unknown>[];
  assert.deepEqual(users.map((u) => u.username).sort(), ["ann", "ben", "root"]);
  assert.ok(users.every((u) => !("passwordHash" in u) && !("totpSecret" in u)));
  assert.equal(users.find((u) => u.username === "ann")?.ssoId, "p-1");
  assert.equal(users.find((u) => u.username === "root")?.hasPassword, true);

  r = run(["connection", "import", "acme", "--metadata", METADATA, "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const imported = JSON.parse(r.stdout);
  assert.equal(
    imported.connection.idpEntityId,
    "https://sts.windows.net/82869000-6ad1-48f0-8171-272ed18796e9/",
  );
  assert.equal(imported.connection.spEntityId, "http://localhost:3000/saml/acme");

  r = run([
    "connection",
    "import",
    "acme",
    "--idp-entity-id",
    "https://idp.example.com/",
    "--sso-url",
    "https://idp.example.com/sso",
    "--cert",
    IDP_CERT_FILE,
    "--name",
    "Typed",
  ]);
  assert.equal(r.status, 0, r.stderr);
  const typedId = /Created connection (con_\w+) for account acme\./.exec(r.stdout)?.[1];
  assert.ok(typedId, r.stdout);
  assert.match(r.stdout, new RegExp(`1\\. SHA-256 ${IDP_CERT.fingerprint256}\\n`));
  assert.match(r.stdout, /days left\)/);

  r = run([
    "connection",
    "import",
    "acme",
    "--idp-entity-id",
    "https://idp.example.com/",
    "--sso-url",
    "https://idp.example.com/sso",
    "--cert",
    join(KEYS, "idp-rsa.key"),
  ]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^gatehouse connection import: --cert: /);

  r = run([
    "connection",
    "import",
    "acme",
    "--idp-entity-id",
    "https://idp.example.com/",
    "--sso-url",
    "not a url",
    "--cert",
    IDP_CERT_FILE,
  ]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^gatehouse connection import: --sso-url: The IdP login URL is required/);

  r = run(["connection", "show", typedId!, "--json"]);
  const shown = JSON.parse(r.stdout);
  assert.equal(shown.account, "acme");
  assert.equal(shown.certificates[0].fingerprint256, IDP_CERT.fingerprint256);
  assert.ok(shown.certificates[0].daysLeft > 0);
  assert.equal(shown.entra.replyUrl, "http://localhost:3000/api/auth/saml/callback");
  assert.equal(shown.entra.metadataUrl, `http://localhost:3000/api/auth/saml/metadata/${typedId}`);

  r = run(["connection", "deactivate", typedId!]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /is deactivated/);
  assert.match(run(["connection", "deactivate", typedId!]).stdout, /is already deactivated/);
  const listed = JSON.parse(run(["connection", "list", "acme", "--json"]).stdout) as {
    id: string;
    active: boolean;
  }[];
  assert.equal(listed.length, 2);
  assert.equal(listed.find((c) => c.id === typedId)?.active, false);

  r = run(["account", "list"]);
  assert.match(
    r.stdout,
    /^NAME +DISPLAY NAME +LOGIN WITH SAML +SSO ENFORCED +MULTI-LOGIN +CONNECTIONS +USERS\nacme +Acme Corp +admin,agent +yes +no +1 +3\n$/,
  );

  r = run(["audit", "tail", "--account", "acme", "--limit", "100", "--json"]);
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const types = events.map((e) => e.type);
  for (const t of [
    "admin.account.create",
    "admin.account.update",
    "admin.user.create",
    "admin.user.update",
    "admin.connection.create",
    "admin.connection.deactivate",
  ])
    assert.ok(types.includes(t), `${t} in ${types.join(",")}`);
  assert.ok(events.every((e) => e.actor === "cli"));
  assert.equal(
    run(["audit", "tail", "--account", "acme", "--limit", "2"]).stdout.trim().split("\n").length,
    2,
  );
  r = run(["audit", "tail", "--account", "nope"]);
  assert.equal(r.status, 1);
  assert.equal(r.stderr, 'gatehouse audit tail: --account: No account "nope".\n');
  return { dir, run };
}

describe("account, user, connection and audit commands", () => {
  it("round trip on SQLite, then roll SSO back and mail temporary passwords", () => {
    const dir = tempDir();
    const env = {
      DATABASE_URL: `sqlite:${join(dir, "admin.db")}`,
      MAIL_OUTBOX_DIR: join(dir, "outbox"),
    };
    const { run } = adminRoundTrip(env);

    let r = run(["account", "rollback", "acme"]);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /^gatehouse account: --yes is required: rollback turns SSO off for acme/,
    );
    r = run(["account", "rollback", "acme", "--yes", "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout);
    assert.equal(result.complete, true);
    assert.equal(result.connectionsDeactivated, 1);
    // ben is disabled: not mailed.
    assert.deepEqual(result.users.map((u: { username: string }) => u.username).sort(), [
      "ann",
      "root",
    ]);
    assert.equal(readdirSync(join(dir, "outbox")).filter((f) => f.endsWith(".eml")).length, 2);
    const account = JSON.parse(run(["account", "show", "acme", "--json"]).stdout);
    assert.equal(account.settings.ssoEnforced, false);
    assert.equal(account.settings.samlLogin.admin, false);
    const rollbackEvent = JSON.parse(
      run(["audit", "tail", "--type", "admin.sso.rollback", "--limit", "1", "--json"]).stdout,
    );
    assert.equal(rollbackEvent.actor, "cli");
  });

  it("audit tail --follow prints new events as they happen and stops on SIGINT", async () => {
    const dir = tempDir();
    const env = { DATABASE_URL: `sqlite:${join(dir, "follow.db")}` };
    assert.equal(gatehouse(["account", "create", "first"], dir, env).status, 0);
    const g = spawnGatehouse(["audit", "tail", "--follow"], dir, env);
    try {
      await waitFor(
        g.child,
        g.out,
        /admin\.account\.create +success +- +account=first +actor=cli +ref=\S+/,
      );
      assert.equal(gatehouse(["account", "create", "second"], dir, env).status, 0);
      await waitFor(g.child, g.out, /account=second/, 10_000);
    } finally {
      g.child.kill("SIGINT");
    }
    assert.equal(await g.exited, 0, g.err.text);
  });

  it("usage errors exit 2 with one line naming what is missing; --help exits 0", () => {
    const dir = tempDir();
    const env = { DATABASE_URL: `sqlite:${join(dir, "u.db")}` };
    let r = gatehouse(["account"], dir, env);
    assert.equal(r.status, 2);
    assert.match(
      r.stderr,
      /^gatehouse account: which one: create, list, show, set or rollback\?\n/,
    );
    r = gatehouse(["user", "add", "acme"], dir, env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^gatehouse user: USERNAME is missing\n/);
    r = gatehouse(["user", "add", "acme", "x"], dir, env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /^gatehouse user: --email is required\n/);
    r = gatehouse(["connection", "import", "acme"], dir, env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /give --metadata FILE, --metadata-url URL, or --idp-entity-id/);
    r = gatehouse(
      ["connection", "import", "acme", "--metadata", join(dir, "missing.xml")],
      dir,
      env,
    );
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--metadata .*missing\.xml: cannot read \(no such file\)/);
    r = gatehouse(["account", "set", "acme", "--sso-enforced", "maybe"], dir, env);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--sso-enforced "maybe": use on or off/);
    r = gatehouse(["audit", "tail", "--limit", "0"], dir, env);
    assert.equal(r.status, 2);
    for (const command of [
      "start",
      "init",
      "check-config",
      "account",
      "connection",
      "user",
      "audit",
    ]) {
      r = gatehouse([command, "--help"], dir, env);
      assert.equal(r.status, 0, command);
      assert.match(r.stdout, new RegExp(`^Usage: gatehouse ${command}`));
    }
  });
});

describe("account, user, connection and audit commands on PostgreSQL", async () => {
  const admin = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
  // DATABASE_URL selects a database, not a schema: each run gets a database of its own.
  const database = `gatehouse_cli_${randomBytes(6).toString("hex")}`;
  const query = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  let reachable = true;
  try {
    await query(`create database "${database}"`);
  } catch {
    reachable = false;
  }
  after(async () => {
    if (reachable) await query(`drop database if exists "${database}" with (force)`);
  });

  it("round trip", { skip: reachable ? false : `PostgreSQL at ${admin} is not reachable` }, () => {
    const url = new URL(admin);
    url.pathname = `/${database}`;
    adminRoundTrip({ DATABASE_URL: url.toString() });
  });
});

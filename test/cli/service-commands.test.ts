// The commands that run and administer the service, as an operator runs them: a temp working
// directory, the environment, the CLI as a child process, exit codes and output.
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { KEYS, MAIN } from "./run-cli.ts";

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function workdir(): string {
  const d = mkdtempSync(join(tmpdir(), "gatehouse-svc-"));
  dirs.push(d);
  return d;
}

const PROD = {
  GATEHOUSE_MODE: "production",
  PUBLIC_URL: "https://sso.example.com",
  SESSION_SECRET: "s".repeat(40),
  ADMIN_TOKEN: "a".repeat(40),
};

function run(cwd: string, args: string[], env: Record<string, string> = {}, stdin = "") {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd,
    input: stdin,
    encoding: "utf8",
    timeout: 60_000,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const IDP_CERT_ONE_LINE = readFileSync(join(KEYS, "idp-rsa.crt"), "utf8")
  .replace(/-----[A-Z ]+-----/g, "")
  .replace(/\s+/g, "");
const TENANT = "82869000-6ad1-48f0-8171-272ed18796e9";
const SINGLE_SERVER = {
  ...PROD,
  SAML_ENTRYPOINT: `https://login.microsoftonline.com/${TENANT}/saml2`,
  SAML_CERT: IDP_CERT_ONE_LINE,
  SAML_LOGOUT_URL: `https://login.microsoftonline.com/${TENANT}/saml2`,
};

describe("gatehouse start", () => {
  it("serves the demo with embedded defaults, answers /healthz and /login, and stops on SIGTERM", async () => {
    const cwd = workdir();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child: ChildProcess = spawn(process.execPath, [MAIN, "start"], {
      cwd,
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "",
        PORT: String(port),
        LOG_LEVEL: "silent",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout!.on("data", (b) => {
      out += b;
    });
    child.stderr!.on("data", (b) => {
      out += b;
    });
    const exited = new Promise<number | null>((resolve) =>
      child.on("exit", (code) => resolve(code)),
    );
    try {
      const deadline = Date.now() + 30_000;
      while (!out.includes("Gatehouse is running") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 100));
      assert.match(out, /Gatehouse is running: open http:\/\/localhost:\d+\/login/, out);
      assert.match(out, /Mode: +demo/);
      assert.match(out, /Store: +SQLite/);
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(health.status, 200);
      const login = await fetch(`http://127.0.0.1:${port}/login`);
      assert.equal(login.status, 200);
      assert.match(await login.text(), /Log in with SSO/);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0, out);
  });

  it("lists every configuration problem at once and exits 2", () => {
    const cwd = workdir();
    const r = run(cwd, ["start"], {
      GATEHOUSE_MODE: "production",
      PUBLIC_URL: "http://sso.example.com",
      SESSION_SECRET: "short",
      DOMAIN: "*.example.com",
      PORT: "99999",
    });
    assert.equal(r.status, 2, r.stderr);
    for (const name of ["PUBLIC_URL", "SESSION_SECRET", "ADMIN_TOKEN", "DOMAIN", "PORT"]) {
      assert.match(r.stderr, new RegExp(name), `names ${name}`);
    }
  });
});

describe("gatehouse init and check-config (the single-server setup)", () => {
  it("creates the default account's connection, and a second run changes nothing", () => {
    const cwd = workdir();
    const first = run(cwd, ["init", "--saml-login", "all", "--json"], SINGLE_SERVER);
    assert.equal(first.status, 0, first.stderr);
    const second = run(cwd, ["init", "--json"], SINGLE_SERVER);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(JSON.parse(second.stdout).changed, false);
    assert.equal(JSON.parse(first.stdout).changed, true);
    const shown = run(cwd, ["connection", "list", "default", "--json"], SINGLE_SERVER);
    assert.equal(shown.status, 0, shown.stderr);
    const connections = JSON.parse(shown.stdout);
    assert.equal(connections.length, 1);
    assert.equal(connections[0].idpEntityId, `https://sts.windows.net/${TENANT}/`);
  });

  it("accepts the certificate with armour, quotes and \\n escapes, and refuses an unusable one naming SAML_CERT", () => {
    const cwd = workdir();
    const pem = readFileSync(join(KEYS, "idp-rsa.crt"), "utf8");
    const escaped = `"${pem.trim().replaceAll("\n", "\\n")}"`;
    const ok = run(cwd, ["check-config"], { ...SINGLE_SERVER, SAML_CERT: escaped });
    assert.equal(ok.status, 0, ok.stderr + ok.stdout);
    const bad = run(cwd, ["check-config"], {
      ...SINGLE_SERVER,
      SAML_CERT: IDP_CERT_ONE_LINE.slice(0, 200),
    });
    assert.equal(bad.status, 1, bad.stdout);
    assert.match(bad.stdout + bad.stderr, /SAML_CERT/);
  });

  it("prints what to paste into Entra", () => {
    const cwd = workdir();
    const r = run(cwd, ["check-config"], SINGLE_SERVER);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Identifier/);
    assert.match(r.stdout, /https:\/\/sso\.example\.com\/api\/auth\/saml\/callback/);
    assert.match(r.stdout, /https:\/\/sso\.example\.com\/api\/auth\/saml\/logout\/callback/);
  });
});

describe("gatehouse account, user, connection, audit", () => {
  it("round-trips on a SQLite file, and every change is in the audit log with actor cli", () => {
    const cwd = workdir();
    const env = { ...PROD };
    assert.equal(
      run(cwd, ["account", "create", "acme", "--display-name", "Acme Corp"], env).status,
      0,
    );
    const dup = run(cwd, ["account", "create", "acme"], env);
    assert.equal(dup.status, 1);
    assert.match(dup.stderr, /already exists/);

    const metadata = join(cwd, "metadata.xml");
    const cert = join(KEYS, "idp-rsa.crt");
    const imported = run(
      cwd,
      [
        "connection",
        "import",
        "acme",
        "--idp-entity-id",
        `https://sts.windows.net/${TENANT}/`,
        "--sso-url",
        `https://login.microsoftonline.com/${TENANT}/saml2`,
        "--cert",
        cert,
        "--json",
      ],
      env,
    );
    assert.equal(imported.status, 0, imported.stderr);
    const { connection } = JSON.parse(imported.stdout);
    const shown = run(cwd, ["connection", "show", connection.id], env);
    assert.equal(shown.status, 0, shown.stderr);
    assert.match(shown.stdout, /Reply URL/);
    writeFileSync(metadata, "<not-metadata/>");
    const badMeta = run(cwd, ["connection", "import", "acme", "--metadata", metadata], env);
    assert.equal(badMeta.status, 1, badMeta.stderr);

    assert.equal(
      run(
        cwd,
        [
          "user",
          "add",
          "acme",
          "jane",
          "--email",
          "jane@acme.com",
          "--role",
          "admin",
          "--break-glass",
        ],
        env,
      ).status,
      0,
    );
    const badRole = run(
      cwd,
      ["user", "add", "acme", "joe", "--email", "joe@acme.com", "--role", "wizard"],
      env,
    );
    assert.equal(badRole.status, 2, "an unknown role is a usage error");
    assert.match(badRole.stderr, /role/i);
    const csv = join(cwd, "users.csv");
    writeFileSync(csv, "username,email,role\nbob,bob@acme.com,agent\nbad,not-an-email,user\n");
    const imp = run(cwd, ["user", "import", "acme", "--csv", csv, "--json"], env);
    assert.equal(imp.status, 1, "a refused line makes the import exit 1");
    assert.match(imp.stdout + imp.stderr, /3/, "the bad line is reported by number");
    const users = JSON.parse(run(cwd, ["user", "list", "acme", "--json"], env).stdout);
    assert.deepEqual(users.map((u: { username: string }) => u.username).sort(), ["bob", "jane"]);

    const set = run(
      cwd,
      ["account", "set", "acme", "--saml-login", "all", "--sso-enforced", "on", "--json"],
      env,
    );
    assert.equal(set.status, 0, set.stderr);
    assert.equal(JSON.parse(set.stdout).settings.ssoEnforced, true);

    const tail = run(cwd, ["audit", "tail", "--account", "acme", "--json"], env);
    assert.equal(tail.status, 0, tail.stderr);
    const events = tail.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    const types = events.map((e: { type: string }) => e.type);
    for (const t of [
      "admin.account.create",
      "admin.connection.create",
      "admin.user.create",
      "admin.account.update",
    ]) {
      assert.ok(types.includes(t), `${t} in ${types.join(", ")}`);
    }
    assert.ok(events.every((e: { actor: string }) => e.actor === "cli"));
  });
});

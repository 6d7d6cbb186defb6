// `gatehouse client add|list|remove` as an operator runs it: a temp working directory (SQLite
// under ./data), the CLI as a child process, exit codes, output, and the audit trail.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { MAIN } from "./run-cli.ts";

const cwd = mkdtempSync(join(tmpdir(), "gatehouse-client-"));
after(() => rmSync(cwd, { recursive: true, force: true }));

const ENV = {
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  GATEHOUSE_MODE: "production",
  PUBLIC_URL: "https://sso.example.com",
  SESSION_SECRET: "s".repeat(40),
  ADMIN_TOKEN: "a".repeat(40),
};

function run(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, "client", ...args], {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
    env: ENV,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("gatehouse client", () => {
  it("adds a confidential client, shows its secret once, lists it, removes it; all audited as cli", () => {
    assert.match(run("list").stdout, /No apps are registered/);
    const added = run(
      "add",
      "Example app",
      "--redirect-uri",
      "http://127.0.0.1:3000/callback",
      "--redirect-uri",
      "https://app.example.com/callback",
      "--post-logout-redirect-uri",
      "http://127.0.0.1:3000/",
      "--backchannel-logout-uri",
      "http://127.0.0.1:3000/backchannel-logout",
      "--json",
    );
    assert.equal(added.status, 0, added.stderr);
    const { client, clientSecret } = JSON.parse(added.stdout);
    assert.match(client.clientId, /^app_[a-z0-9]{26}$/);
    assert.match(clientSecret, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(client.redirectUris, [
      "http://127.0.0.1:3000/callback",
      "https://app.example.com/callback",
    ]);
    assert.equal(client.type, "confidential");
    assert.equal(client.backchannelLogoutUri, "http://127.0.0.1:3000/backchannel-logout");

    const listed = run("list", "--json");
    const clients = JSON.parse(listed.stdout);
    assert.deepEqual(
      clients.map((c: { clientId: string }) => c.clientId),
      [client.clientId],
    );
    assert.equal(listed.stdout.includes(clientSecret), false, "the secret is never listed");
    assert.match(
      run("list").stdout,
      new RegExp(`${client.clientId}\\s+Example app\\s+confidential`),
    );

    const removed = run("remove", client.clientId);
    assert.equal(removed.status, 0, removed.stderr);
    assert.match(removed.stdout, new RegExp(`Removed client ${client.clientId}`));
    const again = run("remove", client.clientId);
    assert.equal(again.status, 1);
    assert.equal(again.stderr, "gatehouse client remove: CLIENT_ID: No such client.\n");

    const audit = spawnSync(process.execPath, [MAIN, "audit", "tail", "--json"], {
      cwd,
      encoding: "utf8",
      env: ENV,
    });
    // One JSON event a line.
    const events = audit.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; actor: string });
    for (const type of ["admin.oidc_client.create", "admin.oidc_client.remove"])
      assert.ok(
        events.some((e) => e.type === type && e.actor === "cli"),
        `${type} by cli in ${audit.stdout}`,
      );
  });

  it("adds a public client without a secret", () => {
    const r = run("add", "SPA", "--redirect-uri", "http://localhost:5173/cb", "--public");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /public client app_/);
    assert.match(r.stdout, /Client secret: none \(public client: PKCE only\)/);
  });

  it("refuses a redirect URI that is not https (outside localhost), naming the option", () => {
    const r = run("add", "Bad", "--redirect-uri", "http://app.example.com/callback");
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      "gatehouse client add: --redirect-uri: redirectUris: http://app.example.com/callback must use https (http is accepted for localhost and 127.0.0.1 only).\n",
    );
    const fragment = run("add", "Bad", "--redirect-uri", "https://app.example.com/cb#x");
    assert.equal(fragment.status, 1);
    assert.match(fragment.stderr, /must not contain a fragment/);
  });

  it("adds a front-channel logout URI (iss and sid required), shown by add and list", () => {
    const r = run(
      "add",
      "Front",
      "--redirect-uri",
      "https://front.example.com/callback",
      "--frontchannel-logout-uri",
      "https://front.example.com/logout?from=gatehouse",
    );
    assert.equal(r.status, 0, r.stderr);
    assert.match(
      r.stdout,
      /Front-channel: https:\/\/front\.example\.com\/logout\?from=gatehouse \(with iss and sid\)/,
    );
    const [front] = JSON.parse(run("list", "--json").stdout).filter(
      (c: { name: string }) => c.name === "Front",
    );
    assert.equal(front.frontchannelLogoutUri, "https://front.example.com/logout?from=gatehouse");
    assert.equal(front.frontchannelLogoutSessionRequired, true);
    assert.match(run("list").stdout, /FRONT-CHANNEL LOGOUT/);
  });

  it("refuses a front-channel logout URI off the redirect URIs' origins, naming the option", () => {
    const r = run(
      "add",
      "Bad",
      "--redirect-uri",
      "https://app.example.com/callback",
      "--frontchannel-logout-uri",
      "https://other.example.com/logout",
    );
    assert.equal(r.status, 1);
    assert.equal(
      r.stderr,
      "gatehouse client add: --frontchannel-logout-uri: frontchannelLogoutUri: https://other.example.com/logout must have the scheme, host and port of one of the redirect URIs (https://app.example.com/callback).\n",
    );
  });

  it("usage errors exit 2", () => {
    const missing = run("add", "No redirect");
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--redirect-uri is required/);
    assert.equal(run("frobnicate").status, 2);
    assert.equal(run("remove").status, 2);
  });
});

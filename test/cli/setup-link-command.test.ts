// `gatehouse setup-link create|list|revoke` as an operator runs it: a temp working directory
// (SQLite under ./data), the CLI as a child process, and the printed URL opened by the domain
// the way the setup pages open it.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { openSetupLink, type SetupLinkOpening } from "../../src/domain/setup-links.ts";
import { openSqliteStore } from "../../src/store/sqlite.ts";
import { MAIN } from "./run-cli.ts";

const cwd = mkdtempSync(join(tmpdir(), "gatehouse-setup-link-"));
after(() => rmSync(cwd, { recursive: true, force: true }));

const ENV = {
  PATH: process.env.PATH ?? "",
  HOME: process.env.HOME ?? "",
  GATEHOUSE_MODE: "production",
  PUBLIC_URL: "https://sso.example.com",
  SESSION_SECRET: "s".repeat(40),
  ADMIN_TOKEN: "a".repeat(40),
};
const HOUR_MS = 3_600_000;
const URL_LINE = /^ {2}(https:\/\/sso\.example\.com\/setup\/([A-Za-z0-9_-]{43}))$/m;
const HOURS_REFUSED =
  "gatehouse setup-link create: --hours: expiresInHours is a whole number of hours from 1 to 168 (a week).\n";

function gatehouse(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd,
    encoding: "utf8",
    timeout: 60_000,
    env: ENV,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const run = (...args: string[]) => gatehouse("setup-link", ...args);

/** What the setup page would make of `token`, read from the CLI's own database. */
async function opening(token: string): Promise<SetupLinkOpening> {
  const store = await openSqliteStore(join(cwd, "data", "gatehouse.db"));
  try {
    return await openSetupLink(store, token, "127.0.0.1", new Date());
  } finally {
    await store.close();
  }
}

interface ListedLink {
  id: string;
  createdBy: string;
  expiresAt: string;
  status: string;
}

function listed(account: string): ListedLink[] {
  const r = run("list", account, "--json");
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as ListedLink[];
}

describe("gatehouse setup-link", () => {
  before(() => {
    for (const name of ["acme", "globex"]) {
      const r = gatehouse("account", "create", name);
      assert.equal(r.status, 0, r.stderr);
    }
  });

  it("creates a link whose URL opens the account, lists it active, revokes it; audited as cli", async () => {
    assert.match(run("list", "acme").stdout, /Account acme has no setup link/);

    const before = Date.now();
    const created = run("create", "acme");
    assert.equal(created.status, 0, created.stderr);
    const m = URL_LINE.exec(created.stdout);
    assert.ok(m !== null, `a setup URL on its own line in:\n${created.stdout}`);
    const [, url, token] = m as unknown as [string, string, string];
    assert.equal(created.stdout.split(url).length, 2, "the URL is printed exactly once");
    assert.match(created.stdout, /Shown only once/);
    const expires = /It expires at (\S+Z) \(in 3 days\)\./.exec(created.stdout);
    assert.ok(expires !== null, created.stdout);
    const expiresAt = new Date(expires[1]!).getTime();
    assert.ok(expiresAt >= before + 72 * HOUR_MS && expiresAt <= Date.now() + 72 * HOUR_MS);

    const open = await opening(token);
    assert.equal(open.kind, "open");
    assert.ok(open.kind === "open");
    assert.equal(open.account.name, "acme");
    assert.equal(open.expiresAt.getTime(), expiresAt);
    const linkId = open.linkId;
    assert.match(created.stdout, new RegExp(`Link ID: ${linkId}\\n`));

    const links = listed("acme");
    assert.deepEqual(
      links.map((l) => [l.id, l.createdBy, l.status]),
      [[linkId, "cli", "active"]],
    );
    assert.equal(JSON.stringify(links).includes(token), false, "the token is never listed");
    const table = run("list", "acme");
    assert.equal(table.status, 0, table.stderr);
    assert.match(table.stdout, /^ID\s+CREATED BY\s+CREATED\s+EXPIRES\s+STATUS$/m);
    assert.match(table.stdout, new RegExp(`^${linkId}\\s+cli\\s+\\S+Z\\s+\\S+Z\\s+active$`, "m"));
    assert.equal(table.stdout.includes(token), false);

    const revoked = run("revoke", "acme", linkId);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`Revoked setup link ${linkId} of account acme`));
    assert.deepEqual(
      listed("acme").map((l) => [l.id, l.status]),
      [[linkId, "revoked"]],
    );
    assert.match(run("list", "acme").stdout, new RegExp(`^${linkId}\\s.*\\srevoked$`, "m"));
    assert.deepEqual(await opening(token), { kind: "dead", reason: "revoked" });

    const again = run("revoke", "acme", linkId);
    assert.equal(again.status, 1);
    assert.equal(
      again.stderr,
      "gatehouse setup-link revoke: LINK_ID: No active setup link with this ID for this account.\n",
    );

    const audit = gatehouse("audit", "tail", "--account", "acme", "--json");
    assert.equal(audit.status, 0, audit.stderr);
    const events = audit.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string; actor: string; detail: { linkId?: string } });
    for (const type of ["admin.setup_link.create", "admin.setup_link.revoke"])
      assert.ok(
        events.some((e) => e.type === type && e.actor === "cli" && e.detail.linkId === linkId),
        `${type} by cli in ${audit.stdout}`,
      );
  });

  it("--hours sets the expiry; --json gives the link and its URL", async () => {
    const before = Date.now();
    const r = run("create", "globex", "--hours", "1", "--json");
    assert.equal(r.status, 0, r.stderr);
    const { link, url } = JSON.parse(r.stdout) as { link: ListedLink; url: string };
    const expiresAt = new Date(link.expiresAt).getTime();
    assert.ok(expiresAt >= before + HOUR_MS && expiresAt <= Date.now() + HOUR_MS);
    assert.equal(link.status, "active");
    const token = /^https:\/\/sso\.example\.com\/setup\/([A-Za-z0-9_-]{43})$/.exec(url)?.[1];
    assert.ok(token !== undefined, url);
    const open = await opening(token);
    assert.ok(open.kind === "open", JSON.stringify(open));
    assert.equal(open.account.name, "globex");
    assert.equal(open.linkId, link.id);

    // A link is revoked only through its own account.
    const other = run("revoke", "acme", link.id);
    assert.equal(other.status, 1);
    assert.match(other.stderr, /LINK_ID: No active setup link with this ID for this account\./);
    assert.equal((await opening(token)).kind, "open");
  });

  it("refuses --hours outside 1 to 168 with the domain's message, creating nothing", () => {
    const count = listed("acme").length;
    for (const hours of ["0", "200", "169", "1.5", "abc", "-1"]) {
      const r = run("create", "acme", `--hours=${hours}`);
      assert.equal(r.status, 1, `--hours ${hours}: ${r.stderr}`);
      assert.equal(r.stderr, HOURS_REFUSED, `--hours ${hours}`);
      assert.equal(r.stdout, "");
    }
    const edge = run("create", "acme", "--hours", "168");
    assert.equal(edge.status, 0, edge.stderr);
    assert.equal(listed("acme").length, count + 1);
  });

  it("refuses an unknown account in every subcommand", () => {
    for (const [sub, ...rest] of [["create"], ["list"], ["revoke", "f".repeat(64)]] as const) {
      const r = run(sub, "nope", ...rest);
      assert.equal(r.status, 1, `${sub}: ${r.stderr}`);
      assert.equal(r.stderr, `gatehouse setup-link ${sub}: ACCOUNT: No account "nope".\n`);
    }
  });

  it("refuses an unknown or shortened link ID", () => {
    for (const id of ["0".repeat(64), "abc", listed("acme")[0]!.id.slice(0, 12)]) {
      const r = run("revoke", "acme", id);
      assert.equal(r.status, 1, `${id}: ${r.stderr}`);
      assert.match(r.stderr, /LINK_ID: No active setup link with this ID for this account\./);
    }
  });

  it("usage errors exit 2", () => {
    const cases: [string[], RegExp][] = [
      [[], /which one: create, list or revoke\?/],
      [["frobnicate"], /unknown subcommand 'frobnicate'/],
      [["create"], /ACCOUNT is missing/],
      [["create", "acme", "globex"], /unexpected argument 'globex'/],
      [["create", "acme", "--days", "3"], /Unknown option '--days'/],
      [["create", "acme", "--hours"], /--hours/],
      [["list"], /ACCOUNT is missing/],
      [["revoke"], /ACCOUNT is missing/],
      [["revoke", "acme"], /LINK_ID is missing/],
      [["revoke", "acme", "a", "b"], /unexpected argument 'b'/],
    ];
    for (const [args, message] of cases) {
      const r = run(...args);
      assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.match(r.stderr, /Run 'gatehouse help setup-link' for usage\./);
    }
  });
});

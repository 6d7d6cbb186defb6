// End to end through a real third-party IdP: Debian's SimpleSAMLphp 1.19 under PHP's built-in
// server, Gatehouse listening on 127.0.0.1, Debian's Chromium in between. The connection is
// created from the metadata SimpleSAMLphp publishes (fetched by URL) and SimpleSAMLphp reads
// the SP metadata Gatehouse serves: what an admin does with any IdP. Needs php, php-xml and
// simplesamlphp (scripts/setup-system.sh); GATEHOUSE_SKIP_SSP=1 skips it.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { FastifyInstance } from "fastify";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { createConnection } from "../../src/domain/admin.ts";
import {
  type Account,
  type AuditEvent,
  type Connection,
  DEFAULT_ACCOUNT_SETTINGS,
  type User,
} from "../../src/domain/model.ts";
import { hashSecret } from "../../src/domain/secrets.ts";
import type { Store } from "../../src/domain/store.ts";
import { buildApp, type RoutePlugin } from "../../src/http/app.ts";
import { SESSION_COOKIE } from "../../src/http/cookies.ts";
import { readIdpMetadata } from "../../src/saml/metadata.ts";
import { openSqliteStore } from "../../src/store/sqlite.ts";
import {
  EMAIL_ADDRESS,
  freePort,
  launchChromium,
  type SspIdp,
  sspMissing,
  startSsp,
} from "./ssp-support.ts";

const SKIP = process.env.GATEHOUSE_SKIP_SSP === "1";
const ROOT = join(import.meta.dirname, "../..");
/** Single Logout is another engineer's module; its round trip is tested once it exists. */
const HAS_SLO = existsSync(join(ROOT, "src/http/routes/slo.ts"));

const ACCOUNT = "sspcorp";
const ALICE = { username: "alice", password: "alice-ssp-password", email: "alice@ssp.test" };

interface Env {
  dir: string;
  store: Store;
  app: FastifyInstance;
  publicUrl: string;
  idp: SspIdp;
  account: Account;
  connection: Connection;
  user: User;
  browser: Browser;
  context: BrowserContext;
  page: Page;
}

/** Registers Single Logout's routes unless buildApp already does. */
async function sloRoutes(): Promise<RoutePlugin[]> {
  if (!HAS_SLO) return [];
  const path = "../../src/http/routes/slo.ts";
  const m = (await import(path)) as { sloRoutes?: RoutePlugin };
  const register = m.sloRoutes;
  if (register === undefined) return [];
  return [
    (app, ctx) => {
      if (!app.hasRoute({ method: "POST", url: "/logout" })) return register(app, ctx);
    },
  ];
}

async function lastEvent(store: Store, type: string): Promise<AuditEvent> {
  const [event] = await store.audit.query({ type, limit: 1 });
  if (event === undefined) throw new Error(`no audit event of type ${type}`);
  return event;
}

describe("SimpleSAMLphp (Debian) as the IdP, in Chromium", {
  skip: SKIP ? "GATEHOUSE_SKIP_SSP=1" : false,
  timeout: 60_000,
}, () => {
  const env: Partial<Env> = {};
  // Failure messages carry SimpleSAMLphp's side of the story.
  const withLogs = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      if (!(e instanceof Error) || env.idp === undefined) throw e;
      const url = env.page?.url() ?? "(no page)";
      const body =
        env.page === undefined ? "" : ((await env.page.locator("body").textContent()) ?? "");
      const where = `--- browser at ${url} ---\n${body.trim().slice(0, 3000)}\n${env.idp.logs()}`;
      throw new Error(`${e.message}\n${where}`, { cause: e });
    }
  };

  before(async () => {
    const missing = sspMissing();
    if (missing !== undefined) throw new Error(`SimpleSAMLphp end-to-end test: ${missing}`);
    env.dir = mkdtempSync(join(tmpdir(), "gatehouse-ssp-"));
    const [gatehousePort, sspPort] = [await freePort(), await freePort()];
    env.publicUrl = `http://127.0.0.1:${gatehousePort}`;

    env.idp = await startSsp({
      dir: join(env.dir, "ssp"),
      port: sspPort,
      users: [
        {
          username: ALICE.username,
          password: ALICE.password,
          attributes: { uid: [ALICE.username], mail: [ALICE.email], displayName: ["Alice SSP"] },
        },
      ],
      nameIdAttribute: "mail",
      trustedDomains: [`127.0.0.1:${gatehousePort}`],
    });

    const now = new Date();
    env.store = await openSqliteStore(join(env.dir, "gatehouse.db"));
    env.account = await env.store.accounts.create(
      {
        name: ACCOUNT,
        displayName: "SSP Corp",
        settings: {
          ...DEFAULT_ACCOUNT_SETTINGS,
          samlLogin: { admin: true, supervisor: true, agent: true, user: true },
        },
      },
      now,
    );
    // The admin's path: the IdP's metadata by URL, read as Gatehouse reads any upload.
    const metadataXml = await (await fetch(env.idp.metadataUrl)).text();
    const metadata = readIdpMetadata(metadataXml, { now });
    assert.equal(metadata.entityId, env.idp.entityId);
    const created = await createConnection(
      env.store,
      env.account.id,
      {
        name: "SimpleSAMLphp",
        metadataXml,
        metadataUrl: env.idp.metadataUrl,
        spEntityId: `${env.publicUrl}/sp`,
        acsUrl: `${env.publicUrl}/api/auth/saml/callback`,
      },
      { actor: "cli" },
      now,
    );
    env.connection = created.connection;
    env.user = await env.store.users.create(
      {
        accountId: env.account.id,
        username: "alice.ssp",
        email: ALICE.email,
        ssoId: null,
        role: "user",
        passwordHash: null,
        totpSecret: null,
        breakGlass: false,
        mustChangePassword: false,
        disabled: false,
      },
      now,
    );

    env.app = await buildApp(
      {
        store: env.store,
        mailer: { send: async () => undefined },
        publicUrl: env.publicUrl,
        adminToken: "ssp-e2e-admin-token-0123456789abcdef0123",
        sessions: { idleMinutes: 30, absoluteHours: 8 },
        loginRequestTtlMinutes: 10,
        clockSkewSeconds: 180,
        defaultAccountName: ACCOUNT,
        // SimpleSAMLphp stamps its messages with the real clock.
        now: () => new Date(),
      },
      await sloRoutes(),
    );
    await env.app.listen({ host: "127.0.0.1", port: gatehousePort });

    // The IT admin hands Gatehouse's SP metadata, as Gatehouse serves it, to the IdP.
    const sp = await fetch(`${env.publicUrl}/api/auth/saml/metadata/${env.connection.id}`);
    assert.equal(sp.status, 200);
    env.idp.setSpMetadata(await sp.text());

    env.browser = await launchChromium();
    env.context = await env.browser.newContext({ baseURL: env.publicUrl });
    env.context.setDefaultTimeout(10_000);
    env.page = await env.context.newPage();
  });

  after(async () => {
    // Every process this file started, whatever failed above.
    await env.browser?.close().catch(() => {});
    await env.idp?.stop();
    await env.app?.close();
    await env.store?.close();
    if (env.dir !== undefined) rmSync(env.dir, { recursive: true, force: true });
  });

  test("the connection is SimpleSAMLphp's: entity ID, HTTP-Redirect endpoints, its signing certificate", () => {
    const c = env.connection!;
    const idp = env.idp!;
    assert.equal(c.idpEntityId, idp.entityId);
    assert.equal(c.ssoUrl, `${idp.baseUrl}saml2/idp/SSOService.php`);
    assert.equal(c.sloUrl, `${idp.baseUrl}saml2/idp/SingleLogoutService.php`);
    const pemBody = idp.certificatePem
      .replace(/-----(BEGIN|END) CERTIFICATE-----/g, "")
      .replace(/\s+/g, "");
    assert.deepEqual(c.certificates, [pemBody]);
  });

  test("SP-initiated login: SimpleSAMLphp's login form, the signed response POSTed to the ACS, the dashboard", async () =>
    withLogs(async () => {
      const { page, store, idp, user, connection } = env as Env;
      await page.goto(`/api/auth/saml/login?account=${ACCOUNT}`);
      // SimpleSAMLphp's exampleauth:UserPass form (core's loginuserpass page).
      await signInAtSsp(page, idp);
      // Its HTTP-POST binding page submits itself (or offers a button without JavaScript).
      await page.waitForURL(`${env.publicUrl}/dashboard`);
      const card = page.locator(".card");
      await assertText(card, "You're signed in");
      await assertText(card, user.username);
      await assertText(card, ALICE.email);
      await assertText(card, "single sign-on (SAML)");

      const event = await lastEvent(store, "login.sso");
      assert.equal(event.outcome, "success");
      assert.equal(event.reason, "email");
      assert.equal(event.userId, user.id);
      assert.equal(event.connectionId, connection.id);
      assert.equal(event.detail.nameId, ALICE.email);
      assert.match(String(event.detail.sessionIndex), /^_[0-9a-f]{20,}$/);

      // The session keeps what Single Logout needs.
      const cookie = (await env.context!.cookies()).find((c) => c.name === SESSION_COOKIE);
      assert.ok(cookie, "a session cookie");
      const session = await store.sessions.getLive(hashSecret(cookie.value), new Date());
      assert.ok(session, "a live session for alice");
      assert.equal(session.userId, user.id);
      assert.equal(session.nameId, ALICE.email);
      assert.equal(session.nameIdFormat, EMAIL_ADDRESS);
    }));

  test("Log in with SSO by work email (discovery, login_hint): SimpleSAMLphp's form, then the dashboard", async () =>
    withLogs(async () => {
      const { browser, idp, store, user } = env as Env;
      // A browser of its own: no session at Gatehouse or at SimpleSAMLphp.
      const context = await browser.newContext({ baseURL: env.publicUrl });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      const previous = env.page;
      env.page = page;
      try {
        await page.goto("/login/sso");
        await page.getByLabel("Work email").fill(ALICE.email);
        await page.getByRole("button", { name: "Continue" }).click();
        await signInAtSsp(page, idp);
        await page.waitForURL(`${env.publicUrl}/dashboard`);
        await assertText(page.locator(".card"), user.username);
        const event = await lastEvent(store, "login.sso");
        assert.equal(event.outcome, "success");
        assert.equal(event.userId, user.id);
        env.page = previous;
      } finally {
        // On failure env.page stays on this page, for withLogs to show it.
        if (env.page === previous) await context.close();
      }
    }));

  if (HAS_SLO) {
    test("Log out: the LogoutRequest through SimpleSAMLphp's SingleLogoutService and its LogoutResponse back to /api/auth/saml/logout/callback", async () =>
      withLogs(async () => {
        const { page, store, idp, user, connection } = env as Env;
        await page.goto("/dashboard");
        const seen: string[] = [];
        page.on("request", (r) => {
          if (r.isNavigationRequest()) seen.push(`${r.method()} ${r.url()}`);
        });
        page.on("console", (m) => seen.push(`console ${m.type()}: ${m.text()}`));
        await page.getByRole("button", { name: "Log out" }).click();
        await page.waitForURL(`${env.publicUrl}/login?logged_out`).catch((e) => {
          throw new Error(seen.join("\n"), { cause: e });
        });
        await assertText(page.locator("body"), "You have been logged out.");

        // The round trip: our LogoutRequest at SimpleSAMLphp, its LogoutResponse at our callback.
        const sloUrl = `${idp.baseUrl}saml2/idp/SingleLogoutService.php?`;
        const toIdp = seen.findIndex((s) => s.startsWith(`GET ${sloUrl}SAMLRequest=`));
        const back = seen.findIndex((s) =>
          /^(GET|POST) http:\/\/127\.0\.0\.1:\d+\/api\/auth\/saml\/logout\/callback/.test(s),
        );
        assert.ok(toIdp >= 0, `LogoutRequest sent to SimpleSAMLphp: ${seen.join("\n")}`);
        assert.ok(back > toIdp, `LogoutResponse came back: ${seen.join("\n")}`);

        const logout = await lastEvent(store, "logout");
        assert.equal(logout.outcome, "success");
        assert.equal(logout.reason, "slo_requested");
        assert.equal(logout.userId, user.id);
        const slo = await lastEvent(store, "logout.slo");
        assert.equal(slo.outcome, "success");
        assert.equal(slo.reason, "idp_confirmed");
        assert.equal(slo.connectionId, connection.id);
        assert.equal(slo.detail.issuer, idp.entityId);
        // SimpleSAMLphp signs its LogoutResponse (HTTP-Redirect: the query string is signed).
        assert.equal(slo.detail.signed, true);
        assert.equal(slo.detail.binding, "redirect");
        assert.equal(slo.detail.logoutRequestId, logout.detail.logoutRequestId);

        // Signed out here: the dashboard sends to the login page.
        await page.goto("/dashboard");
        assert.match(page.url(), /\/login/);
        // And at SimpleSAMLphp: a new login asks for the password again.
        await page.goto(`/api/auth/saml/login?account=${ACCOUNT}`);
        await page.waitForURL((u) =>
          u.href.startsWith(`${idp.baseUrl}module.php/core/loginuserpass.php`),
        );
      }));

    test("IdP-initiated logout: SimpleSAMLphp's signed LogoutRequest ends the session, our LogoutResponse goes back", async () =>
      withLogs(async () => {
        const { page, store, idp, user, connection } = env as Env;
        await page.goto(`/api/auth/saml/login?account=${ACCOUNT}`);
        await signInAtSsp(page, idp);
        await page.waitForURL(`${env.publicUrl}/dashboard`);
        const login = await lastEvent(store, "login.sso");

        // Logging out at the IdP (as another app of it would): SimpleSAMLphp sends its
        // LogoutRequest to each SP of the session, then the browser to ReturnTo.
        const returnTo = `${env.publicUrl}/dashboard`;
        await page.goto(
          `${idp.baseUrl}saml2/idp/SingleLogoutService.php?ReturnTo=${encodeURIComponent(returnTo)}`,
        );
        // The dashboard, with the session ended, sends to the login page.
        await page.waitForURL((u) => u.href.startsWith(`${env.publicUrl}/login`));

        const event = await lastEvent(store, "logout.idp");
        assert.equal(event.outcome, "success");
        assert.equal(event.reason, "idp_logout");
        assert.equal(event.connectionId, connection.id);
        assert.equal(event.userId, user.id);
        assert.equal(event.detail.issuer, idp.entityId);
        assert.equal(event.detail.nameId, ALICE.email);
        assert.deepEqual(event.detail.sessionIndexes, [login.detail.sessionIndex]);
        assert.equal(event.detail.endedSessions, 1);
        // SimpleSAMLphp received our LogoutResponse and found it successful.
        const sp = JSON.stringify(connection.spEntityId).slice(1, -1);
        assert.ok(idp.sspLog().includes(`Received SAML 2.0 LogoutResponse from: '${sp}'`));
        assert.doesNotMatch(idp.sspLog(), /Unsuccessful logout/);
      }));
  } else {
    test.todo(
      "Log out through SimpleSAMLphp's SingleLogoutService (waits for src/http/routes/slo.ts)",
    );
  }
});

/** At SimpleSAMLphp's exampleauth:UserPass form (core's loginuserpass page): alice's credentials. */
async function signInAtSsp(page: Page, idp: SspIdp): Promise<void> {
  await page.waitForURL((u) =>
    u.href.startsWith(`${idp.baseUrl}module.php/core/loginuserpass.php`),
  );
  await page.locator('input[name="username"]').fill(ALICE.username);
  await page.locator('input[name="password"]').fill(ALICE.password);
  await page.locator('button[type="submit"], input[type="submit"]').first().click();
}

async function assertText(locator: import("playwright-core").Locator, text: string) {
  const got = (await locator.textContent()) ?? "";
  assert.ok(got.includes(text), `expected ${JSON.stringify(text)} in:\n${got}`);
}

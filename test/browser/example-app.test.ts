// The example app (examples/app/) end to end in Chromium: the app sends the person to Gatehouse,
// "Log in with SSO" through the mock IdP, back to the app showing every claim; then the IdP's
// "Sign out everywhere" (IdP-initiated SAML logout) ends the Gatehouse session, Gatehouse tells
// the app by back-channel logout, and the app's page shows the person signed out.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { type RunningExampleApp, startExampleApp } from "../../examples/app/server.ts";
import { publicSid } from "../../src/domain/oidc.ts";
import {
  type DemoServer,
  lastEvent,
  launchBrowser,
  newPage,
  screenshot,
  signInAtMockIdp,
  startDemoServer,
} from "./support.ts";

const ADMIN_TOKEN = "browser-test-admin-token-0123456789abcdef";

let server: DemoServer;
let browser: Browser;
let app: RunningExampleApp;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => (typeof a === "object" && a !== null ? resolve(a.port) : reject(a)));
    });
  });
}

before(async () => {
  [server, browser] = await Promise.all([startDemoServer(), launchBrowser()]);
  const appUrl = `http://127.0.0.1:${await freePort()}`;
  const res = await fetch(`${server.publicUrl}/admin/api/clients`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: "Example app",
      redirectUris: [`${appUrl}/callback`],
      postLogoutRedirectUris: [`${appUrl}/`],
      backchannelLogoutUri: `${appUrl}/backchannel-logout`,
    }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const { client, clientSecret } = (await res.json()) as {
    client: { clientId: string };
    clientSecret: string;
  };
  app = await startExampleApp({
    issuer: `${server.publicUrl}/oidc`,
    clientId: client.clientId,
    clientSecret,
    appUrl,
  });
});
after(async () => {
  await app?.close();
  await browser?.close();
  await server?.close();
});

/** The app's claims table as an object. */
async function shownClaims(p: Page): Promise<Record<string, unknown>> {
  const rows = await p.locator("#claims tr").all();
  const out: Record<string, unknown> = {};
  for (const row of rows)
    out[(await row.locator("th").textContent())!] = JSON.parse(
      (await row.locator("td").textContent())!,
    );
  return out;
}

/** App → Gatehouse login page → Log in with SSO → mock IdP → back to the app, signed in. */
async function signInThroughTheApp(p: Page): Promise<Record<string, unknown>> {
  await p.goto(`${app.url}/`);
  assert.equal(await p.locator("#status").textContent(), "You are signed out.");
  await p.getByRole("link", { name: "Sign in with Gatehouse" }).click();
  await p.waitForURL(`${server.publicUrl}/login`);
  await p.getByRole("link", { name: "Log in with SSO" }).click();
  await p.getByLabel("Work email").fill("alice@demo.test");
  await p.getByRole("button", { name: "Continue" }).click();
  await signInAtMockIdp(p);
  await p.waitForURL(`${app.url}/`);
  assert.equal(await p.locator("#status").textContent(), "Signed in as alice@demo.test.");
  return shownClaims(p);
}

describe("the example app signs in through Gatehouse", () => {
  it("shows the claims, and the IdP's Sign out everywhere signs the app out (back-channel)", async () => {
    const { page: p } = await newPage(browser, server);
    const claims = await signInThroughTheApp(p);
    await screenshot(p, "example-app-signed-in");
    const demo = await server.store.accounts.byName("demo");
    const alice = await server.store.users.byUsername(demo!.id, "alice");
    assert.equal(claims.sub, alice!.id);
    assert.equal(claims.email, "alice@demo.test");
    assert.equal(claims.name, "alice");
    assert.deepEqual(claims.account, { id: demo!.id, name: "demo" });
    assert.equal(claims.role, alice!.role);
    assert.deepEqual(claims.amr, ["saml"]);
    assert.equal(claims.iss, `${server.publicUrl}/oidc`);
    const [gatehouseSession] = await server.store.sessions.listLive(alice!.id, new Date());
    assert.equal(claims.sid, publicSid(gatehouseSession!));
    assert.equal(app.sessions.size, 1);

    await p.goto(`${server.publicUrl}/mock-idp/${server.seed.mockIdpOptions.tenantId}/apps`);
    await p.getByRole("button", { name: "Sign out everywhere" }).click();
    // The LogoutRequest reaches Gatehouse from a frame of the IdP's page; the app is told
    // server to server, so wait for the app's session to go.
    const deadline = Date.now() + 10_000;
    while (app.sessions.size > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    await p.goto(`${app.url}/`);
    assert.equal(await p.locator("#status").textContent(), "You are signed out.");
    await screenshot(p, "example-app-signed-out");
    const event = await lastEvent(server.store, "oidc.backchannel_logout");
    assert.equal(event.outcome, "success");
    assert.equal(event.userId, alice!.id);
    assert.equal(event.detail.endReason, "idp_logout");
    await p.context().close();
  });

  it("Log out in the app ends the Gatehouse session too (RP-initiated logout)", async () => {
    const { page: p } = await newPage(browser, server);
    await signInThroughTheApp(p);
    await p.getByRole("button", { name: "Log out" }).click();
    // oidc-provider asks before ending the session at Gatehouse.
    await p.getByRole("button", { name: /yes|sign me out/i }).click();
    await p.waitForURL(`${app.url}/`);
    assert.equal(await p.locator("#status").textContent(), "You are signed out.");
    await p.goto(`${server.publicUrl}/dashboard`);
    await p.waitForURL(/\/login/);
    await p.context().close();
  });
});

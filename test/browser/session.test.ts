// Password login, enforced SSO, logout and Single Logout in a real browser against the demo
// seed and the mock IdP: each flow's visible outcome and its audit event.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import {
  BREAKGLASS_PASSWORD,
  DAVE_PASSWORD,
  DEMO_TENANT_ID,
  FRANK_PASSWORD,
} from "../../src/cli/demo.ts";
import { LOGIN_MESSAGES } from "../../src/domain/messages.ts";
import {
  type DemoServer,
  lastEvent,
  launchBrowser,
  newPage,
  screenshot,
  signInAtMockIdp,
  startDemoServer,
  startSso,
} from "./support.ts";

let server: DemoServer;
let browser: Browser;

before(async () => {
  [server, browser] = await Promise.all([startDemoServer(), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function page(): Promise<Page> {
  return (await newPage(browser, server)).page;
}

async function userId(accountName: string, username: string): Promise<string> {
  const account = await server.store.accounts.byName(accountName);
  const user = await server.store.users.byUsername(account!.id, username);
  return user!.id;
}

async function passwordLogin(p: Page, account: string, username: string, password: string) {
  await p.goto("/login");
  await p.getByLabel("Account name").fill(account);
  await p.getByLabel("Username or email").fill(username);
  await p.getByLabel("Password", { exact: true }).fill(password);
  await p.getByRole("button", { name: "Sign in", exact: true }).click();
}

async function expectSignedIn(p: Page, username: string): Promise<void> {
  await p.waitForURL(/\/dashboard$/);
  await p.getByRole("heading", { name: "You're signed in" }).waitFor();
  assert.equal(await p.locator("main p.lead strong").textContent(), username);
}

async function logOut(p: Page): Promise<void> {
  await p.getByRole("button", { name: "Log out" }).click();
  await p.waitForURL(/\/login\?logged_out$/);
  await p.getByText("You have been logged out.").waitFor();
  await screenshot(p, "logged-out");
  // The session is over: the dashboard sends the person back to the login page.
  await p.goto("/dashboard");
  await p.waitForURL(/\/login$/);
}

describe("password login and enforced SSO in Chromium", () => {
  it("password login with the account name, then local logout", async () => {
    const p = await page();
    await passwordLogin(p, "demo", "dave", DAVE_PASSWORD);
    await expectSignedIn(p, "dave");
    const login = await lastEvent(server.store, "login.password");
    assert.equal(login.outcome, "success");
    assert.equal(login.userId, await userId("demo", "dave"));
    await logOut(p);
    const logout = await lastEvent(server.store, "logout");
    assert.equal(logout.reason, "local");
    assert.equal(logout.userId, login.userId);
    await p.context().close();
  });

  it("a wrong password: the login page again, with the message", async () => {
    const p = await page();
    await passwordLogin(p, "demo", "dave", "not-the-password");
    assert.equal(
      (await p.getByRole("alert").textContent())?.includes(LOGIN_MESSAGES.bad_credentials),
      true,
    );
    const event = await lastEvent(server.store, "login.password");
    assert.equal(event.outcome, "failure");
    assert.equal(event.reason, "wrong_password");
    await p.context().close();
  });

  it("SSO enforced: a user's password login is refused", async () => {
    const p = await page();
    await passwordLogin(p, "demo-enforced", "frank", FRANK_PASSWORD);
    assert.equal(
      (await p.getByRole("alert").textContent())?.includes(LOGIN_MESSAGES.sso_enforced),
      true,
    );
    await screenshot(p, "login-sso-enforced");
    const event = await lastEvent(server.store, "login.password");
    assert.equal(event.outcome, "failure");
    assert.equal(event.reason, "sso_enforced");
    assert.equal(event.userId, await userId("demo-enforced", "frank"));
    await p.context().close();
  });

  it("SSO enforced: the break-glass admin signs in with a password, audited as such", async () => {
    const p = await page();
    await passwordLogin(p, "demo-enforced", "breakglass", BREAKGLASS_PASSWORD);
    await expectSignedIn(p, "breakglass");
    const event = await lastEvent(server.store, "login.password.break_glass");
    assert.equal(event.outcome, "success");
    assert.equal(event.reason, "break_glass");
    await p.context().close();
  });

  it("SSO enforced: the same users sign in with SSO", async () => {
    const p = await page();
    await startSso(p, "frank@demo.test");
    await signInAtMockIdp(p);
    await expectSignedIn(p, "frank");
    const event = await lastEvent(server.store, "login.sso");
    assert.equal(event.userId, await userId("demo-enforced", "frank"));
    await p.context().close();
  });
});

describe("Single Logout in Chromium", () => {
  it("SP-initiated: Log out ends the session here and at the mock IdP", async () => {
    const p = await page();
    await startSso(p, "alice@demo.test");
    await signInAtMockIdp(p);
    await expectSignedIn(p, "alice");
    await logOut(p);
    const requested = await lastEvent(server.store, "logout");
    assert.equal(requested.reason, "slo_requested");
    const confirmed = await lastEvent(server.store, "logout.slo");
    assert.equal(confirmed.outcome, "success");
    assert.equal(confirmed.detail.logoutRequestId, requested.detail.logoutRequestId);
    // The IdP session is over too: the next SSO login asks for the password again.
    await startSso(p, "alice@demo.test");
    await p.waitForURL(/\/mock-idp\//);
    await p.getByLabel("Password", { exact: true }).waitFor();
    await p.context().close();
  });

  it("IdP-initiated: My Apps' Sign out everywhere ends the Gatehouse session", async () => {
    const p = await page();
    await startSso(p, "bob@demo.test");
    await signInAtMockIdp(p);
    await expectSignedIn(p, "bob");
    const before = await server.store.sessions.listLive(await userId("demo", "bob"), new Date());
    assert.equal(before.length > 0, true);
    await p.goto(`/mock-idp/${DEMO_TENANT_ID}/apps`);
    await p.getByRole("button", { name: "Sign out everywhere" }).click();
    await p.waitForLoadState("load");
    const event = await waitForEvent("logout.idp");
    assert.equal(event.outcome, "success");
    assert.equal(event.reason, "idp_logout");
    assert.equal(event.userId, await userId("demo", "bob"));
    assert.equal(event.detail.endedSessions, 1);
    await p.goto("/dashboard");
    await p.waitForURL(/\/login$/);
    await p.context().close();
  });
});

/** Front-channel logout runs in frames: the event arrives a moment after the page loads. */
async function waitForEvent(type: string) {
  for (let i = 0; i < 50; i++) {
    const [event] = await server.store.audit.query({ type, limit: 1 });
    if (event !== undefined) return event;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${type} event`);
}

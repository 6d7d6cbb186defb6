// SAML login in a real browser against the demo seed and the mock IdP: each flow's visible
// outcome and its audit event.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { LOGIN_MESSAGES } from "../../src/domain/messages.ts";
import {
  type DemoServer,
  LOGIN_REQUEST_TTL_MINUTES,
  lastEvent,
  launchBrowser,
  newPage,
  screenshot,
  shownReference,
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

async function expectSignedIn(p: Page, username: string): Promise<void> {
  await p.waitForURL(/\/dashboard$/);
  await p.getByRole("heading", { name: "You're signed in" }).waitFor();
  assert.equal(await p.locator("main p.lead strong").textContent(), username);
}

async function expectRefused(p: Page, message: string, reason: string): Promise<void> {
  await p.getByRole("heading", { name: "Sign-in failed" }).waitFor();
  assert.equal((await p.getByRole("alert").textContent())?.trim(), message);
  const reference = await shownReference(p);
  const [event] = await server.store.audit.query({ reference });
  assert.ok(event !== undefined, `an audit event with reference ${reference}`);
  assert.equal(event.outcome, "failure");
  assert.equal(event.reason, reason);
}

describe("SSO login in Chromium", () => {
  it('"Log in with SSO": email, the mock IdP with login_hint prefilled, password, dashboard', async () => {
    const p = await page();
    await p.goto("/login");
    await screenshot(p, "login");
    await p.getByRole("link", { name: "Log in with SSO" }).click();
    await p.getByLabel("Work email").fill("alice@demo.test");
    await screenshot(p, "sso");
    await p.getByRole("button", { name: "Continue" }).click();
    await p.waitForURL(/\/mock-idp\/.*\/saml2\?/);
    assert.equal(await p.getByLabel("Email or username").inputValue(), "alice@demo.test");
    await screenshot(p, "mock-idp-sign-in");
    await signInAtMockIdp(p);
    await expectSignedIn(p, "alice");
    await screenshot(p, "dashboard");
    const event = await lastEvent(server.store, "login.sso");
    assert.equal(event.outcome, "success");
    assert.equal(event.reason, "email");
    assert.equal(event.userId, await userId("demo", "alice"));
    await p.context().close();
  });

  it('"Login with SAML" button starts the default account\'s login', async () => {
    const p = await page();
    await p.goto("/login");
    await p.getByRole("link", { name: "Login with SAML" }).click();
    await p.waitForURL(/\/mock-idp\//);
    assert.equal(await p.getByLabel("Email or username").inputValue(), "");
    await signInAtMockIdp(p, "bob@demo.test");
    await expectSignedIn(p, "bob");
    const event = await lastEvent(server.store, "login.sso");
    assert.equal(event.outcome, "success");
    assert.equal(event.userId, await userId("demo", "bob"));
    await p.context().close();
  });

  it("an email no user has is refused at discovery, before the IdP", async () => {
    const p = await page();
    await startSso(p, "erin@demo.test");
    await expectRefused(p, LOGIN_MESSAGES.email_not_sso, "email_not_sso");
    assert.ok(!p.url().includes("/mock-idp/"));
    const event = await lastEvent(server.store, "login.sso.discovery");
    assert.equal(event.detail.email, "erin@demo.test");
    await screenshot(p, "error");
    await p.context().close();
  });

  it("a person the IdP knows but Gatehouse does not: the email error after the IdP", async () => {
    const p = await page();
    await p.goto("/login");
    await p.getByRole("link", { name: "Login with SAML" }).click();
    await signInAtMockIdp(p, "erin@demo.test");
    await expectRefused(p, LOGIN_MESSAGES.email_not_sso, "no_matching_user");
    const event = await lastEvent(server.store, "login.sso");
    assert.equal(event.detail.emailRead, "erin@demo.test");
    await p.context().close();
  });

  it("one email, two users, multi-login off: Netcore's duplicate error", async () => {
    const p = await page();
    await startSso(p, "carol@demo.test");
    // carol@demo.test is in two accounts: the page asks which one.
    assert.equal(
      (await p.getByRole("status").textContent())?.trim(),
      LOGIN_MESSAGES.account_required,
    );
    await screenshot(p, "sso-account-name");
    await p.getByLabel("Account name").fill("demo");
    await p.getByRole("button", { name: "Continue" }).click();
    await signInAtMockIdp(p);
    await expectRefused(p, LOGIN_MESSAGES.duplicate_users, "duplicate_users");
    const event = await lastEvent(server.store, "login.sso");
    assert.deepEqual(event.detail.usernames, ["carol-admin", "carol-agent"]);
    await p.context().close();
  });

  it("multi-login on: the chooser, then signed in as the chosen profile", async () => {
    const p = await page();
    await startSso(p, "carol@demo.test", "demo-multi");
    await signInAtMockIdp(p);
    await p.getByRole("heading", { name: "Choose a profile" }).waitFor();
    await screenshot(p, "chooser");
    await p.getByRole("button", { name: /carol-agent/ }).click();
    await expectSignedIn(p, "carol-agent");
    const event = await lastEvent(server.store, "login.sso");
    assert.equal(event.outcome, "success");
    assert.equal(event.reason, "multi_login");
    assert.equal(event.userId, await userId("demo-multi", "carol-agent"));
    await p.context().close();
  });

  it("the account name is remembered in this browser", async () => {
    const p = await page();
    await startSso(p, "carol@demo.test", "demo-multi");
    await signInAtMockIdp(p);
    await p.getByRole("heading", { name: "Choose a profile" }).waitFor();
    await p.goto("/login/sso");
    assert.equal(await p.getByLabel("Account name").inputValue(), "demo-multi");
    await p.context().close();
  });

  it("IdP-initiated from the mock IdP's My Apps", async () => {
    const p = await page();
    await p.goto(`/mock-idp/${server.seed.mockIdpOptions.tenantId}/apps`);
    await p.getByRole("link", { name: "Demo Company" }).click();
    await signInAtMockIdp(p, "bob@demo.test");
    await expectSignedIn(p, "bob");
    const event = await lastEvent(server.store, "login.sso");
    assert.equal(event.outcome, "success");
    assert.equal(event.userId, await userId("demo", "bob"));
    await p.context().close();
  });

  it("UPN differs from mail (Aircall's case): matched by the emailaddress claim", async () => {
    const p = await page();
    await startSso(p, "grace@demo.test");
    await signInAtMockIdp(p);
    await expectSignedIn(p, "grace");
    const event = await lastEvent(server.store, "login.sso");
    assert.equal(event.detail.nameId, "ggordon@demo.onmicrosoft.com");
    await p.context().close();
  });

  it("a user the IdP refuses (not assigned): the IdP failure message", async () => {
    const p = await page();
    await p.goto("/api/auth/saml/login");
    await signInAtMockIdp(p, "heidi@demo.test");
    await expectRefused(p, LOGIN_MESSAGES.idp_failure, "status_not_success");
    await p.context().close();
  });

  it("a login attempt that outlives its request: the expired-session message", async () => {
    const p = await page();
    await startSso(p, "alice@demo.test");
    await p.waitForURL(/\/mock-idp\//);
    server.advance((LOGIN_REQUEST_TTL_MINUTES + 1) * 60_000);
    await signInAtMockIdp(p);
    await expectRefused(p, LOGIN_MESSAGES.session_expired, "in_response_to_unexpected");
    await p.context().close();
  });
});

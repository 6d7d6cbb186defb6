// Front-Channel Logout 1.0 in Chromium: a tiny app on 127.0.0.1 (Fastify, its own session cookie)
// signs its user in through Gatehouse (code flow with PKCE, SSO at the mock IdP) and registers a
// frontchannel_logout_uri only (no back-channel). When the person logs out of Gatehouse, or the
// IdP's "Sign out everywhere" reaches Gatehouse through the browser, Gatehouse's page loads the
// app's URI in an iframe: the app sees iss, the sid of its ID token and its own cookie, and ends
// that session; the browser then goes on (to the IdP and back to the login page).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import type { Browser, Page } from "playwright-core";
import { DEMO_TENANT_ID } from "../../src/cli/demo.ts";
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

const DEMO_ADMIN_TOKEN = "browser-test-admin-token-0123456789abcdef";
const APP_COOKIE = "tiny_app_session";

/** What the app's front-channel logout URI received. */
interface FrontchannelCall {
  readonly query: Record<string, string>;
  readonly cookies: Record<string, string>;
}

/**
 * The tiny app: /login starts the code flow, /callback redeems the code and keeps the ID token's
 * sid under its own cookie, / says who is signed in, /frontchannel-logout ends the session whose
 * sid Gatehouse names (when iss is Gatehouse's) and records what it received.
 */
async function startTinyApp(issuer: string) {
  const app: FastifyInstance = Fastify();
  const calls: FrontchannelCall[] = [];
  const sessions = new Map<string, { sid: string; email: string }>();
  const pending = new Map<string, string>();
  let client = { clientId: "", clientSecret: "" };
  /** Known once listening; the routes read it per request. */
  let url = "";

  const cookiesOf = (header: string | undefined) =>
    Object.fromEntries(
      (header ?? "")
        .split(";")
        .map((c) => c.trim())
        .filter((c) => c.includes("="))
        .map((c) => [c.slice(0, c.indexOf("=")), c.slice(c.indexOf("=") + 1)]),
    );

  app.get("/", async (req, reply) => {
    const s = sessions.get(cookiesOf(req.headers.cookie)[APP_COOKIE] ?? "");
    return reply
      .type("text/html")
      .send(
        `<p id="status">${s === undefined ? "You are signed out." : `Signed in as ${s.email}.`}</p><a href="/login">Sign in with Gatehouse</a>`,
      );
  });
  app.get("/login", async (_req, reply) => {
    const state = randomBytes(16).toString("base64url");
    const verifier = randomBytes(32).toString("base64url");
    pending.set(state, verifier);
    const q = new URLSearchParams({
      client_id: client.clientId,
      redirect_uri: `${url}/callback`,
      response_type: "code",
      scope: "openid email",
      state,
      code_challenge: createHash("sha256").update(verifier).digest("base64url"),
      code_challenge_method: "S256",
    });
    return reply.redirect(`${issuer}/auth?${q}`, 303);
  });
  app.get<{ Querystring: { code?: string; state?: string } }>("/callback", async (req, reply) => {
    const verifier = pending.get(req.query.state ?? "");
    pending.delete(req.query.state ?? "");
    assert.ok(verifier !== undefined && req.query.code !== undefined, "the app's own state");
    const res = await fetch(`${issuer}/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: req.query.code,
        redirect_uri: `${url}/callback`,
        code_verifier: verifier,
      }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { id_token } = (await res.json()) as { id_token: string };
    // Straight from the token endpoint over the app's own request: read, not verified, here.
    const claims = JSON.parse(Buffer.from(id_token.split(".")[1]!, "base64url").toString());
    const id = randomBytes(16).toString("base64url");
    sessions.set(id, { sid: claims.sid, email: claims.email });
    return reply
      .header("set-cookie", `${APP_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax`)
      .redirect("/", 303);
  });
  app.get<{ Querystring: Record<string, string> }>("/frontchannel-logout", async (req, reply) => {
    calls.push({ query: { ...req.query }, cookies: cookiesOf(req.headers.cookie) });
    if (req.query.iss === issuer)
      for (const [id, s] of sessions) if (s.sid === req.query.sid) sessions.delete(id);
    // Section 2: the RP's answer should not be cached.
    return reply.header("cache-control", "no-cache, no-store").type("text/html").send("bye");
  });

  await app.listen({ host: "127.0.0.1", port: 0 });
  const address = app.server.address();
  assert.ok(typeof address === "object" && address !== null);
  url = `http://127.0.0.1:${address.port}`;
  return {
    url,
    calls,
    sessions,
    use(registered: { clientId: string; clientSecret: string }) {
      client = registered;
    },
    close: () => app.close(),
  };
}

let server: DemoServer;
let browser: Browser;
let app: Awaited<ReturnType<typeof startTinyApp>>;

before(async () => {
  [server, browser] = await Promise.all([startDemoServer(), launchBrowser()]);
  app = await startTinyApp(`${server.publicUrl}/oidc`);
  const res = await fetch(`${server.publicUrl}/admin/api/clients`, {
    method: "POST",
    headers: { authorization: `Bearer ${DEMO_ADMIN_TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({
      name: "Tiny app",
      redirectUris: [`${app.url}/callback`],
      frontchannelLogoutUri: `${app.url}/frontchannel-logout`,
    }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  const { client, clientSecret } = (await res.json()) as {
    client: { clientId: string };
    clientSecret: string;
  };
  app.use({ clientId: client.clientId, clientSecret });
});
after(async () => {
  await app?.close();
  await browser?.close();
  await server?.close();
});

/** The tiny app → Gatehouse → Log in with SSO → mock IdP → the tiny app, signed in. */
async function signInThroughTheApp(p: Page, email: string) {
  await p.goto(`${app.url}/`);
  await p.getByRole("link", { name: "Sign in with Gatehouse" }).click();
  await p.waitForURL(`${server.publicUrl}/login`);
  await p.getByRole("link", { name: "Log in with SSO" }).click();
  await p.getByLabel("Work email").fill(email);
  await p.getByRole("button", { name: "Continue" }).click();
  await signInAtMockIdp(p);
  await p.waitForURL(`${app.url}/`);
  assert.equal(await p.locator("#status").textContent(), `Signed in as ${email}.`);
  const demo = await server.store.accounts.byName("demo");
  const user = await server.store.users.byUsername(demo!.id, email.split("@")[0]!);
  const [session] = await server.store.sessions.listLive(user!.id, new Date());
  return { userId: user!.id, sid: publicSid(session!) };
}

/** The app's front-channel URI is loaded in a frame: it may land a moment after the page. */
async function waitForCall(count: number): Promise<FrontchannelCall> {
  for (let i = 0; i < 100 && app.calls.length < count; i++)
    await new Promise((r) => setTimeout(r, 50));
  assert.equal(app.calls.length, count, "the app's front-channel logout URI was loaded");
  return app.calls[count - 1]!;
}

describe("front-channel logout signs the app out in the browser", () => {
  it("Log out of Gatehouse: the app's iframe (iss, sid, its cookie), then the IdP, then the login page", async () => {
    const { page: p } = await newPage(browser, server);
    const { userId, sid } = await signInThroughTheApp(p, "alice@demo.test");
    assert.equal(app.sessions.size, 1);
    const before = app.calls.length;

    await p.goto(`${server.publicUrl}/dashboard`);
    await p.getByRole("button", { name: "Log out" }).click();
    const call = await waitForCall(before + 1);
    assert.deepEqual(call.query, { iss: `${server.publicUrl}/oidc`, sid });
    assert.ok(call.cookies[APP_COOKIE], "the app's own cookie reached its iframe");
    assert.equal(app.sessions.size, 0, "the app ended the session Gatehouse named");
    // On through the IdP's Single Logout and back.
    await p.waitForURL(/\/login\?logged_out$/);
    await screenshot(p, "frontchannel-logged-out");
    await p.goto(`${app.url}/`);
    assert.equal(await p.locator("#status").textContent(), "You are signed out.");

    const event = await lastEvent(server.store, "oidc.frontchannel_logout");
    assert.equal(event.userId, userId);
    assert.equal(event.detail.uri, `${app.url}/frontchannel-logout`);
    assert.equal(event.detail.endReason, "logout");
    const slo = await lastEvent(server.store, "logout.slo");
    assert.equal(slo.outcome, "success", "the IdP confirmed the logout after the iframes");
    await p.context().close();
  });

  it("the IdP's Sign out everywhere: Gatehouse's page in the IdP's frame loads the app's iframe", async () => {
    const { page: p } = await newPage(browser, server);
    const { sid } = await signInThroughTheApp(p, "bob@demo.test");
    const before = app.calls.length;
    await p.goto(`${server.publicUrl}/mock-idp/${DEMO_TENANT_ID}/apps`);
    await p.getByRole("button", { name: "Sign out everywhere" }).click();
    const call = await waitForCall(before + 1);
    assert.deepEqual(call.query, { iss: `${server.publicUrl}/oidc`, sid });
    assert.ok(call.cookies[APP_COOKIE], "the app's own cookie reached its iframe");
    assert.equal(app.sessions.size, 0);
    const event = await lastEvent(server.store, "oidc.frontchannel_logout");
    assert.equal(event.detail.endReason, "idp_logout");
    await p.goto(`${app.url}/`);
    assert.equal(await p.locator("#status").textContent(), "You are signed out.");
    await p.context().close();
  });
});

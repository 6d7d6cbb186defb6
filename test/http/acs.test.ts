// The SSO login flow through the HTTP layer: start, ACS, matching, sessions, error pages with
// Netcore's messages, and the audit event behind each outcome.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { LOGIN_MESSAGES } from "../../src/domain/messages.ts";
import {
  addUser,
  cookieHeader,
  cookiesOf,
  entraResponse,
  type Harness,
  harness,
  postAcs,
  startLogin,
} from "./support.ts";

const alice = {
  upn: "alice@contoso.com",
  mail: "alice@contoso.com",
  objectId: "11111111-aaaa-4bbb-8ccc-000000000001",
};

async function lastAudit(h: Harness) {
  const [event] = await h.store.audit.query({ limit: 1 });
  assert.ok(event, "an audit event was written");
  return event;
}

function refusedWith(res: { statusCode: number; body: string }, message: string) {
  assert.equal(res.statusCode, 400, res.body.slice(0, 300));
  assert.ok(res.body.includes(message), `page shows "${message}"`);
  assert.match(res.body, /Reference: <span class="mono">[0-9A-Z]{4}-[0-9A-Z]{4}<\/span>/);
  assert.doesNotMatch(res.body, /at .*\.ts:\d+/, "no stack trace");
}

describe("SP-initiated SSO login", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("signs the matching user in, with a server-side session and an audit event", async () => {
    h = await harness();
    const user = await addUser(h, "alice", "Alice@Contoso.com");
    const { id, location, jar } = await startLogin(h, "?login_hint=alice%40contoso.com");
    assert.equal(
      location.origin + location.pathname,
      `https://login.microsoftonline.com/${"72f988bf-86f1-41af-91ab-2d7cd011db47"}/saml2`,
    );
    assert.equal(location.searchParams.get("login_hint"), "alice@contoso.com");
    const res = await postAcs(h, entraResponse(alice, { now: h.clock.now, inResponseTo: id }), jar);
    assert.equal(res.statusCode, 303, res.body.slice(0, 500));
    assert.equal(res.headers.location, "/dashboard");
    const session = cookiesOf(res, jar);
    assert.ok(session.gh_session, "session cookie set");
    const dash = await h.app.inject({
      method: "GET",
      url: "/dashboard",
      headers: { cookie: cookieHeader(session) },
    });
    assert.equal(dash.statusCode, 200);
    assert.match(dash.body, /Welcome, <strong>alice<\/strong>/);
    const event = await lastAudit(h);
    assert.equal(event.type, "login.sso");
    assert.equal(event.outcome, "success");
    assert.equal(event.userId, user.id);
    // The identity binding is remembered (Entra tenant + object ID).
    const bindings = await h.store.bindings.listForUser(user.id);
    assert.equal(bindings.length, 1);
    assert.equal(
      bindings[0]!.subject,
      `entra:72f988bf-86f1-41af-91ab-2d7cd011db47/${alice.objectId}`,
    );
  });

  it("consumes the request once: a replayed POST is refused as an expired session", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const { id, jar } = await startLogin(h);
    const response = entraResponse(alice, { now: h.clock.now, inResponseTo: id });
    assert.equal((await postAcs(h, response, { ...jar })).statusCode, 303);
    h.clock.now = new Date(h.clock.now.getTime() + 1000);
    const again = await postAcs(h, response, { ...jar });
    refusedWith(again, LOGIN_MESSAGES.session_expired);
    assert.equal((await lastAudit(h)).reason, "in_response_to_unexpected");
  });

  it("refuses a response started in another browser (login CSRF): no cookie, no session", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const { id } = await startLogin(h);
    const res = await postAcs(h, entraResponse(alice, { now: h.clock.now, inResponseTo: id }), {});
    refusedWith(res, LOGIN_MESSAGES.session_expired);
    assert.equal((await lastAudit(h)).reason, "in_response_to_unexpected");
  });

  it("refuses an expired login attempt", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const { id, jar } = await startLogin(h);
    h.clock.now = new Date(h.clock.now.getTime() + 11 * 60_000);
    const res = await postAcs(h, entraResponse(alice, { now: h.clock.now, inResponseTo: id }), jar);
    refusedWith(res, LOGIN_MESSAGES.session_expired);
  });

  it("shows Netcore's message for an unknown email and audits which claim was read", async () => {
    h = await harness();
    await addUser(h, "bob", "bob@contoso.com");
    const { id, jar } = await startLogin(h);
    const res = await postAcs(h, entraResponse(alice, { now: h.clock.now, inResponseTo: id }), jar);
    refusedWith(res, LOGIN_MESSAGES.email_not_sso);
    const event = await lastAudit(h);
    assert.equal(event.reason, "no_matching_user");
    assert.equal(event.detail.emailRead, "alice@contoso.com");
    assert.match(String(event.detail.emailSource), /emailaddress/);
  });

  it("refuses two users with one email (Netcore) with the duplicate message", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    await addUser(h, "alice2", "ALICE@contoso.com");
    const { id, jar } = await startLogin(h);
    const res = await postAcs(h, entraResponse(alice, { now: h.clock.now, inResponseTo: id }), jar);
    refusedWith(res, LOGIN_MESSAGES.duplicate_users);
    assert.equal((await lastAudit(h)).reason, "duplicate_users");
  });

  it("offers a chooser when multi-login is on (XCALLY), and signs in the chosen profile", async () => {
    h = await harness({ multiLogin: true });
    await addUser(h, "alice-admin", "alice@contoso.com", { role: "admin" });
    const agent = await addUser(h, "alice-agent", "alice@contoso.com", { role: "agent" });
    const { id, jar } = await startLogin(h);
    const res = await postAcs(h, entraResponse(alice, { now: h.clock.now, inResponseTo: id }), jar);
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /Choose a profile/);
    assert.match(res.body, /alice-admin/);
    cookiesOf(res, jar);
    const ticket = /name="ticket" value="([^"]+)"/.exec(res.body)![1]!;
    const csrf = /name="_csrf" value="([^"]+)"/.exec(res.body)![1]!;
    const chosen = await h.app.inject({
      method: "POST",
      url: "/login/choose",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookieHeader(jar) },
      payload: new URLSearchParams({ _csrf: csrf, ticket, user: agent.id }).toString(),
    });
    assert.equal(chosen.statusCode, 303, chosen.body.slice(0, 300));
    const event = await lastAudit(h);
    assert.equal(event.userId, agent.id);
    assert.equal(event.reason, "multi_login");
  });

  it("maps an IdP failure status to 'Login failed due to incorrect credentials.' and keeps the AADSTS text for admins", async () => {
    const { buildEntraFailure } = await import("../../src/mock-idp/response.ts");
    h = await harness();
    const { id, jar } = await startLogin(h);
    const xml = buildEntraFailure({
      tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
      acsUrl: "http://localhost:3000/api/auth/saml/callback",
      inResponseTo: id,
      now: h.clock.now,
      statusCodes: [
        "urn:oasis:names:tc:SAML:2.0:status:Requester",
        "urn:oasis:names:tc:SAML:2.0:status:RequestDenied",
      ],
      statusMessage:
        "AADSTS50105: The signed in user is not assigned to a role for the application.",
    });
    const res = await postAcs(h, Buffer.from(xml).toString("base64"), jar);
    refusedWith(res, LOGIN_MESSAGES.idp_failure);
    const event = await lastAudit(h);
    assert.equal(event.reason, "status_not_success");
    assert.match(String(event.detail.note), /AADSTS50105/);
  });

  it("refuses a tampered response as an unusable connection, never signing anyone in", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    await addUser(h, "mallory", "mallory@contoso.com");
    const { id, jar } = await startLogin(h);
    const xml = Buffer.from(entraResponse(alice, { now: h.clock.now, inResponseTo: id }), "base64")
      .toString()
      .replaceAll("alice@contoso.com", "mallory@contoso.com");
    const res = await postAcs(h, Buffer.from(xml).toString("base64"), jar);
    refusedWith(res, LOGIN_MESSAGES.idp_unreachable);
    assert.equal((await lastAudit(h)).reason, "digest_mismatch");
    assert.equal(
      res.cookies.find((c) => c.name === "gh_session"),
      undefined,
    );
  });

  it("accepts IdP-initiated login only when the account allows it, and RelayState only as a local path", async () => {
    h = await harness({ allowIdpInitiated: false });
    await addUser(h, "alice", "alice@contoso.com");
    const refused = await postAcs(h, entraResponse(alice, { now: h.clock.now }), {});
    refusedWith(refused, LOGIN_MESSAGES.idp_unreachable);
    assert.equal((await lastAudit(h)).reason, "unsolicited_not_allowed");
    await h.close();

    h = await harness({ allowIdpInitiated: true });
    await addUser(h, "alice", "alice@contoso.com");
    const ok = await postAcs(h, entraResponse(alice, { now: h.clock.now }), {}, "/dashboard?tab=2");
    assert.equal(ok.statusCode, 303);
    assert.equal(ok.headers.location, "/dashboard?tab=2");
    const evil = await postAcs(
      h,
      entraResponse(alice, { now: h.clock.now }),
      {},
      "//evil.example/x",
    );
    assert.equal(evil.statusCode, 303);
    assert.equal(evil.headers.location, "/dashboard");
  });

  it("refuses a disabled user with a clear message", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com", { disabled: true });
    const { id, jar } = await startLogin(h);
    const res = await postAcs(h, entraResponse(alice, { now: h.clock.now, inResponseTo: id }), jar);
    refusedWith(res, LOGIN_MESSAGES.user_disabled);
  });

  it("an idle session ends: the dashboard says the session expired (Netcore's message)", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const { id, jar } = await startLogin(h);
    const res = await postAcs(h, entraResponse(alice, { now: h.clock.now, inResponseTo: id }), jar);
    const session = cookiesOf(res, jar);
    const fresh = await h.app.inject({
      method: "GET",
      url: "/dashboard",
      headers: { cookie: cookieHeader(session) },
    });
    assert.equal(fresh.statusCode, 200);
    h.clock.now = new Date(h.clock.now.getTime() + 31 * 60_000); // idle timeout is 30 minutes
    const stale = await h.app.inject({
      method: "GET",
      url: "/dashboard",
      headers: { cookie: cookieHeader(session) },
    });
    assert.equal(stale.statusCode, 302);
    assert.equal(stale.headers.location, "/login?expired");
    const page = await h.app.inject({ method: "GET", url: "/login?expired" });
    assert.ok(page.body.includes(LOGIN_MESSAGES.session_expired));
    // Without any session cookie, no such message.
    const anonymous = await h.app.inject({ method: "GET", url: "/dashboard" });
    assert.equal(anonymous.headers.location, "/login");
  });

  it("refuses to start when Login with SAML is off for the account", async () => {
    h = await harness({
      samlLogin: { admin: false, supervisor: false, agent: false, user: false },
    });
    const res = await h.app.inject({ method: "GET", url: "/api/auth/saml/login" });
    refusedWith(res, LOGIN_MESSAGES.account_not_sso);
  });
});

// Single Logout through the HTTP layer, both directions (saml-profiles-2.0-os 4.4; ENTRA.md,
// Single Logout): the local session always ends first; Entra's LogoutResponse (either Issuer
// form, unsigned) confirms it; Entra's own LogoutRequest, signed over a lowercase-encoded query,
// ends exactly the sessions it names by SessionIndex and is answered with a LogoutResponse.
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import type { AuditEvent } from "../../src/domain/model.ts";
import { hashSecret } from "../../src/domain/secrets.ts";
import { startSession } from "../../src/domain/sessions.ts";
import { SLO_PATH } from "../../src/http/routes/slo.ts";
import {
  buildEntraLogoutRequest,
  buildEntraLogoutResponse,
  entraRedirectQuery,
} from "../../src/mock-idp/logout.ts";
import type { MockUser } from "../../src/mock-idp/response.ts";
import { readCertificate } from "../../src/saml/certs.ts";
import { signEnveloped } from "../../src/saml/dsig.ts";
import { decodeRedirectMessage } from "../../src/saml/redirect.ts";
import { verifyRedirectQuery } from "../../src/saml/redirect-signature.ts";
import { parseXml } from "../../src/saml/xml/parse.ts";
import { attr, child, directText } from "../../src/saml/xml/tree.ts";
import {
  addUser,
  cookieHeader,
  cookiesOf,
  entraResponse,
  type Harness,
  harness,
  IDP_KEY,
  IDP_SSO_URL,
  PUBLIC_URL,
  postAcs,
  SP_ENTITY_ID,
  startLogin,
  TENANT,
} from "./support.ts";

const keys = join(import.meta.dirname, "../fixtures/keys");
const OTHER_KEY = createPrivateKey(readFileSync(join(keys, "other-rsa.key")));
const SP_KEY = createPrivateKey(readFileSync(join(keys, "sp-rsa.key")));
const SP_CERT = readCertificate(readFileSync(join(keys, "sp-rsa.crt"), "utf8"));
const SLO_URL = `${PUBLIC_URL}${SLO_PATH}`;
const OTHER_TENANT = "0e3a3b1c-1111-4222-8333-444455556666";
const PROTOCOL_NS = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS = "urn:oasis:names:tc:SAML:2.0:assertion";
const SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success";
const CSRF = "csrf-token-0123456789abcdefghijklmnopqrstuvw";
const NOT_CONFIRMED = "Your identity provider did not confirm the sign-out";
const REFUSED = "This sign-out request could not be verified as coming from your identity provider";

const alice: MockUser = {
  upn: "alice@contoso.com",
  mail: "alice@contoso.com",
  objectId: "11111111-aaaa-4bbb-8ccc-000000000001",
};
const bob: MockUser = {
  upn: "bob@contoso.com",
  mail: "bob@contoso.com",
  objectId: "11111111-aaaa-4bbb-8ccc-000000000002",
};

interface SignedIn {
  /** The browser's cookies (session, CSRF). */
  jar: Record<string, string>;
  /** The stored session's ID (the hash of the cookie token). */
  sessionId: string;
  /** Entra's SessionIndex: the login's Assertion ID. */
  sessionIndex: string;
}

let loginCount = 0;

/** A full SP-initiated SSO login through the ACS; the Assertion ID is the SessionIndex. */
async function ssoSignIn(h: Harness, user: MockUser): Promise<SignedIn> {
  const sessionIndex = `_aaaaaaaa-0000-4000-8000-${String(++loginCount).padStart(12, "0")}`;
  const { id, jar } = await startLogin(h);
  const res = await postAcs(
    h,
    entraResponse(user, { now: h.clock.now, inResponseTo: id, assertionId: sessionIndex }),
    jar,
  );
  assert.equal(res.statusCode, 303, res.body.slice(0, 400));
  const cookies = cookiesOf(res, { gh_csrf: CSRF });
  assert.ok(cookies.gh_session, "session cookie set");
  return { jar: cookies, sessionId: hashSecret(cookies.gh_session), sessionIndex };
}

async function isLive(h: Harness, sessionId: string): Promise<boolean> {
  return (await h.store.sessions.getLive(sessionId, h.clock.now)) !== undefined;
}

async function lastAudit(h: Harness, type: string): Promise<AuditEvent> {
  const [event] = await h.store.audit.query({ type, limit: 1 });
  assert.ok(event, `a ${type} audit event was written`);
  return event;
}

async function auditCount(h: Harness, type: string): Promise<number> {
  return (await h.store.audit.query({ type, limit: 100 })).length;
}

/** Moves the clock on, so events and messages get distinct instants. */
function tick(h: Harness, ms = 1000): void {
  h.clock.now = new Date(h.clock.now.getTime() + ms);
}

function postLogout(h: Harness, jar: Record<string, string>, csrf = CSRF) {
  return h.app.inject({
    method: "POST",
    url: "/logout",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookieHeader(jar) },
    payload: new URLSearchParams({ _csrf: csrf }).toString(),
  });
}

function getCallback(h: Harness, query: string, jar: Record<string, string> = {}) {
  return h.app.inject({
    method: "GET",
    url: `${SLO_PATH}?${query}`,
    headers: { cookie: cookieHeader(jar) },
  });
}

function postCallback(h: Harness, form: Record<string, string>, jar: Record<string, string> = {}) {
  return h.app.inject({
    method: "POST",
    url: SLO_PATH,
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookieHeader(jar) },
    payload: new URLSearchParams(form).toString(),
  });
}

/** Logs out through POST /logout; returns our LogoutRequest as sent to the IdP. */
async function logoutToIdp(h: Harness, s: SignedIn) {
  const res = await postLogout(h, s.jar);
  assert.equal(res.statusCode, 303, res.body.slice(0, 400));
  const location = new URL(res.headers.location as string);
  const xml = decodeRedirectMessage(location.searchParams.get("SAMLRequest")!, 100_000);
  const request = parseXml(xml);
  const jar = cookiesOf(res, { ...s.jar });
  return { res, location, request, id: attr(request, "ID")!, jar };
}

/** Our LogoutResponse, from the redirect that answers an IdP's LogoutRequest. */
function answerOf(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  assert.ok(res.statusCode === 302 || res.statusCode === 303, res.body.slice(0, 400));
  const location = new URL(res.headers.location as string);
  assert.equal(location.origin + location.pathname, IDP_SSO_URL);
  const root = parseXml(decodeRedirectMessage(location.searchParams.get("SAMLResponse")!, 100_000));
  assert.equal(root.local, "LogoutResponse");
  assert.equal(root.ns, PROTOCOL_NS);
  const status = child(child(root, PROTOCOL_NS, "Status")!, PROTOCOL_NS, "StatusCode")!;
  return {
    location,
    inResponseTo: attr(root, "InResponseTo"),
    destination: attr(root, "Destination"),
    issuer: directText(child(root, ASSERTION_NS, "Issuer")!),
    status: attr(status, "Value"),
  };
}

function loggedOutPage(res: { statusCode: number; body: string }, confirmed: boolean) {
  assert.equal(res.statusCode, 200, res.body.slice(0, 400));
  assert.ok(res.body.includes("You have been logged out"), "the logged-out page");
  assert.equal(res.body.includes(NOT_CONFIRMED), !confirmed, "the note on the IdP");
  if (!confirmed) assert.match(res.body, /Reference: <span class="mono">[0-9A-Z]{4}-[0-9A-Z]{4}/);
}

function refusedPage(res: { statusCode: number; body: string }) {
  assert.equal(res.statusCode, 400, res.body.slice(0, 400));
  assert.ok(res.body.includes("Sign-out request refused"));
  assert.ok(res.body.includes(REFUSED));
  assert.match(res.body, /Reference: <span class="mono">[0-9A-Z]{4}-[0-9A-Z]{4}<\/span>/);
  assert.doesNotMatch(res.body, /at .*\.ts:\d+/, "no stack trace");
}

describe("SP-initiated Single Logout (POST /logout)", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("ends the local session before redirecting to the IdP with NameID, Format and SessionIndex", async () => {
    h = await harness();
    const user = await addUser(h, "alice", "alice@contoso.com");
    const s = await ssoSignIn(h, alice);
    tick(h);
    const { res, location, request, id, jar } = await logoutToIdp(h, s);

    assert.equal(location.origin + location.pathname, IDP_SSO_URL);
    assert.equal(location.searchParams.get("Signature"), null, "unsigned by default");
    assert.equal(await isLive(h, s.sessionId), false, "ended before the IdP answers");
    assert.equal(jar.gh_session, undefined, "session cookie cleared");
    assert.ok(jar.gh_saml_logout, "the request is bound to this browser");
    assert.ok(res.cookies.some((c) => c.name === "gh_session" && c.value === ""));

    assert.equal(attr(request, "Destination"), IDP_SSO_URL);
    assert.equal(directText(child(request, ASSERTION_NS, "Issuer")!), SP_ENTITY_ID);
    const nameId = child(request, ASSERTION_NS, "NameID")!;
    assert.equal(directText(nameId), alice.upn);
    assert.equal(attr(nameId, "Format"), "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress");
    assert.equal(directText(child(request, PROTOCOL_NS, "SessionIndex")!), s.sessionIndex);

    const event = await lastAudit(h, "logout");
    assert.equal(event.outcome, "success");
    assert.equal(event.reason, "slo_requested");
    assert.equal(event.userId, user.id);
    assert.equal(event.connectionId, h.connection.id);
    assert.equal(event.detail.logoutRequestId, id);

    const dash = await h.app.inject({
      method: "GET",
      url: "/dashboard",
      headers: { cookie: cookieHeader(s.jar) },
    });
    assert.equal(dash.statusCode, 302, "the old cookie no longer opens the dashboard");
    // A stale cookie (this jar kept it; a browser would have dropped it) reads as expired.
    assert.equal(dash.headers.location, "/login?expired");
  });

  for (const issuer of ["login", "sts"] as const) {
    it(`accepts Entra's unsigned LogoutResponse with the ${issuer} Issuer form`, async () => {
      h = await harness();
      await addUser(h, "alice", "alice@contoso.com");
      const s = await ssoSignIn(h, alice);
      const { id, jar } = await logoutToIdp(h, s);
      tick(h);
      const answer = buildEntraLogoutResponse({
        tenantId: TENANT,
        destination: SLO_URL,
        inResponseTo: id,
        now: h.clock.now,
        issuer,
      });
      const res = await getCallback(h, answer.query, jar);
      assert.equal(res.statusCode, 303, res.body.slice(0, 400));
      assert.equal(res.headers.location, "/login?logged_out");
      assert.ok(res.cookies.some((c) => c.name === "gh_saml_logout" && c.value === ""));
      const event = await lastAudit(h, "logout.slo");
      assert.equal(event.outcome, "success");
      assert.equal(event.reason, "idp_confirmed");
      assert.equal(
        event.detail.issuer,
        issuer === "login"
          ? `https://login.microsoftonline.com/${TENANT}/`
          : `https://sts.windows.net/${TENANT}/`,
      );
      assert.equal(event.detail.signed, false);

      const page = await h.app.inject({ method: "GET", url: "/login?logged_out" });
      assert.ok(page.body.includes("You have been logged out."));
    });
  }

  it("audits a mismatched InResponseTo and still shows the person they are logged out", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const s = await ssoSignIn(h, alice);
    const { id, jar } = await logoutToIdp(h, s);
    const answer = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO_URL,
      inResponseTo: "_not-the-request-we-sent",
      now: h.clock.now,
    });
    const res = await getCallback(h, answer.query, jar);
    loggedOutPage(res, false);
    const event = await lastAudit(h, "logout.slo");
    assert.equal(event.outcome, "failure");
    assert.equal(event.reason, "logout_invalid");
    assert.equal(event.detail.field, "LogoutResponse InResponseTo");
    assert.equal(event.detail.expected, id);
    assert.equal(event.detail.received, "_not-the-request-we-sent");
    assert.ok(res.body.includes(event.reference), "the page shows the event's reference");
    assert.equal(await isLive(h, s.sessionId), false, "the local logout stands");
  });

  it("does not confirm a LogoutResponse this browser did not ask for (no logout cookie)", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const s = await ssoSignIn(h, alice);
    const { id } = await logoutToIdp(h, s);
    const answer = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO_URL,
      inResponseTo: id,
      now: h.clock.now,
    });
    loggedOutPage(await getCallback(h, answer.query, {}), false);
    assert.equal((await lastAudit(h, "logout.slo")).reason, "logout_request_unknown");
  });

  it("consumes the pending request once: the same LogoutResponse again is not confirmed", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const s = await ssoSignIn(h, alice);
    const { id, jar } = await logoutToIdp(h, s);
    const answer = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO_URL,
      inResponseTo: id,
      now: h.clock.now,
    });
    assert.equal((await getCallback(h, answer.query, jar)).statusCode, 303);
    tick(h);
    loggedOutPage(await getCallback(h, answer.query, jar), false);
    assert.equal((await lastAudit(h, "logout.slo")).reason, "logout_request_unknown");
  });

  it("refuses an Issuer of another tenant, and the IdP's failure status, as unconfirmed", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const first = await logoutToIdp(h, await ssoSignIn(h, alice));
    const foreign = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO_URL,
      inResponseTo: first.id,
      now: h.clock.now,
      issuer: { value: `https://login.microsoftonline.com/${OTHER_TENANT}/` },
    });
    loggedOutPage(await getCallback(h, foreign.query, first.jar), false);
    let event = await lastAudit(h, "logout.slo");
    assert.equal(event.reason, "logout_invalid");
    assert.equal(event.detail.field, "LogoutResponse Issuer");

    tick(h);
    const second = await logoutToIdp(h, await ssoSignIn(h, alice));
    const failed = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO_URL,
      inResponseTo: second.id,
      now: h.clock.now,
      statusCode: "urn:oasis:names:tc:SAML:2.0:status:Responder",
    });
    loggedOutPage(await getCallback(h, failed.query, second.jar), false);
    event = await lastAudit(h, "logout.slo");
    assert.equal(event.reason, "status_not_success");
    assert.deepEqual(event.detail.statusCodes, ["urn:oasis:names:tc:SAML:2.0:status:Responder"]);
  });

  it("verifies a signature when one is present: the IdP's accepted, another key's refused", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const good = await logoutToIdp(h, await ssoSignIn(h, alice));
    const signed = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO_URL,
      inResponseTo: good.id,
      now: h.clock.now,
      signingKey: IDP_KEY,
    });
    assert.equal((await getCallback(h, signed.query, good.jar)).statusCode, 303);
    assert.equal((await lastAudit(h, "logout.slo")).detail.signed, true);

    tick(h);
    const bad = await logoutToIdp(h, await ssoSignIn(h, alice));
    const forged = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO_URL,
      inResponseTo: bad.id,
      now: h.clock.now,
      signingKey: OTHER_KEY,
    });
    loggedOutPage(await getCallback(h, forged.query, bad.jar), false);
    assert.equal((await lastAudit(h, "logout.slo")).reason, "signature_invalid");
  });

  it("accepts the LogoutResponse on the HTTP-POST binding", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const { id, jar } = await logoutToIdp(h, await ssoSignIn(h, alice));
    const answer = buildEntraLogoutResponse({
      tenantId: TENANT,
      destination: SLO_URL,
      inResponseTo: id,
      now: h.clock.now,
      includeDestination: true,
    });
    const res = await postCallback(
      h,
      { SAMLResponse: Buffer.from(answer.xml).toString("base64") },
      jar,
    );
    assert.equal(res.statusCode, 303, res.body.slice(0, 400));
    assert.equal(res.headers.location, "/login?logged_out");
    const event = await lastAudit(h, "logout.slo");
    assert.equal(event.reason, "idp_confirmed");
    assert.equal(event.detail.binding, "post");
  });

  it("signs the LogoutRequest with the SP key when the connection signs requests", async () => {
    h = await harness({}, [], { spKey: { privateKey: SP_KEY, certificate: SP_CERT.base64 } });
    await h.store.connections.update(h.connection.id, { signRequests: true }, h.clock.now);
    await addUser(h, "alice", "alice@contoso.com");
    const { location } = await logoutToIdp(h, await ssoSignIn(h, alice));
    const verified = verifyRedirectQuery(location.search, [SP_CERT], {});
    assert.equal(verified.type, "SAMLRequest");
    assert.equal(verified.signature?.certificate.fingerprint256, SP_CERT.fingerprint256);
  });

  it("logs out locally only when the connection has no Logout URL, or the session is not SAML", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const s = await ssoSignIn(h, alice);
    await h.store.connections.update(h.connection.id, { sloUrl: null }, h.clock.now);
    const res = await postLogout(h, s.jar);
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, "/login?logged_out");
    assert.equal(await isLive(h, s.sessionId), false);
    const event = await lastAudit(h, "logout");
    assert.equal(event.reason, "local");
    assert.equal(event.detail.method, "saml");

    // A password session: nothing to tell an IdP.
    const user = await h.store.users.byUsername(h.account.id, "alice");
    const started = await startSession(
      h.store,
      user!,
      "password",
      false,
      null,
      { idleMinutes: 30, absoluteHours: 8 },
      h.clock.now,
    );
    tick(h);
    const local = await postLogout(h, { gh_session: started.token, gh_csrf: CSRF });
    assert.equal(local.statusCode, 303);
    assert.equal(local.headers.location, "/login?logged_out");
    assert.equal(await isLive(h, started.session.id), false);
    const passwordEvent = await lastAudit(h, "logout");
    assert.equal(passwordEvent.reason, "local");
    assert.equal(passwordEvent.detail.method, "password");

    // No session at all (already logged out): straight to the logged-out page.
    const again = await postLogout(h, s.jar);
    assert.equal(again.statusCode, 303);
    assert.equal(again.headers.location, "/login?logged_out");
  });

  it("refuses a logout without the CSRF token and keeps the session", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const s = await ssoSignIn(h, alice);
    const res = await postLogout(h, s.jar, "forged-token-0123456789abcdefghijklmnopqrst");
    assert.equal(res.statusCode, 403);
    assert.ok(res.body.includes("You are still signed in"));
    assert.equal(await isLive(h, s.sessionId), true);
    const event = await lastAudit(h, "logout");
    assert.equal(event.outcome, "failure");
    assert.equal(event.reason, "csrf_invalid");
  });
});

describe("IdP-initiated Single Logout (the IdP's LogoutRequest)", () => {
  let h: Harness;
  afterEach(() => h?.close());

  /** Alice signed in twice (two SessionIndexes), Bob once. */
  async function threeSessions() {
    h = await harness();
    const aliceUser = await addUser(h, "alice", "alice@contoso.com");
    await addUser(h, "bob", "bob@contoso.com");
    const a1 = await ssoSignIn(h, alice);
    const a2 = await ssoSignIn(h, alice);
    const b1 = await ssoSignIn(h, bob);
    tick(h);
    return { aliceUser, a1, a2, b1 };
  }

  function entraRequest(sessionIndex: string, extra: Record<string, unknown> = {}) {
    return buildEntraLogoutRequest({
      tenantId: TENANT,
      destination: SLO_URL,
      // Entra names the user by UPN in its own format, not necessarily the login's NameID.
      nameId: "alice.smith@contoso.onmicrosoft.com",
      sessionIndex,
      now: h.clock.now,
      signingKey: IDP_KEY,
      ...extra,
    });
  }

  it("verifies Entra's lowercase-encoded signature and ends exactly the session named by SessionIndex", async () => {
    const { aliceUser, a1, a2, b1 } = await threeSessions();
    const request = entraRequest(a1.sessionIndex, { relayState: "rs/1" });
    assert.match(request.query, /%2f/, "Entra's lowercase escapes");
    assert.doesNotMatch(request.query, /%2F/);
    const res = await getCallback(h, request.query);

    const answer = answerOf(res);
    assert.equal(res.statusCode, 302);
    assert.equal(answer.inResponseTo, request.id);
    assert.equal(answer.status, SUCCESS);
    assert.equal(answer.issuer, SP_ENTITY_ID);
    assert.equal(answer.destination, IDP_SSO_URL);
    assert.equal(answer.location.searchParams.get("RelayState"), "rs/1", "RelayState returned");

    assert.equal(await isLive(h, a1.sessionId), false, "the named session ended");
    assert.equal(await isLive(h, a2.sessionId), true, "alice's other session stays");
    assert.equal(await isLive(h, b1.sessionId), true, "bob's session stays");
    const event = await lastAudit(h, "logout.idp");
    assert.equal(event.outcome, "success");
    assert.equal(event.reason, "idp_logout");
    assert.equal(event.actor, "idp");
    assert.equal(event.detail.endedSessions, 1);
    assert.equal(event.userId, aliceUser.id);
    assert.equal(event.connectionId, h.connection.id);
    assert.deepEqual(event.detail.sessionIndexes, [a1.sessionIndex]);
    assert.equal(await auditCount(h, "logout.idp"), 1, "one event");
  });

  it("accepts the login.microsoftonline.com Issuer form too", async () => {
    const { a1, b1 } = await threeSessions();
    const res = await getCallback(h, entraRequest(a1.sessionIndex, { issuer: "login" }).query);
    assert.equal(answerOf(res).status, SUCCESS);
    assert.equal(await isLive(h, a1.sessionId), false);
    assert.equal(await isLive(h, b1.sessionId), true);
  });

  it("is idempotent: the same request again ends nothing and still answers Success", async () => {
    const { a1, a2, b1 } = await threeSessions();
    const request = entraRequest(a1.sessionIndex);
    assert.equal(answerOf(await getCallback(h, request.query)).status, SUCCESS);
    tick(h);
    const again = answerOf(await getCallback(h, request.query));
    assert.equal(again.status, SUCCESS);
    assert.equal(again.inResponseTo, request.id);
    const event = await lastAudit(h, "logout.idp");
    assert.equal(event.outcome, "success");
    assert.equal(event.reason, "repeated_request");
    assert.equal(event.detail.endedSessions, 0);
    assert.equal(await isLive(h, a2.sessionId), true);
    assert.equal(await isLive(h, b1.sessionId), true);
  });

  it("clears this browser's session cookie when its own session is the one ended", async () => {
    const { a1 } = await threeSessions();
    const res = await getCallback(h, entraRequest(a1.sessionIndex).query, a1.jar);
    answerOf(res);
    assert.ok(res.cookies.some((c) => c.name === "gh_session" && c.value === ""));
  });

  it("ends that NameID's sessions of the connection when the request has no SessionIndex", async () => {
    const { a1, a2, b1 } = await threeSessions();
    const id = "_bbbbbbbb-0000-4000-8000-000000000001";
    const xml =
      `<samlp:LogoutRequest ID="${id}" Version="2.0" IssueInstant="${h.clock.now.toISOString()}" Destination="${SLO_URL}" xmlns:samlp="${PROTOCOL_NS}">` +
      `<Issuer xmlns="${ASSERTION_NS}">https://sts.windows.net/${TENANT}/</Issuer>` +
      `<NameID xmlns="${ASSERTION_NS}">${alice.upn}</NameID></samlp:LogoutRequest>`;
    const res = await getCallback(h, entraRedirectQuery("SAMLRequest", xml, undefined, IDP_KEY));
    assert.equal(answerOf(res).inResponseTo, id);
    assert.equal(await isLive(h, a1.sessionId), false);
    assert.equal(await isLive(h, a2.sessionId), false);
    assert.equal(await isLive(h, b1.sessionId), true);
    assert.equal((await lastAudit(h, "logout.idp")).detail.endedSessions, 2);
  });

  it("a replayed NameID-only request does not end a session started after it", async () => {
    const { a1 } = await threeSessions();
    const id = "_bbbbbbbb-0000-4000-8000-000000000002";
    const xml =
      `<samlp:LogoutRequest ID="${id}" Version="2.0" IssueInstant="${h.clock.now.toISOString()}" Destination="${SLO_URL}" xmlns:samlp="${PROTOCOL_NS}">` +
      `<Issuer xmlns="${ASSERTION_NS}">https://sts.windows.net/${TENANT}/</Issuer>` +
      `<NameID xmlns="${ASSERTION_NS}">${alice.upn}</NameID></samlp:LogoutRequest>`;
    const query = entraRedirectQuery("SAMLRequest", xml, undefined, IDP_KEY);
    assert.equal(answerOf(await getCallback(h, query)).status, SUCCESS);
    assert.equal(await isLive(h, a1.sessionId), false);
    tick(h, 60_000);
    const later = await ssoSignIn(h, alice);
    tick(h);
    const again = answerOf(await getCallback(h, query));
    assert.equal(again.status, SUCCESS);
    assert.equal(await isLive(h, later.sessionId), true, "the new login survives the replay");
    const event = await lastAudit(h, "logout.idp");
    assert.equal(event.reason, "repeated_request");
    assert.equal(event.detail.endedSessions, 0);
  });

  async function assertNothingEnded(s: { a1: SignedIn; a2: SignedIn; b1: SignedIn }) {
    for (const x of [s.a1, s.a2, s.b1]) assert.equal(await isLive(h, x.sessionId), true);
  }

  it("refuses an unsigned request and ends nothing", async () => {
    const s = await threeSessions();
    const res = await getCallback(h, entraRequest(s.a1.sessionIndex, { unsigned: true }).query);
    refusedPage(res);
    const event = await lastAudit(h, "logout.idp");
    assert.equal(event.outcome, "failure");
    assert.equal(event.reason, "logout_invalid");
    assert.equal(event.detail.field, "Signature");
    assert.ok(res.body.includes(event.reference));
    await assertNothingEnded(s);
  });

  it("refuses a request signed by another key and ends nothing", async () => {
    const s = await threeSessions();
    const res = await getCallback(
      h,
      entraRequest(s.a1.sessionIndex, { signingKey: OTHER_KEY }).query,
    );
    refusedPage(res);
    assert.equal((await lastAudit(h, "logout.idp")).reason, "signature_invalid");
    await assertNothingEnded(s);
  });

  it("refuses an altered query: another message under the signature, or the octets re-encoded", async () => {
    const s = await threeSessions();
    const signed = entraRequest(s.a1.sessionIndex);
    const other = entraRequest(s.b1.sessionIndex, { unsigned: true });
    const swapped = signed.query.replace(/^SAMLRequest=[^&]*/, other.query);
    refusedPage(await getCallback(h, swapped));
    assert.equal((await lastAudit(h, "logout.idp")).reason, "signature_invalid");

    // The same parameters with uppercase escapes: the signed octets are no longer those received.
    const uppercased = signed.query.replace(/%[0-9a-f]{2}/g, (e) => e.toUpperCase());
    assert.notEqual(uppercased, signed.query);
    refusedPage(await getCallback(h, uppercased));
    assert.equal((await lastAudit(h, "logout.idp")).reason, "signature_invalid");
    await assertNothingEnded(s);
  });

  it("refuses a request from an unknown Issuer and ends nothing", async () => {
    const s = await threeSessions();
    const res = await getCallback(
      h,
      entraRequest(s.a1.sessionIndex, {
        issuer: { value: `https://sts.windows.net/${OTHER_TENANT}/` },
      }).query,
    );
    refusedPage(res);
    const event = await lastAudit(h, "logout.idp");
    assert.equal(event.reason, "connection_unknown");
    assert.equal(event.detail.issuer, `https://sts.windows.net/${OTHER_TENANT}/`);
    await assertNothingEnded(s);
  });

  it("refuses a callback with neither SAMLRequest nor SAMLResponse", async () => {
    h = await harness();
    refusedPage(await getCallback(h, "foo=bar"));
    assert.equal((await lastAudit(h, "logout.idp")).reason, "logout_invalid");
  });

  describe("HTTP-POST binding", () => {
    function postRequest(sessionIndex: string, key = IDP_KEY, sign = true) {
      const { id, xml } = entraRequest(sessionIndex, { unsigned: true });
      const body = sign ? signEnveloped(xml, { privateKey: key }) : xml;
      return { id, form: { SAMLRequest: Buffer.from(body).toString("base64"), RelayState: "p1" } };
    }

    it("accepts an enveloped-signed LogoutRequest and answers on the Redirect binding", async () => {
      const s = await threeSessions();
      const { id, form } = postRequest(s.b1.sessionIndex);
      const res = await postCallback(h, form);
      assert.equal(res.statusCode, 303);
      const answer = answerOf(res);
      assert.equal(answer.inResponseTo, id);
      assert.equal(answer.status, SUCCESS);
      assert.equal(answer.location.searchParams.get("RelayState"), "p1");
      assert.equal(await isLive(h, s.b1.sessionId), false);
      assert.equal(await isLive(h, s.a1.sessionId), true);
      const event = await lastAudit(h, "logout.idp");
      assert.equal(event.detail.binding, "post");
      assert.equal(event.detail.endedSessions, 1);
    });

    it("refuses an unsigned POST and one signed by another key, ending nothing", async () => {
      const s = await threeSessions();
      refusedPage(await postCallback(h, postRequest(s.a1.sessionIndex, IDP_KEY, false).form));
      let event = await lastAudit(h, "logout.idp");
      assert.equal(event.reason, "logout_invalid");
      assert.equal(event.detail.field, "LogoutRequest Signature");
      tick(h);
      refusedPage(await postCallback(h, postRequest(s.a1.sessionIndex, OTHER_KEY).form));
      event = await lastAudit(h, "logout.idp");
      assert.equal(event.reason, "signature_invalid");
      await assertNothingEnded(s);
    });
  });
});

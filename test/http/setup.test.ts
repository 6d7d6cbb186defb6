// The setup link over HTTP: opening it (and every way it no longer works), the metadata step with
// the doctor refusing what cannot become a connection, Test SSO through the real ACS (validated
// like a login, shown instead of signing in), the email claim, the gate on turning SSO on, the
// draft that replaces a live connection only after its own test, and the admin API for links.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { createSetupLink } from "../../src/domain/setup-links.ts";
import { ACS_PATH } from "../../src/http/routes/saml.ts";
import { buildEntraFederationMetadata } from "../../src/mock-idp/metadata.ts";
import type { MockUser } from "../../src/mock-idp/response.ts";
import { decodeRedirectMessage } from "../../src/saml/redirect.ts";
import { parseXml } from "../../src/saml/xml/parse.ts";
import {
  ADMIN_TOKEN,
  addUser,
  adminApi,
  cookieHeader,
  cookiesOf,
  csrfOf,
  entraResponse,
  type Harness,
  harness,
  IDP_CERT,
  IDP_KEY,
  postAcs,
  postForm,
  SP_ENTITY_ID,
  startLogin,
  TENANT,
} from "./support.ts";

const OFF = { admin: false, supervisor: false, agent: false, user: false };
const OTHER_TENANT = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";
const HOUR = 3_600_000;

/** Entra's Federation Metadata for TENANT (or another tenant), signed with the test IdP key. */
function metadata(tenantId = TENANT): string {
  return buildEntraFederationMetadata({
    tenantId,
    certificates: [IDP_CERT.base64],
    signingKey: IDP_KEY,
    signingCertificate: IDP_CERT.base64,
    now: new Date("2026-11-22T09:00:00Z"),
  });
}

/** Grace: her UPN is not her mail (Aircall's case). */
const grace: MockUser = {
  upn: "ggordon@contoso.onmicrosoft.com",
  mail: "grace@contoso.com",
  objectId: "6f1c1d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f",
};

let h: Harness;
afterEach(async () => {
  await h?.close();
});

async function link(hours = 72): Promise<string> {
  const { token } = await createSetupLink(
    h.store,
    h.account.id,
    { expiresInHours: hours },
    { actor: "admin-api" },
    h.clock.now,
  );
  return `/setup/${token}`;
}

async function open(base: string, jar: Record<string, string> = {}) {
  const res = await h.app.inject({
    method: "GET",
    url: base,
    headers: { cookie: cookieHeader(jar) },
  });
  cookiesOf(res, jar);
  return { res, jar, csrf: res.statusCode === 200 ? csrfOf(res.body) : "" };
}

/** Starts a Test SSO from the link; returns the AuthnRequest ID and the browser's cookies. */
async function startTest(base: string, jar: Record<string, string>) {
  const res = await h.app.inject({
    method: "GET",
    url: `${base}/test`,
    headers: { cookie: cookieHeader(jar) },
  });
  assert.equal(res.statusCode, 302, res.body);
  cookiesOf(res, jar);
  const location = new URL(res.headers.location as string);
  const request = parseXml(
    decodeRedirectMessage(location.searchParams.get("SAMLRequest")!, 100_000),
  );
  return { id: request.attributes.find((a) => a.local === "ID")!.value, location };
}

async function uploadMetadata(base: string, xml: string) {
  const page = await open(base);
  return postForm(h, `${base}/metadata`, page.jar, { _csrf: page.csrf, metadataXml: xml });
}

async function testAs(base: string, user: MockUser, extra: Record<string, unknown> = {}) {
  const { jar } = await open(base);
  const { id } = await startTest(base, jar);
  return postAcs(h, entraResponse(user, { now: h.clock.now, inResponseTo: id, ...extra }), jar);
}

describe("setup link: opening it", () => {
  it("opens the account's setup page: no-store, no referrer, a CSP with a nonce, our values", async () => {
    h = await harness({ samlLogin: OFF });
    const base = await link();
    const { res } = await open(base);
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers["cache-control"], "no-store");
    assert.equal(res.headers["referrer-policy"], "no-referrer");
    assert.match(String(res.headers["content-security-policy"]), /script-src 'nonce-[^']+'/);
    assert.match(res.body, /Set up single sign-on for Contoso Ltd/);
    // The connection's values, exactly as Entra's Basic SAML Configuration wants them.
    assert.match(res.body, new RegExp(`value="${SP_ENTITY_ID}"`));
    assert.match(res.body, /value="http:\/\/localhost:3000\/api\/auth\/saml\/callback"/);
    assert.match(res.body, /Basic SAML Configuration/);
    // The token is the credential: the page sets no session cookie, only the CSRF one.
    assert.deepEqual(
      res.cookies.map((c) => c.name).filter((n) => n !== "gh_csrf"),
      [],
      "no cookie but the CSRF one",
    );
    const other = await h.app.inject({ method: "GET", url: `${base}?idp=other` });
    assert.match(other.body, /Any other SAML IdP/);
    assert.match(other.body, /SP entity ID \(Audience\)/);
  });

  it("refuses a revoked, an expired and an unknown link with a readable page, audited", async () => {
    h = await harness({ samlLogin: OFF });
    const revoked = await link();
    const id = (await h.store.audit.query({ type: "admin.setup_link.create", limit: 1 }))[0]!.detail
      .linkId as string;
    assert.equal(
      (await adminApi(h, "DELETE", `/accounts/${h.account.id}/setup-links/${id}`)).status,
      204,
    );
    const r1 = await h.app.inject({ method: "GET", url: revoked });
    assert.equal(r1.statusCode, 410);
    assert.match(r1.body, /This setup link no longer works/);
    assert.match(r1.body, /revoked/);

    const expiring = await link(1);
    h.clock.now = new Date(h.clock.now.getTime() + HOUR + 1000);
    const r2 = await h.app.inject({ method: "GET", url: expiring });
    assert.equal(r2.statusCode, 410);
    assert.match(r2.body, /This setup link has expired/);

    for (const url of ["/setup/not-a-token", `/setup/${"A".repeat(43)}`]) {
      const r = await h.app.inject({ method: "GET", url });
      assert.equal(r.statusCode, 404, url);
      assert.match(r.body, /This setup link is not valid/);
      assert.doesNotMatch(r.body, /at \w+ \(|Error:/, "no stack trace");
    }
    // Every route behind a dead link answers the same, never a form or a redirect to the IdP.
    for (const path of ["/test", "/sp-metadata"]) {
      const r = await h.app.inject({ method: "GET", url: `${revoked}${path}` });
      assert.equal(r.statusCode, 410, path);
    }
    const post = await h.app.inject({ method: "POST", url: `${revoked}/enable`, payload: {} });
    assert.equal(post.statusCode, 410);
    const failures = await h.store.audit.query({ type: "setup_link.open", limit: 20 });
    assert.ok(failures.filter((e) => e.outcome === "failure").length >= 5);
  });

  it("serves our SP metadata before any connection exists", async () => {
    h = await harness({ samlLogin: OFF });
    assert.equal((await adminApi(h, "POST", "/accounts", { name: "fabrikam" })).status, 201);
    const { token } = await createSetupLink(h.store, "fabrikam", {}, { actor: "t" }, h.clock.now);
    const page = await h.app.inject({ method: "GET", url: `/setup/${token}` });
    assert.match(page.body, /value="http:\/\/localhost:3000\/saml\/fabrikam"/);
    assert.match(page.body, /Available once the metadata is saved/);
    const res = await h.app.inject({ method: "GET", url: `/setup/${token}/sp-metadata` });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /entityID="http:\/\/localhost:3000\/saml\/fabrikam"/);
    assert.match(String(res.headers["content-type"]), /samlmetadata\+xml/);
    assert.match(res.body, /SPSSODescriptor/);
    assert.match(res.body, /AssertionConsumerService/);
  });
});

describe("setup link: the metadata step", () => {
  it("refuses a form without this browser's CSRF token, changing nothing", async () => {
    h = await harness({ samlLogin: OFF });
    const base = await link();
    const page = await open(base);
    const res = await postForm(h, `${base}/metadata`, page.jar, {
      _csrf: `${page.csrf.slice(0, -1)}${page.csrf.endsWith("A") ? "B" : "A"}`,
      metadataXml: metadata(OTHER_TENANT),
    });
    assert.equal(res.statusCode, 403);
    assert.match(res.body, /This form has expired/);
    const c = await h.store.connections.get(h.connection.id);
    assert.equal(c!.idpEntityId, `https://sts.windows.net/${TENANT}/`);
  });

  it("refuses what cannot become a connection with the doctor's findings, keeping the connection", async () => {
    h = await harness({ samlLogin: OFF });
    const base = await link();
    const own = (await h.app.inject({ method: "GET", url: `${base}/sp-metadata` })).body;
    const cases: [string, RegExp][] = [
      [own, /service-provider metadata/],
      ["<html><body>Sign in to your account</body></html>", /could not be read/],
      ["", /Choose the Federation Metadata XML file/],
    ];
    for (const [xml, message] of cases) {
      const res = await uploadMetadata(base, xml);
      assert.equal(res.statusCode, 400, xml.slice(0, 40));
      assert.match(res.body, message);
      assert.match(res.body, /Fix:|Choose/);
    }
    const c = await h.store.connections.get(h.connection.id);
    assert.deepEqual(c, h.connection, "the connection is untouched");
  });

  it("saves good metadata over the connection (SSO not on yet): our values kept, test status cleared, audited as the link", async () => {
    h = await harness({ samlLogin: OFF });
    await h.store.connections.update(h.connection.id, { testedAt: h.clock.now }, h.clock.now);
    const base = await link();
    const res = await uploadMetadata(base, metadata(OTHER_TENANT));
    assert.equal(res.statusCode, 303);
    assert.match(String(res.headers.location), /done=metadata#step-6$/);
    const all = await h.store.connections.list(h.account.id);
    assert.equal(all.length, 1, "updated in place");
    assert.equal(all[0]!.idpEntityId, `https://sts.windows.net/${OTHER_TENANT}/`);
    assert.equal(all[0]!.spEntityId, SP_ENTITY_ID);
    assert.equal(all[0]!.testedAt, null);
    const [event] = await h.store.audit.query({ type: "admin.connection.update", limit: 1 });
    assert.match(event!.actor, /^setup-link:[0-9a-f]{12}$/);
    const page = await open(base);
    assert.match(page.res.body, /Your IdP&#39;s metadata is saved|Connected to/);
  });
});

describe("setup link: Test SSO through the ACS", () => {
  it("a good test shows every claim and the user it matches, signs nobody in, marks the connection tested", async () => {
    h = await harness({ samlLogin: OFF });
    const aliceUser = await addUser(h, "alice", "alice@contoso.com");
    const base = await link();
    const alice: MockUser = {
      upn: "alice@contoso.com",
      mail: "alice@contoso.com",
      objectId: "1a2b3c4d-0000-4000-8000-000000000001",
      groups: ["g-1"],
    };
    const res = await testAs(base, alice);
    assert.equal(res.statusCode, 200, res.body);
    assert.match(res.body, /Test sign-in succeeded/);
    assert.match(res.body, /Sign in as alice \(user\)/);
    assert.match(res.body, /Login with SAML is not on yet/);
    for (const claim of ["emailaddress", "objectidentifier", "tenantid", "groups", "NameID"])
      assert.match(res.body, new RegExp(claim));
    assert.equal(
      res.cookies.find((c) => c.name === "gh_session"),
      undefined,
      "no session cookie",
    );
    assert.deepEqual(await h.store.bindings.listForUser(aliceUser.id), [], "no identity binding");
    assert.deepEqual(await h.store.users.get(aliceUser.id), aliceUser, "the user is untouched");
    const c = await h.store.connections.get(h.connection.id);
    assert.ok(c!.testedAt !== null);
    const [event] = await h.store.audit.query({ type: "sso.test", limit: 1 });
    assert.equal(event!.outcome, "success");
    assert.match(event!.actor, /^setup-link:/);
    assert.equal((await h.store.audit.query({ type: "login.sso", limit: 5 })).length, 0);
  });

  it("UPN differs from mail: refused, the name claim suggested; choosing it in step 6 makes the next test pass", async () => {
    h = await harness({ samlLogin: OFF });
    await addUser(h, "grace", grace.upn);
    const base = await link();
    const res = await testAs(base, grace);
    assert.equal(res.statusCode, 422);
    assert.match(res.body, /this sign-in would be refused/);
    assert.match(res.body, /name claim \(UPN\)/);
    assert.match(res.body, /Suggestion:/);
    assert.match(res.body, /user\.userprincipalname/);
    assert.match(res.body, /Reference: /);
    assert.equal((await h.store.connections.get(h.connection.id))!.testedAt, null);
    const [failure] = await h.store.audit.query({ type: "sso.test", limit: 1 });
    assert.equal(failure!.outcome, "failure");
    assert.equal(failure!.reason, "no_matching_user");

    // The setup page's doctor now explains the failure, and step 7 stays closed.
    let page = await open(base);
    assert.match(page.res.body, /The latest failed sign-in/);
    const closed = await postForm(h, `${base}/enable`, page.jar, {
      _csrf: page.csrf,
      "samlLogin.user": "on",
    });
    assert.equal(closed.statusCode, 409);
    assert.match(closed.body, /no test sign-in has succeeded/);

    page = await open(base);
    const bad = await postForm(h, `${base}/email-claim`, page.jar, {
      _csrf: page.csrf,
      emailSource: "shoe-size",
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /emailSource is/);
    page = await open(base);
    const chosen = await postForm(h, `${base}/email-claim`, page.jar, {
      _csrf: page.csrf,
      emailSource: "name",
    });
    assert.equal(chosen.statusCode, 303);
    assert.equal((await h.store.accounts.get(h.account.id))!.settings.emailSource, "name");

    const again = await testAs(base, grace);
    assert.equal(again.statusCode, 200);
    assert.match(again.body, /Sign in as grace/);
  });

  it("a response the core refuses: the typed reason and the fix, and the doctor names the Entra field", async () => {
    h = await harness({ samlLogin: OFF });
    await addUser(h, "alice", "alice@contoso.com");
    const base = await link();
    const res = await testAs(
      base,
      { upn: "alice@contoso.com", mail: "alice@contoso.com", objectId: "x" },
      { audience: "https://wrong.example/sp" },
    );
    assert.equal(res.statusCode, 400);
    assert.match(res.body, /Test sign-in failed/);
    assert.match(res.body, /audience_invalid/);
    assert.match(res.body, /How to fix it:/);
    assert.match(res.body, /https:\/\/wrong\.example\/sp/);
    const page = await open(base);
    assert.match(
      page.res.body,
      new RegExp(`Basic SAML Configuration, set Identifier \\(Entity ID\\) to ${SP_ENTITY_ID}`),
    );
  });

  it("the test mark is single-use: replaying the browser's request cookie is a normal refusal, not a second test", async () => {
    h = await harness({ samlLogin: OFF });
    await addUser(h, "alice", "alice@contoso.com");
    const base = await link();
    const { jar } = await open(base);
    const { id } = await startTest(base, jar);
    const user = { upn: "alice@contoso.com", mail: "alice@contoso.com", objectId: "x" };
    const first = await postAcs(
      h,
      entraResponse(user, { now: h.clock.now, inResponseTo: id }),
      jar,
    );
    assert.equal(first.statusCode, 200);
    const second = await postAcs(
      h,
      entraResponse(user, { now: h.clock.now, inResponseTo: id }),
      jar,
    );
    assert.notEqual(second.statusCode, 200);
    assert.doesNotMatch(second.body, /Test sign-in succeeded/);
  });

  it("a real login through the same Reply URL is not taken for a test", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const { id, jar } = await startLogin(h);
    const res = await postAcs(
      h,
      entraResponse(
        { upn: "alice@contoso.com", mail: "alice@contoso.com", objectId: "x" },
        { now: h.clock.now, inResponseTo: id },
      ),
      jar,
    );
    assert.equal(res.statusCode, 303);
    assert.ok(res.cookies.some((c) => c.name === "gh_session" && c.value !== ""));
    assert.equal((await h.store.audit.query({ type: "sso.test", limit: 1 })).length, 0);
  });
});

describe("setup link: turning SSO on", () => {
  it("after a good test, step 7 turns Login with SAML on for the chosen roles", async () => {
    h = await harness({ samlLogin: OFF });
    await addUser(h, "alice", "alice@contoso.com");
    const base = await link();
    await testAs(base, { upn: "alice@contoso.com", mail: "alice@contoso.com", objectId: "x" });
    let page = await open(base);
    const none = await postForm(h, `${base}/enable`, page.jar, { _csrf: page.csrf });
    assert.equal(none.statusCode, 400);
    assert.match(none.body, /Choose at least one role/);
    page = await open(base);
    const res = await postForm(h, `${base}/enable`, page.jar, {
      _csrf: page.csrf,
      "samlLogin.user": "on",
      "samlLogin.agent": "on",
    });
    assert.equal(res.statusCode, 303);
    const account = await h.store.accounts.get(h.account.id);
    assert.deepEqual(account!.settings.samlLogin, { ...OFF, user: true, agent: true });
    const [event] = await h.store.audit.query({ type: "admin.account.update", limit: 1 });
    assert.match(event!.actor, /^setup-link:/);
  });

  it("while SSO is live, new metadata becomes a draft: sign-ins keep the live IdP until the draft is tested and switched to", async () => {
    h = await harness(); // SSO on for every role through h.connection
    await addUser(h, "alice", "alice@contoso.com");
    const base = await link();
    const res = await uploadMetadata(base, metadata(OTHER_TENANT));
    assert.equal(res.statusCode, 303);
    assert.match(String(res.headers.location), /done=draft/);
    const all = await h.store.connections.list(h.account.id);
    const live = all.find((c) => c.id === h.connection.id);
    const draft = all.find((c) => c.id !== h.connection.id);
    assert.equal(live!.active, true);
    assert.deepEqual(live, await h.store.connections.get(h.connection.id));
    assert.equal(live!.idpEntityId, `https://sts.windows.net/${TENANT}/`);
    assert.equal(draft!.active, false);
    assert.equal(draft!.idpEntityId, `https://sts.windows.net/${OTHER_TENANT}/`);
    assert.equal(draft!.spEntityId, live!.spEntityId, "the IdP side changes, ours does not");

    // A real login still goes to the live IdP.
    const login = await startLogin(h);
    assert.match(login.location.toString(), new RegExp(TENANT));

    // A second upload changes the draft, not the live connection, and makes no third one.
    await uploadMetadata(base, metadata(OTHER_TENANT));
    assert.equal((await h.store.connections.list(h.account.id)).length, 2);

    let page = await open(base);
    assert.match(page.res.body, /A replacement is being prepared/);
    assert.doesNotMatch(page.res.body, /identifier_shared|also used by/);
    const early = await postForm(h, `${base}/enable`, page.jar, {
      _csrf: page.csrf,
      "samlLogin.user": "on",
    });
    assert.equal(early.statusCode, 409);
    assert.match(early.body, /The new connection has not passed a test sign-in/);
    assert.equal((await h.store.connections.get(draft!.id))!.active, false);

    // The draft's test goes to the draft's IdP (the other tenant), then it can take over.
    const { jar } = await open(base);
    const { id, location } = await startTest(base, jar);
    assert.match(location.toString(), new RegExp(OTHER_TENANT));
    const tested = await postAcs(
      h,
      entraResponse(
        { upn: "alice@contoso.com", mail: "alice@contoso.com", objectId: "x" },
        { now: h.clock.now, inResponseTo: id, tenantId: OTHER_TENANT },
      ),
      jar,
    );
    assert.equal(tested.statusCode, 200, tested.body);
    page = await open(base);
    const switched = await postForm(h, `${base}/enable`, page.jar, {
      _csrf: page.csrf,
      "samlLogin.admin": "on",
      "samlLogin.supervisor": "on",
      "samlLogin.agent": "on",
      "samlLogin.user": "on",
    });
    assert.equal(switched.statusCode, 303);
    assert.match(String(switched.headers.location), /done=switched/);
    assert.equal((await h.store.connections.get(draft!.id))!.active, true);
    assert.equal((await h.store.connections.get(live!.id))!.active, false);
    const after = await startLogin(h);
    assert.match(after.location.toString(), new RegExp(OTHER_TENANT));
  });
});

describe("setup links in the admin API", () => {
  it("create (URL once), list, revoke; bounds and foreign links refused", async () => {
    h = await harness({ samlLogin: OFF });
    const created = await adminApi(h, "POST", `/accounts/${h.account.id}/setup-links`, {
      expiresInHours: 24,
    });
    assert.equal(created.status, 201);
    const body = created.json as { url: string; link: { id: string; status: string } };
    assert.match(body.url, /^http:\/\/localhost:3000\/setup\/[A-Za-z0-9_-]{43}$/);
    assert.equal(body.link.status, "active");
    const opened = await h.app.inject({ method: "GET", url: new URL(body.url).pathname });
    assert.equal(opened.statusCode, 200);

    const listed = await adminApi(h, "GET", `/accounts/${h.account.id}/setup-links`);
    const links = (listed.json as { links: { id: string; status: string }[] }).links;
    assert.deepEqual(
      links.map((l) => [l.id, l.status]),
      [[body.link.id, "active"]],
    );
    assert.doesNotMatch(listed.res.body, new RegExp(new URL(body.url).pathname.slice(7)));

    for (const expiresInHours of [0, 169, 1.5, "a week"]) {
      const r = await adminApi(h, "POST", `/accounts/${h.account.id}/setup-links`, {
        expiresInHours,
      });
      assert.equal(r.status, 400, String(expiresInHours));
    }
    const other = await adminApi(h, "POST", "/accounts", { name: "fabrikam" });
    assert.equal(other.status, 201);
    assert.equal(
      (await adminApi(h, "DELETE", `/accounts/fabrikam/setup-links/${body.link.id}`)).status,
      404,
    );
    assert.equal(
      (await adminApi(h, "DELETE", `/accounts/${h.account.id}/setup-links/${body.link.id}`)).status,
      204,
    );
    const gone = await h.app.inject({ method: "GET", url: new URL(body.url).pathname });
    assert.equal(gone.statusCode, 410);
    const unauth = await adminApi(h, "GET", `/accounts/${h.account.id}/setup-links`, undefined, {
      authorization: `Bearer ${ADMIN_TOKEN}x`,
    });
    assert.equal(unauth.status, 401);
  });
});

// ACS_PATH is the one Reply URL both real logins and tests post to.
assert.equal(ACS_PATH, "/api/auth/saml/callback");

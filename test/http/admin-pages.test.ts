// The admin pages: sign-in with the admin token into a stored admin session, CSRF on every
// form, escaping of what admins and users typed, each page and form, and the audit event each
// change writes with actor "admin-page".
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { hashSecret } from "../../src/domain/secrets.ts";
import { buildEntraFederationMetadata } from "../../src/mock-idp/metadata.ts";
import { decodeRedirectMessage } from "../../src/saml/redirect.ts";
import { parseXml } from "../../src/saml/xml/parse.ts";
import {
  ADMIN_TOKEN,
  addUser,
  cookieHeader,
  cookiesOf,
  entraResponse,
  type Harness,
  harness,
  IDP_CERT,
  IDP_KEY,
  PUBLIC_URL,
  postAcs,
  TENANT,
} from "./support.ts";

interface Browser {
  jar: Record<string, string>;
  csrf: string;
}

function csrfOf(body: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(body);
  assert.ok(m, "the page has a CSRF field");
  return m[1]!;
}

async function get(h: Harness, b: Browser, url: string) {
  const res = await h.app.inject({ method: "GET", url, headers: { cookie: cookieHeader(b.jar) } });
  cookiesOf(res, b.jar);
  return res;
}

async function post(h: Harness, b: Browser, url: string, fields: Record<string, string>) {
  const res = await h.app.inject({
    method: "POST",
    url,
    headers: {
      cookie: cookieHeader(b.jar),
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams(fields).toString(),
  });
  cookiesOf(res, b.jar);
  return res;
}

async function signIn(h: Harness): Promise<Browser> {
  const b: Browser = { jar: {}, csrf: "" };
  const page = await get(h, b, "/admin/login");
  assert.equal(page.statusCode, 200);
  b.csrf = csrfOf(page.body);
  const res = await post(h, b, "/admin/login", { _csrf: b.csrf, token: ADMIN_TOKEN });
  assert.equal(res.statusCode, 303, res.body.slice(0, 300));
  assert.equal(res.headers.location, "/admin");
  assert.ok(b.jar.gh_admin, "admin session cookie set");
  return b;
}

async function lastOf(h: Harness, type: string) {
  const [event] = await h.store.audit.query({ type, limit: 1 });
  assert.ok(event, `a ${type} event was written`);
  return event;
}

function entraMetadata(tenantId = TENANT) {
  return buildEntraFederationMetadata({
    tenantId,
    certificates: [IDP_CERT.base64],
    signingKey: IDP_KEY,
    signingCertificate: IDP_CERT.base64,
    now: new Date("2026-11-22T09:00:00Z"),
  });
}

describe("admin pages: sign-in and session", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("sends anonymous visitors to /admin/login and refuses their form posts", async () => {
    h = await harness();
    const b: Browser = { jar: {}, csrf: "" };
    for (const url of ["/admin", "/admin/audit", `/admin/accounts/${h.account.id}`]) {
      const res = await get(h, b, url);
      assert.equal(res.statusCode, 303, url);
      assert.equal(res.headers.location, "/admin/login");
    }
    b.csrf = csrfOf((await get(h, b, "/admin/login")).body);
    const res = await post(h, b, "/admin/accounts", { _csrf: b.csrf, name: "evil" });
    assert.equal(res.statusCode, 401);
    assert.match(res.body, /Your admin session has ended/);
    assert.equal(await h.store.accounts.byName("evil"), undefined);
  });

  it("signs in with the admin token into an HttpOnly, 8-hour, stored admin session", async () => {
    h = await harness();
    const b: Browser = { jar: {}, csrf: "" };
    b.csrf = csrfOf((await get(h, b, "/admin/login")).body);
    const res = await post(h, b, "/admin/login", { _csrf: b.csrf, token: ADMIN_TOKEN });
    assert.equal(res.statusCode, 303);
    const cookie = res.cookies.find((c) => c.name === "gh_admin")!;
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.path, "/admin");
    assert.equal(cookie.sameSite, "Strict");
    assert.equal(cookie.maxAge, 8 * 3600);
    assert.notEqual(cookie.value, ADMIN_TOKEN, "the cookie is not the token");
    const stored = await h.store.tokens.peek(
      hashSecret(cookie.value),
      "admin-session",
      h.clock.now,
    );
    assert.ok(stored, "the session's hash is stored");
    assert.equal(stored.expiresAt.getTime() - h.clock.now.getTime(), 8 * 3600 * 1000);
    const event = await lastOf(h, "admin.login");
    assert.equal(event.outcome, "success");
    assert.equal(event.actor, "admin-page");
    const home = await get(h, b, "/admin");
    assert.equal(home.statusCode, 200);
    assert.match(home.body, /<h1>Accounts<\/h1>/);

    // Past 8 hours the session is gone.
    h.clock.now = new Date(h.clock.now.getTime() + 8 * 3600 * 1000 + 1000);
    assert.equal((await get(h, b, "/admin")).statusCode, 303);
  });

  it("refuses a wrong token, audits it, and stops checking after 10 tries", async () => {
    h = await harness();
    const b: Browser = { jar: {}, csrf: "" };
    b.csrf = csrfOf((await get(h, b, "/admin/login")).body);
    const wrong = await post(h, b, "/admin/login", { _csrf: b.csrf, token: `${ADMIN_TOKEN}x` });
    assert.equal(wrong.statusCode, 401);
    assert.match(wrong.body, /That is not the admin token\./);
    assert.equal(
      wrong.cookies.find((c) => c.name === "gh_admin"),
      undefined,
    );
    const event = await lastOf(h, "admin.login");
    assert.equal(event.outcome, "failure");
    assert.equal(event.reason, "token_invalid");
    for (let i = 0; i < 9; i++) await post(h, b, "/admin/login", { _csrf: b.csrf, token: "x" });
    const limited = await post(h, b, "/admin/login", { _csrf: b.csrf, token: ADMIN_TOKEN });
    assert.equal(limited.statusCode, 429);
    assert.match(limited.body, /Too many wrong tokens/);
    const reasons = (await h.store.audit.query({ type: "admin.login" })).map((e) => e.reason);
    assert.equal(reasons.filter((r) => r === "rate_limited").length, 1);
    assert.equal(reasons.filter((r) => r === "token_invalid").length, 10);
    assert.equal(b.jar.gh_admin, undefined, "the right token is not even compared");
  });

  it("signs out: the stored session is revoked", async () => {
    h = await harness();
    const b = await signIn(h);
    const secret = b.jar.gh_admin!;
    const res = await post(h, b, "/admin/logout", { _csrf: b.csrf });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, "/admin/login");
    assert.equal(
      await h.store.tokens.peek(hashSecret(secret), "admin-session", h.clock.now),
      undefined,
    );
    // Replaying the old cookie does not work either.
    const again = await get(h, { jar: { gh_admin: secret }, csrf: "" }, "/admin");
    assert.equal(again.statusCode, 303);
  });
});

describe("admin pages: CSRF", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("refuses every form post without this browser's CSRF token", async () => {
    h = await harness();
    const b = await signIn(h);
    const user = await addUser(h, "alice", "alice@contoso.com");
    const forms: [string, Record<string, string>][] = [
      ["/admin/accounts", { name: "fabrikam" }],
      [`/admin/accounts/${h.account.id}/settings`, { displayName: "Changed" }],
      [`/admin/accounts/${h.account.id}/connections`, { metadataXml: entraMetadata() }],
      [`/admin/accounts/${h.account.id}/users`, { username: "bob", email: "bob@contoso.com" }],
      [`/admin/accounts/${h.account.id}/users/import`, { csv: "username,email\nx,x@y.z" }],
      [`/admin/accounts/${h.account.id}/rollback`, { confirm: "contoso" }],
      [`/admin/connections/${h.connection.id}/deactivate`, {}],
      [`/admin/users/${user.id}/disable`, {}],
      ["/admin/logout", {}],
    ];
    const before = (await h.store.audit.query({})).length;
    // The real token with its last character changed (never to itself: 1 in 64 ends in "A").
    const altered = `${b.csrf.slice(0, -1)}${b.csrf.endsWith("A") ? "B" : "A"}`;
    for (const [url, fields] of forms) {
      for (const csrf of [undefined, "x".repeat(43), altered]) {
        const res = await post(h, b, url, csrf === undefined ? fields : { ...fields, _csrf: csrf });
        assert.equal(res.statusCode, 403, `${url} with ${csrf}`);
        assert.match(res.body, /This form has expired or did not come from this site/);
      }
    }
    // The token without the cookie (another site posting the victim's token) is refused too.
    const noCookie = await h.app.inject({
      method: "POST",
      url: "/admin/accounts",
      headers: {
        cookie: `gh_admin=${b.jar.gh_admin}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      payload: new URLSearchParams({ _csrf: b.csrf, name: "fabrikam" }).toString(),
    });
    assert.equal(noCookie.statusCode, 403);
    assert.equal((await h.store.audit.query({})).length, before, "nothing changed");
    assert.equal((await h.store.connections.get(h.connection.id))!.active, true);
    assert.equal(await h.store.accounts.byName("fabrikam"), undefined);
  });

  it("refuses the login form without its CSRF token", async () => {
    h = await harness();
    const b: Browser = { jar: {}, csrf: "" };
    await get(h, b, "/admin/login");
    const res = await post(h, b, "/admin/login", { token: ADMIN_TOKEN });
    assert.equal(res.statusCode, 403);
    assert.equal(b.jar.gh_admin, undefined);
  });
});

describe("admin pages: accounts, settings, connections, users", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("escapes what was typed: an account named with <script> renders as text", async () => {
    h = await harness();
    const b = await signIn(h);
    const res = await post(h, b, "/admin/accounts", {
      _csrf: b.csrf,
      name: "evil",
      displayName: '<script>alert("x")</script>',
    });
    assert.equal(res.statusCode, 303);
    const id = (await h.store.accounts.byName("evil"))!.id;
    assert.equal(res.headers.location, `/admin/accounts/${id}?done=created`);
    await addUser(h, "<img src=x onerror=alert(1)>", "img@contoso.com");
    for (const url of [
      "/admin",
      `/admin/accounts/${id}`,
      `/admin/accounts/${h.account.id}`,
      "/admin/audit",
    ]) {
      const page = await get(h, b, url);
      assert.equal(page.statusCode, 200, url);
      assert.doesNotMatch(page.body, /<script>alert/, url);
      assert.doesNotMatch(page.body, /<img src=x/, url);
    }
    const page = await get(h, b, res.headers.location as string);
    assert.match(page.body, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
    assert.match(page.body, /Account created\./);
    const event = await lastOf(h, "admin.account.create");
    assert.equal(event.actor, "admin-page");
  });

  it("shows a refused account creation with the field, keeping what was typed", async () => {
    h = await harness();
    const b = await signIn(h);
    const res = await post(h, b, "/admin/accounts", {
      _csrf: b.csrf,
      name: "contoso",
      displayName: "Again",
    });
    assert.equal(res.statusCode, 409);
    assert.match(
      res.body,
      /<strong>name<\/strong>: An account named &quot;contoso&quot; already exists\./,
    );
    assert.match(res.body, /value="Again"/);
    const bad = await post(h, b, "/admin/accounts", { _csrf: b.csrf, name: "has space" });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /<strong>name<\/strong>: Account names are/);
  });

  it("saves General Settings from the form (unchecked boxes are off)", async () => {
    h = await harness();
    const b = await signIn(h);
    const page = await get(h, b, `/admin/accounts/${h.account.id}`);
    assert.match(page.body, /Match emails ignoring case \(the default/);
    assert.match(page.body, /Emails are matched ignoring case/);
    for (const label of [
      "SSO enforced",
      "Multi-login",
      "Login with SAML",
      "Just-in-time users",
      "Allow IdP-initiated login",
    ])
      assert.ok(page.body.includes(label), label);
    const res = await post(h, b, `/admin/accounts/${h.account.id}/settings`, {
      _csrf: b.csrf,
      displayName: "Contoso Group",
      "samlLogin.admin": "on",
      "samlLogin.agent": "on",
      multiLogin: "on",
      multiLoginClaim: "ssoid",
      emailSource: "attribute",
      emailAttribute: "http://schemas.example.com/claims/mail",
      jitRole: "agent",
      allowIdpInitiated: "on",
    });
    assert.equal(res.statusCode, 303, res.body.slice(0, 500));
    assert.equal(res.headers.location, `/admin/accounts/${h.account.id}?done=settings`);
    const a = (await h.store.accounts.get(h.account.id))!;
    assert.equal(a.displayName, "Contoso Group");
    assert.deepEqual(a.settings, {
      samlLogin: { admin: true, supervisor: false, agent: true, user: false },
      ssoEnforced: false,
      multiLogin: true,
      multiLoginClaim: "ssoid",
      emailSource: "attribute:http://schemas.example.com/claims/mail",
      emailCaseInsensitive: false,
      jitRole: "agent",
      allowIdpInitiated: true,
    });
    const event = await lastOf(h, "admin.account.update");
    assert.equal(event.actor, "admin-page");
    const after = await get(h, b, `/admin/accounts/${h.account.id}?done=settings`);
    assert.match(after.body, /General Settings saved\./);
    assert.match(after.body, /<input type="checkbox" name="samlLogin.agent" checked>/);

    // Enforcing asks to confirm the break-glass admins; without one it is refused anyway.
    assert.match(after.body, /I confirm a break-glass admin exists \(none yet/);
    const enforce = { _csrf: b.csrf, ssoEnforced: "on", emailSource: "emailaddress" };
    const unconfirmed = await post(h, b, `/admin/accounts/${h.account.id}/settings`, enforce);
    assert.equal(unconfirmed.statusCode, 400);
    assert.match(unconfirmed.body, /<strong>confirmBreakGlass<\/strong>: Enforcing SSO turns/);
    const refused = await post(h, b, `/admin/accounts/${h.account.id}/settings`, {
      ...enforce,
      confirmBreakGlass: "on",
    });
    assert.equal(refused.statusCode, 400);
    assert.match(
      refused.body,
      /<strong>settings.ssoEnforced<\/strong>: Enforcing SSO turns password login off/,
    );
    assert.equal((await h.store.accounts.get(h.account.id))!.settings.ssoEnforced, false);

    await addUser(h, "rescue", "rescue@contoso.com", { role: "admin", breakGlass: true });
    await h.store.connections.update(h.connection.id, { testedAt: h.clock.now }, h.clock.now);
    const confirmPage = await get(h, b, `/admin/accounts/${h.account.id}`);
    assert.match(confirmPage.body, /I confirm rescue can still sign in with a password/);
    const enforced = await post(h, b, `/admin/accounts/${h.account.id}/settings`, {
      ...enforce,
      confirmBreakGlass: "on",
    });
    assert.equal(enforced.statusCode, 303, enforced.body.slice(0, 800));
    assert.equal((await h.store.accounts.get(h.account.id))!.settings.ssoEnforced, true);
  });

  it("adds a connection from pasted Entra metadata and shows certificates and SP values", async () => {
    h = await harness();
    const b = await signIn(h);
    const other = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";
    const res = await post(h, b, `/admin/accounts/${h.account.id}/connections`, {
      _csrf: b.csrf,
      name: "Entra (EU)",
      metadataXml: entraMetadata(other),
    });
    assert.equal(res.statusCode, 303, res.body.slice(0, 500));
    const created = (await h.store.connections.list(h.account.id)).find(
      (c) => c.id !== h.connection.id,
    );
    assert.ok(created);
    assert.equal(res.headers.location, `/admin/connections/${created.id}?done=connection`);
    assert.equal(created.idpEntityId, `https://sts.windows.net/${other}/`);
    assert.equal((await lastOf(h, "admin.connection.create")).actor, "admin-page");

    const page = await get(h, b, `/admin/connections/${created.id}`);
    assert.equal(page.statusCode, 200);
    assert.ok(page.body.includes(IDP_CERT.fingerprint256));
    for (const value of [
      `${PUBLIC_URL}/saml/contoso`,
      `${PUBLIC_URL}/api/auth/saml/callback`,
      `${PUBLIC_URL}/api/auth/saml/logout/callback`,
      `${PUBLIC_URL}/login`,
      `${PUBLIC_URL}/api/auth/saml/metadata/${created.id}`,
    ])
      assert.ok(page.body.includes(`value="${value}" readonly`), value);
    // The copy script runs only by this response's nonce; nothing else may run.
    const csp = String(page.headers["content-security-policy"]);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    assert.ok(nonce, csp);
    assert.ok(page.body.includes(`<script nonce="${nonce}">`));
    assert.equal(page.body.split("<script").length - 1, 1, "one script, the nonce'd one");

    const account = await get(h, b, `/admin/accounts/${h.account.id}`);
    assert.match(account.body, /Entra \(EU\)/);
    assert.ok(account.body.includes(IDP_CERT.fingerprint256));
  });

  it("refuses unusable metadata on the page, naming the field", async () => {
    h = await harness();
    const b = await signIn(h);
    const empty = await post(h, b, `/admin/accounts/${h.account.id}/connections`, {
      _csrf: b.csrf,
      name: "x",
    });
    assert.equal(empty.statusCode, 400);
    assert.match(empty.body, /<strong>metadataXml<\/strong>: Paste the Federation Metadata XML/);
    const bad = await post(h, b, `/admin/accounts/${h.account.id}/connections`, {
      _csrf: b.csrf,
      metadataXml: "<nope/>",
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /<strong>metadataXml<\/strong>:/);
    assert.match(bad.body, /&lt;nope\/&gt;<\/textarea>/, "what was pasted is kept, escaped");
    const plain = await post(h, b, `/admin/accounts/${h.account.id}/connections`, {
      _csrf: b.csrf,
      metadataUrl: "http://idp.example.org/metadata.xml",
    });
    assert.equal(plain.statusCode, 400);
    assert.match(plain.body, /<strong>metadataUrl<\/strong>: The metadata URL must use https/);
    assert.equal((await h.store.connections.list(h.account.id)).length, 1);
  });

  it("replaces the IdP side and deactivates and activates a connection", async () => {
    h = await harness();
    const b = await signIn(h);
    const id = h.connection.id;
    const res = await post(h, b, `/admin/connections/${id}`, {
      _csrf: b.csrf,
      metadataXml: entraMetadata(),
    });
    assert.equal(res.statusCode, 303, res.body.slice(0, 500));
    assert.equal((await lastOf(h, "admin.connection.update")).actor, "admin-page");
    const bad = await post(h, b, `/admin/connections/${id}`, {
      _csrf: b.csrf,
      metadataXml: "<x/>",
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /<strong>metadataXml<\/strong>/);

    const off = await post(h, b, `/admin/connections/${id}/deactivate`, { _csrf: b.csrf });
    assert.equal(off.statusCode, 303);
    assert.equal(off.headers.location, `/admin/connections/${id}?done=deactivated`);
    assert.equal((await h.store.connections.get(id))!.active, false);
    assert.equal((await lastOf(h, "admin.connection.deactivate")).actor, "admin-page");
    const page = await get(h, b, `/admin/connections/${id}?done=deactivated`);
    assert.match(page.body, /Connection deactivated/);
    assert.match(page.body, /Activate this connection/);
    await post(h, b, `/admin/connections/${id}/activate`, { _csrf: b.csrf });
    assert.equal((await h.store.connections.get(id))!.active, true);
    assert.equal((await lastOf(h, "admin.connection.activate")).actor, "admin-page");
    const missing = await get(h, b, "/admin/connections/con_nothing");
    assert.equal(missing.statusCode, 404);
    assert.match(missing.body, /No connection &quot;con_nothing&quot;\./);
  });

  it("creates users, imports CSV with a bad line, disables and edits, removes bindings", async () => {
    h = await harness();
    const b = await signIn(h);
    const created = await post(h, b, `/admin/accounts/${h.account.id}/users`, {
      _csrf: b.csrf,
      username: "alice",
      email: "alice@contoso.com",
      role: "admin",
      breakGlass: "on",
    });
    assert.equal(created.statusCode, 303, created.body.slice(0, 500));
    const alice = (await h.store.users.byUsername(h.account.id, "alice"))!;
    assert.equal(alice.breakGlass, true);
    assert.equal((await lastOf(h, "admin.user.create")).actor, "admin-page");

    const dup = await post(h, b, `/admin/accounts/${h.account.id}/users`, {
      _csrf: b.csrf,
      username: "alice",
      email: "other@contoso.com",
    });
    assert.equal(dup.statusCode, 409);
    assert.match(dup.body, /<strong>username<\/strong>: The username &quot;alice&quot; is taken/);
    assert.match(dup.body, /value="other@contoso.com"/);

    const imported = await post(h, b, `/admin/accounts/${h.account.id}/users/import`, {
      _csrf: b.csrf,
      csv: "username,email,role\nbob,bob@contoso.com,agent\ncarol,carol-at-contoso,user\n",
    });
    assert.equal(imported.statusCode, 200);
    assert.match(imported.body, /1 user created\./);
    assert.match(imported.body, /Line 3: &quot;carol-at-contoso&quot; is not an email address\./);
    const badCsv = await post(h, b, `/admin/accounts/${h.account.id}/users/import`, {
      _csrf: b.csrf,
      csv: "",
    });
    assert.equal(badCsv.statusCode, 400);
    assert.match(badCsv.body, /<strong>csv<\/strong>: The CSV is empty\./);

    const bob = (await h.store.users.byUsername(h.account.id, "bob"))!;
    const disabled = await post(h, b, `/admin/users/${bob.id}/disable`, { _csrf: b.csrf });
    assert.equal(disabled.statusCode, 303);
    assert.equal((await h.store.users.get(bob.id))!.disabled, true);
    assert.equal((await lastOf(h, "admin.user.update")).actor, "admin-page");
    const list = await get(h, b, `/admin/accounts/${h.account.id}`);
    assert.match(list.body, /aria-label="Enable bob"/);

    const edit = await post(h, b, `/admin/users/${bob.id}`, {
      _csrf: b.csrf,
      email: "robert@contoso.com",
      role: "supervisor",
      ssoId: "rob",
    });
    assert.equal(edit.statusCode, 303);
    const robert = (await h.store.users.get(bob.id))!;
    assert.equal(robert.email, "robert@contoso.com");
    assert.equal(robert.role, "supervisor");
    assert.equal(robert.disabled, false, "the form's unchecked box enables");
    const badEdit = await post(h, b, `/admin/users/${bob.id}`, {
      _csrf: b.csrf,
      email: "robert@contoso.com",
      role: "agent",
      password: "short",
    });
    assert.equal(badEdit.statusCode, 400);
    assert.match(
      badEdit.body,
      /<strong>password<\/strong>: Passwords are at least 12 characters\./,
    );

    const binding = await h.store.bindings.create(
      { userId: bob.id, connectionId: h.connection.id, subject: `entra:${TENANT}/bob-object` },
      h.clock.now,
    );
    const userPage = await get(h, b, `/admin/users/${bob.id}`);
    assert.ok(userPage.body.includes(`entra:${TENANT}/bob-object`));
    const removed = await post(h, b, `/admin/bindings/${binding.id}/remove`, {
      _csrf: b.csrf,
      userId: bob.id,
    });
    assert.equal(removed.statusCode, 303);
    assert.equal(removed.headers.location, `/admin/users/${bob.id}?done=binding`);
    assert.deepEqual(await h.store.bindings.listForUser(bob.id), []);
    assert.equal((await lastOf(h, "admin.binding.remove")).actor, "admin-page");
  });
});

describe("admin pages: setup links, the connection check and Test sign-in", () => {
  let h: Harness;
  afterEach(async () => h?.close());

  it("creates a setup link shown once, lists it, revokes it", async () => {
    h = await harness();
    const b = await signIn(h);
    const made = await post(h, b, `/admin/accounts/${h.account.id}/setup-links`, {
      _csrf: b.csrf,
      expiresInHours: "24",
    });
    assert.equal(made.statusCode, 200, made.body.slice(0, 500));
    const url = /id="new-setup-link" value="([^"]+)"/.exec(made.body)?.[1];
    assert.match(url ?? "", /^http:\/\/localhost:3000\/setup\/[A-Za-z0-9_-]{43}$/);
    assert.match(made.body, /Copy it now: it is shown only once/);
    const opened = await h.app.inject({ method: "GET", url: new URL(url!).pathname });
    assert.equal(opened.statusCode, 200);

    const again = await get(h, b, `/admin/accounts/${h.account.id}`);
    assert.doesNotMatch(
      again.body,
      new RegExp(new URL(url!).pathname),
      "the token is not shown again",
    );
    assert.match(again.body, /<span class="badge ">active<\/span>/);
    const revokeAction =
      /action="(\/admin\/accounts\/[^"]+\/setup-links\/[0-9a-f]{64}\/revoke)"/.exec(
        again.body,
      )?.[1];
    assert.ok(revokeAction);
    const bad = await post(h, b, `/admin/accounts/${h.account.id}/setup-links`, {
      _csrf: b.csrf,
      expiresInHours: "500",
    });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /<strong>expiresInHours<\/strong>/);
    const revoked = await post(h, b, revokeAction!, { _csrf: b.csrf });
    assert.equal(revoked.statusCode, 303);
    const after = await get(h, b, String(revoked.headers.location));
    assert.match(after.body, /Setup link revoked/);
    assert.match(after.body, /<span class="badge off">revoked<\/span>/);
    const gone = await h.app.inject({ method: "GET", url: new URL(url!).pathname });
    assert.equal(gone.statusCode, 410);
    assert.equal((await lastOf(h, "admin.setup_link.revoke")).actor, "admin-page");
  });

  it("the connection page runs the doctor and starts a Test sign-in that comes back to it", async () => {
    h = await harness();
    const b = await signIn(h);
    const page = await get(h, b, `/admin/connections/${h.connection.id}`);
    assert.match(page.body, /Connection check and test sign-in/);
    assert.match(page.body, /not tested since the last change/);
    assert.match(page.body, /Sign-in goes to https:\/\/login\.microsoftonline\.com/);
    assert.match(page.body, /Test sign-in \(opens a new tab\)/);

    const start = await h.app.inject({
      method: "GET",
      url: `/admin/connections/${h.connection.id}/test`,
      headers: { cookie: cookieHeader(b.jar) },
    });
    assert.equal(start.statusCode, 302);
    const location = new URL(String(start.headers.location));
    assert.match(location.toString(), /login\.microsoftonline\.com/);
    const request = parseXml(
      decodeRedirectMessage(location.searchParams.get("SAMLRequest")!, 100_000),
    );
    const id = request.attributes.find((a) => a.local === "ID")!.value;
    const jar = cookiesOf(start, { ...b.jar });
    await addUser(h, "alice", "alice@contoso.com");
    const res = await postAcs(
      h,
      entraResponse(
        { upn: "alice@contoso.com", mail: "alice@contoso.com", objectId: "x" },
        { now: h.clock.now, inResponseTo: id },
      ),
      jar,
    );
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /Test sign-in succeeded/);
    assert.match(res.body, new RegExp(`href="/admin/connections/${h.connection.id}"`));
    assert.equal((await lastOf(h, "sso.test")).actor, "admin-page");
    const tested = await get(h, b, `/admin/connections/${h.connection.id}`);
    assert.match(tested.body, /<span class="badge">tested<\/span>/);

    // Anonymous visitors cannot start one.
    const anon = await h.app.inject({
      method: "GET",
      url: `/admin/connections/${h.connection.id}/test`,
    });
    assert.notEqual(anon.statusCode, 302);
  });
});

describe("admin pages: rollback and audit", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("asks for confirmation, then turns SSO off and lists who was mailed", async () => {
    h = await harness({ ssoEnforced: true });
    const b = await signIn(h);
    await addUser(h, "alice", "alice@contoso.com");
    const confirm = await get(h, b, `/admin/accounts/${h.account.id}/rollback`);
    assert.equal(confirm.statusCode, 200);
    assert.match(confirm.body, /Turn SSO off for Contoso Ltd\?/);
    const wrong = await post(h, b, `/admin/accounts/${h.account.id}/rollback`, {
      _csrf: b.csrf,
      confirm: "fabrikam",
    });
    assert.equal(wrong.statusCode, 400);
    assert.match(wrong.body, /Type the account name &quot;contoso&quot; to confirm\./);
    assert.equal(h.mail.length, 0);
    assert.equal((await h.store.connections.get(h.connection.id))!.active, true);

    const done = await post(h, b, `/admin/accounts/${h.account.id}/rollback`, {
      _csrf: b.csrf,
      confirm: "contoso",
    });
    assert.equal(done.statusCode, 200);
    assert.match(done.body, /SSO is off for Contoso Ltd/);
    assert.match(done.body, /1 of 1 users mailed/);
    assert.deepEqual(
      h.mail.map((m) => m.to),
      ["alice@contoso.com"],
    );
    assert.equal((await h.store.connections.get(h.connection.id))!.active, false);
    assert.equal((await lastOf(h, "admin.sso.rollback")).actor, "admin-page");
  });

  it("lists the log newest first, filtered, with reference, reason, user and detail", async () => {
    h = await harness();
    const b = await signIn(h);
    const alice = await addUser(h, "alice", "alice@contoso.com");
    h.clock.now = new Date(h.clock.now.getTime() + 1000);
    await h.store.audit.append({
      id: "evt_00000000000000000000000001",
      at: h.clock.now,
      reference: "4PZX-9QRT",
      type: "login.sso",
      outcome: "failure",
      reason: "audience_mismatch",
      accountId: h.account.id,
      userId: alice.id,
      connectionId: h.connection.id,
      actor: "anonymous",
      ip: "127.0.0.1",
      detail: { expected: "https://gatehouse.test/sp", received: "<b>spn:other</b>" },
    });
    const page = await get(h, b, "/admin/audit");
    assert.equal(page.statusCode, 200);
    const first = page.body.indexOf("4PZX-9QRT");
    const login = page.body.indexOf("admin.login");
    assert.ok(first > 0 && login > first, "newest first");
    assert.match(page.body, /audience_mismatch/);
    assert.match(page.body, /<td>alice<\/td>/);
    assert.match(page.body, /&lt;b&gt;spn:other&lt;\/b&gt;/);

    const byRef = await get(h, b, "/admin/audit?reference=4pzx-9qrt");
    assert.ok(byRef.body.includes("4PZX-9QRT"));
    assert.equal(byRef.body.includes("admin.login"), false);
    const byType = await get(h, b, "/admin/audit?type=admin.login&account=contoso");
    assert.equal(byType.body.includes("4PZX-9QRT"), false);
    const badAccount = await get(h, b, "/admin/audit?account=nobody");
    assert.equal(badAccount.statusCode, 400);
    assert.match(badAccount.body, /No account &quot;nobody&quot;\./);
  });
});

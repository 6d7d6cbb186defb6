// Password login through the HTTP layer: the login form, the code step, the forced password
// change, every refusal's page text and audit reason, the lockout window on the harness clock,
// and the SSO rollback from the admin helper to the first login with the mailed password.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { LOGIN_MESSAGES } from "../../src/domain/messages.ts";
import {
  IP_ATTEMPT_LIMIT,
  IP_WINDOW_SECONDS,
  USERNAME_FAILURE_LIMIT,
  USERNAME_WINDOW_SECONDS,
} from "../../src/domain/password-login.ts";
import { hashPassword } from "../../src/domain/passwords.ts";
import { newTotpSecret, totpCode } from "../../src/domain/totp.ts";
import type { AppContext } from "../../src/http/context.ts";
import type { MailMessage } from "../../src/http/deps.ts";
import { rollbackSsoForApp } from "../../src/http/routes/password.ts";
import {
  addUser,
  cookieHeader,
  csrfOf,
  type Harness,
  harness,
  openLoginPage,
  PUBLIC_URL,
  postForm,
} from "./support.ts";

const PASSWORD = "correct horse battery staple";
const passwordHash = hashPassword(PASSWORD);

async function dashboard(h: Harness, jar: Record<string, string>) {
  return h.app.inject({ method: "GET", url: "/dashboard", headers: { cookie: cookieHeader(jar) } });
}

async function login(h: Harness, username: string, password = PASSWORD, extra = {}) {
  // Each attempt 1 ms after the last: audit events are read newest first.
  h.clock.now = new Date(h.clock.now.getTime() + 1);
  const { jar, csrf } = await openLoginPage(h);
  const res = await postForm(h, "/login", jar, { _csrf: csrf, username, password, ...extra });
  return { res, jar };
}

/** The page shows the message and a reference; the audit event under it has this reason. */
async function refused(
  h: Harness,
  res: { statusCode: number; body: string },
  message: string,
  reason: string,
  status = 400,
) {
  assert.equal(res.statusCode, status, res.body.slice(0, 400));
  assert.ok(res.body.includes(escapeHtml(message)), `page shows "${message}"`);
  const ref = /Reference: <span class="mono">([0-9A-Z]{4}-[0-9A-Z]{4})<\/span>/.exec(res.body);
  assert.ok(ref, "the page shows a reference");
  const [event] = await h.store.audit.query({ reference: ref[1]! });
  assert.ok(event, "the reference names an audit event");
  assert.equal(event.outcome, "failure");
  assert.equal(event.reason, reason);
  assert.equal(event.ip, "127.0.0.1");
  return event;
}

function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll('"', "&#34;").replaceAll("'", "&#39;");
}

function signedIn(res: { statusCode: number; headers: Record<string, unknown>; body: string }) {
  assert.equal(res.statusCode, 303, res.body.slice(0, 400));
  assert.equal(res.headers.location, "/dashboard");
}

describe("POST /login", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("signs in with username and password: session cookie, dashboard, audit event", async () => {
    h = await harness();
    const alice = await addUser(h, "alice", "alice@contoso.com", {
      passwordHash: await passwordHash,
    });
    const { res, jar } = await login(h, "alice");
    signedIn(res);
    assert.ok(jar.gh_session, "session cookie set");
    const dash = await dashboard(h, jar);
    assert.equal(dash.statusCode, 200);
    assert.match(dash.body, /Welcome, <strong>alice<\/strong>/);
    assert.match(dash.body, /<td>password<\/td>/);
    const [event] = await h.store.audit.query({ limit: 1 });
    assert.equal(event?.type, "login.password");
    assert.equal(event?.outcome, "success");
    assert.equal(event?.userId, alice.id);
    const [session] = await h.store.sessions.listLive(alice.id, h.clock.now);
    assert.equal(session?.method, "password");
    assert.equal(session?.mfa, false);
  });

  it("signs in with the email too", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com", { passwordHash: await passwordHash });
    signedIn((await login(h, "Alice@Contoso.com")).res);
  });

  it("refuses a form without the CSRF token", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com", { passwordHash: await passwordHash });
    const res = await postForm(h, "/login", {}, { username: "alice", password: PASSWORD });
    assert.equal(res.statusCode, 403);
    assert.ok(res.body.includes(LOGIN_MESSAGES.session_expired));
    assert.equal((await h.store.audit.query({})).length, 0, "nothing was tried");
  });

  it("refuses a wrong password and an unknown user with one message", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com", { passwordHash: await passwordHash });
    const wrong = (await login(h, "alice", "nope")).res;
    await refused(h, wrong, LOGIN_MESSAGES.bad_credentials, "wrong_password");
    assert.match(wrong.body, /name="username" value="alice"/, "the username is kept");
    const unknown = (await login(h, "mallory")).res;
    await refused(h, unknown, LOGIN_MESSAGES.bad_credentials, "unknown_user");
  });

  it("refuses a user without a password", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    await refused(h, (await login(h, "alice")).res, LOGIN_MESSAGES.bad_credentials, "no_password");
  });

  it("refuses a disabled user", async () => {
    h = await harness();
    await addUser(h, "bob", "bob@contoso.com", {
      passwordHash: await passwordHash,
      disabled: true,
    });
    await refused(h, (await login(h, "bob")).res, LOGIN_MESSAGES.user_disabled, "user_disabled");
  });

  it("asks for the account name when the installation has several accounts", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com", { passwordHash: await passwordHash });
    await h.store.accounts.create({ name: "fabrikam", displayName: "Fabrikam" }, h.clock.now);
    const page = await openLoginPage(h);
    assert.match(page.body, /<label for="account">Account name<\/label>/);
    await refused(
      h,
      (await login(h, "alice")).res,
      LOGIN_MESSAGES.account_name_missing,
      "account_name_missing",
    );
    await refused(
      h,
      (await login(h, "alice", PASSWORD, { account: "northwind" })).res,
      LOGIN_MESSAGES.bad_credentials,
      "account_unknown",
    );
    const { res, jar } = await login(h, "alice", PASSWORD, { account: "contoso" });
    signedIn(res);
    assert.equal(jar.gh_account, "contoso", "the account name is remembered");
  });
});

describe("SSO enforced", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("refuses a normal user with the SSO message", async () => {
    h = await harness({ ssoEnforced: true });
    await addUser(h, "alice", "alice@contoso.com", { passwordHash: await passwordHash });
    await refused(h, (await login(h, "alice")).res, LOGIN_MESSAGES.sso_enforced, "sso_enforced");
  });

  it("admits a break-glass admin and audits it under its own type", async () => {
    h = await harness({ ssoEnforced: true });
    const root = await addUser(h, "root", "root@contoso.com", {
      passwordHash: await passwordHash,
      role: "admin",
      breakGlass: true,
    });
    signedIn((await login(h, "root")).res);
    const [event] = await h.store.audit.query({ type: "login.password.break_glass" });
    assert.equal(event?.outcome, "success");
    assert.equal(event?.reason, "break_glass");
    assert.equal(event?.userId, root.id);
  });
});

describe("lockout", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it(`locks after ${USERNAME_FAILURE_LIMIT} failures and recovers when the window ends`, async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com", { passwordHash: await passwordHash });
    for (let i = 0; i < USERNAME_FAILURE_LIMIT; i++)
      await refused(
        h,
        (await login(h, "alice", `guess ${i}`)).res,
        LOGIN_MESSAGES.bad_credentials,
        "wrong_password",
      );
    await refused(h, (await login(h, "alice")).res, LOGIN_MESSAGES.locked_out, "locked_out", 429);
    h.clock.now = new Date(h.clock.now.getTime() + USERNAME_WINDOW_SECONDS * 1000);
    signedIn((await login(h, "alice")).res);
  });
});

describe("rate limit per address", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it(`refuses attempts beyond ${IP_ATTEMPT_LIMIT} from one address in the window`, async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com", { passwordHash: await passwordHash });
    for (let i = 0; i < IP_ATTEMPT_LIMIT; i++)
      await h.store.counters.hit("pw:ip:127.0.0.1", IP_WINDOW_SECONDS, h.clock.now);
    await refused(
      h,
      (await login(h, "alice")).res,
      LOGIN_MESSAGES.locked_out,
      "ip_rate_limited",
      429,
    );
    h.clock.now = new Date(h.clock.now.getTime() + IP_WINDOW_SECONDS * 1000);
    signedIn((await login(h, "alice")).res);
  });
});

describe("TOTP step", () => {
  let h: Harness;
  afterEach(() => h?.close());

  async function passwordStep(secret: string) {
    await addUser(h, "alice", "alice@contoso.com", {
      passwordHash: await passwordHash,
      totpSecret: secret,
    });
    const { res, jar } = await login(h, "alice");
    assert.equal(res.statusCode, 200, res.body.slice(0, 300));
    assert.match(res.body, /Enter your code/);
    assert.ok(jar.gh_login_step, "the step ticket is in a cookie");
    assert.equal(jar.gh_session, undefined, "no session yet");
    return { jar, csrf: csrfOf(res.body) };
  }

  it("signs in with the right code, with mfa on the session", async () => {
    h = await harness();
    const secret = newTotpSecret();
    const { jar, csrf } = await passwordStep(secret);
    const res = await postForm(h, "/login/totp", jar, {
      _csrf: csrf,
      code: totpCode(secret, h.clock.now),
    });
    signedIn(res);
    assert.equal(jar.gh_login_step, undefined, "the step cookie is cleared");
    const dash = await dashboard(h, jar);
    assert.match(dash.body, /password \+ authenticator code/);
  });

  it("refuses a wrong code, then accepts the right one on the renewed ticket", async () => {
    h = await harness();
    const secret = newTotpSecret();
    const { jar, csrf } = await passwordStep(secret);
    const first = jar.gh_login_step;
    const wrongCode = totpCode(secret, h.clock.now) === "000000" ? "111111" : "000000";
    const wrong = await postForm(h, "/login/totp", jar, { _csrf: csrf, code: wrongCode });
    await refused(h, wrong, LOGIN_MESSAGES.bad_totp, "bad_totp");
    assert.match(wrong.body, /Enter your code/, "the code form again");
    assert.notEqual(jar.gh_login_step, first);
    signedIn(
      await postForm(h, "/login/totp", jar, { _csrf: csrf, code: totpCode(secret, h.clock.now) }),
    );
  });

  it("refuses a replayed code", async () => {
    h = await harness();
    const secret = newTotpSecret();
    const code = totpCode(secret, h.clock.now);
    const first = await passwordStep(secret);
    signedIn(await postForm(h, "/login/totp", first.jar, { _csrf: first.csrf, code }));
    const { jar, res } = await login(h, "alice");
    const replay = await postForm(h, "/login/totp", jar, { _csrf: csrfOf(res.body), code });
    await refused(h, replay, LOGIN_MESSAGES.bad_totp, "totp_replayed");
    assert.equal(jar.gh_session, undefined);
  });

  it("refuses the code step without a ticket", async () => {
    h = await harness();
    const { jar, csrf } = await openLoginPage(h);
    const res = await postForm(h, "/login/totp", jar, { _csrf: csrf, code: "123456" });
    await refused(h, res, LOGIN_MESSAGES.session_expired, "ticket_expired", 403);
  });
});

describe("forced password change", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("asks for a new password before any session, refuses a short one, then signs in", async () => {
    h = await harness();
    const user = await addUser(h, "alice", "alice@contoso.com", {
      passwordHash: await passwordHash,
      mustChangePassword: true,
    });
    const { res, jar } = await login(h, "alice");
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /Choose a new password/);
    assert.equal(jar.gh_session, undefined);
    const csrf = csrfOf(res.body);
    const short = await postForm(h, "/login/password", jar, {
      _csrf: csrf,
      password: "short",
      confirm: "short",
    });
    await refused(h, short, LOGIN_MESSAGES.password_too_short, "password_too_short");
    const reused = await postForm(h, "/login/password", jar, {
      _csrf: csrf,
      password: PASSWORD,
      confirm: PASSWORD,
    });
    await refused(h, reused, LOGIN_MESSAGES.password_reused, "password_reused");
    const fresh = "my own new passphrase";
    signedIn(
      await postForm(h, "/login/password", jar, { _csrf: csrf, password: fresh, confirm: fresh }),
    );
    assert.equal((await h.store.users.get(user.id))?.mustChangePassword, false);
    signedIn((await login(h, "alice", fresh)).res);
  });
});

describe("rollback from SSO", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("mails temporary passwords (one mailbox failing), turns SSO off; the user signs in and must change it", async () => {
    const mail: MailMessage[] = [];
    const captured: { ctx?: AppContext } = {};
    h = await harness(
      { ssoEnforced: true },
      [
        (_app, ctx) => {
          captured.ctx = ctx;
        },
      ],
      {
        mailer: {
          async send(m) {
            if (m.to === "bob@contoso.com") throw new Error("connect ECONNREFUSED 127.0.0.1:25");
            mail.push(m);
          },
        },
      },
    );
    const alice = await addUser(h, "alice", "alice@contoso.com");
    const bob = await addUser(h, "bob", "bob@contoso.com", { passwordHash: await passwordHash });
    // Enforced SSO: bob's own password does not work yet.
    await refused(h, (await login(h, "bob")).res, LOGIN_MESSAGES.sso_enforced, "sso_enforced");

    const result = await rollbackSsoForApp(captured.ctx!, h.account.id, { actor: "admin-api" });
    assert.deepEqual(
      result.users.map((u) => [u.userId, u.outcome]),
      [
        [alice.id, "mailed"],
        [bob.id, "mail_failed"],
      ],
    );
    assert.equal(mail.length, 1);
    assert.equal(mail[0]?.to, "alice@contoso.com");
    assert.match(mail[0]!.text, /Contoso Ltd/);
    assert.ok(mail[0]!.text.includes(`${PUBLIC_URL}/login`));
    const temporary = /Temporary password: (\S+)/.exec(mail[0]!.text)![1]!;

    // SSO is off: the SAML login is refused, the button is gone.
    const sso = await h.app.inject({ method: "GET", url: "/api/auth/saml/login" });
    assert.equal(sso.statusCode, 400);
    assert.ok(sso.body.includes(LOGIN_MESSAGES.account_not_sso));
    assert.doesNotMatch((await openLoginPage(h)).body, /Login with SAML/);

    // Alice signs in with the mailed password and must change it first.
    h.clock.now = new Date(h.clock.now.getTime() + 60_000);
    const { res, jar } = await login(h, "alice", temporary);
    assert.equal(res.statusCode, 200, res.body.slice(0, 300));
    assert.match(res.body, /Choose a new password/);
    const fresh = "alice chose this one";
    signedIn(
      await postForm(h, "/login/password", jar, {
        _csrf: csrfOf(res.body),
        password: fresh,
        confirm: fresh,
      }),
    );
    assert.match((await dashboard(h, jar)).body, /Welcome, <strong>alice<\/strong>/);

    // Bob was not mailed, so nothing changed for him: his own password works again.
    signedIn((await login(h, "bob")).res);
    const events = await h.store.audit.query({ type: "admin.sso.rollback.user" });
    assert.deepEqual(events.map((e) => e.reason).sort(), ["mail_failed", "mailed"]);
  });
});

// Password login, TOTP, forced password change and the SSO rollback, at the domain level on a
// real SQLite store: every refusal with its message key and audit reason.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { Account, AccountSettings, User } from "../../src/domain/model.ts";
import { DEFAULT_ACCOUNT_SETTINGS } from "../../src/domain/model.ts";
import {
  changePasswordLogin,
  IP_ATTEMPT_LIMIT,
  IP_WINDOW_SECONDS,
  type LoginStep,
  type PasswordAttempt,
  passwordLogin,
  totpLogin,
  USERNAME_FAILURE_LIMIT,
  USERNAME_WINDOW_SECONDS,
} from "../../src/domain/password-login.ts";
import { hashPassword, verifyPassword } from "../../src/domain/passwords.ts";
import { type RollbackMailer, rollbackSso } from "../../src/domain/rollback.ts";
import type { NewUser, Store } from "../../src/domain/store.ts";
import { newTotpSecret, totpCode, totpStep } from "../../src/domain/totp.ts";
import { openSqliteStore } from "../../src/store/sqlite.ts";

const PASSWORD = "correct horse battery staple";
const IP = "127.0.0.1";

let dir: string;
let store: Store;
let account: Account;
let now: Date;
// One hash for every test user: scrypt is deliberately slow.
const passwordHash = hashPassword(PASSWORD);

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "gatehouse-pw-"));
  store = await openSqliteStore(join(dir, "test.db"));
  // 09:00:00 is on a 15-minute boundary: the whole window lies ahead.
  now = new Date("2026-11-22T09:00:00.000Z");
  account = await store.accounts.create(
    { name: "contoso", displayName: "Contoso Ltd", settings: DEFAULT_ACCOUNT_SETTINGS },
    now,
  );
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function addUser(username: string, extra: Partial<NewUser> = {}): Promise<User> {
  return store.users.create(
    {
      accountId: account.id,
      username,
      email: `${username}@contoso.com`,
      ssoId: null,
      role: "user",
      passwordHash: await passwordHash,
      totpSecret: null,
      breakGlass: false,
      mustChangePassword: false,
      disabled: false,
      ...extra,
    },
    now,
  );
}

async function settings(patch: Partial<AccountSettings>) {
  account = await store.accounts.update(
    account.id,
    { settings: { ...account.settings, ...patch } },
    now,
  );
}

// Audit events are read newest first; each step runs 1 ms after the last so the order is certain.
function tick() {
  now = new Date(now.getTime() + 1);
}

function totp(ticket: string, code: string) {
  tick();
  return totpLogin(store, ticket, code, IP, now);
}

function change(ticket: string, input: { password: string; confirm: string }) {
  tick();
  return changePasswordLogin(store, ticket, input, IP, now);
}

function login(identifier: string, password = PASSWORD, extra: Partial<PasswordAttempt> = {}) {
  tick();
  return passwordLogin(
    store,
    { accountName: undefined, identifier, password, ip: IP, ...extra },
    now,
  );
}

async function lastEvent() {
  const [event] = await store.audit.query({ limit: 1 });
  assert.ok(event, "an audit event was written");
  return event;
}

/** The step was a refusal with this message and reason, audited under the reference it shows. */
async function assertRefused(step: LoginStep, message: string, reason: string) {
  assert.equal(step.kind, "refused", JSON.stringify(step));
  if (step.kind !== "refused") return;
  assert.equal(step.refusal.message, message);
  assert.equal(step.refusal.reason, reason);
  const [event] = await store.audit.query({ reference: step.refusal.reference });
  assert.ok(event, "the reference names an audit event");
  assert.equal(event.outcome, "failure");
  assert.equal(event.reason, reason);
  assert.equal(event.ip, IP);
  return event;
}

describe("password login", () => {
  it("signs in with the username or the email, and audits the success", async () => {
    const alice = await addUser("alice");
    const byName = await login("alice");
    assert.equal(byName.kind, "signed_in");
    if (byName.kind === "signed_in") {
      assert.equal(byName.user.id, alice.id);
      assert.equal(byName.mfa, false);
      assert.equal(byName.breakGlass, false);
    }
    const event = await lastEvent();
    assert.equal(event.type, "login.password");
    assert.equal(event.outcome, "success");
    assert.equal(event.reason, "password");
    assert.equal(event.userId, alice.id);
    assert.equal((await login("ALICE@contoso.com")).kind, "signed_in");
  });

  it("refuses a wrong password and an unknown user with the same message, both audited", async () => {
    const alice = await addUser("alice");
    const wrong = await assertRefused(
      await login("alice", "wrong password"),
      "bad_credentials",
      "wrong_password",
    );
    assert.equal(wrong?.userId, alice.id);
    assert.equal(wrong?.type, "login.password");
    const unknown = await assertRefused(await login("mallory"), "bad_credentials", "unknown_user");
    assert.equal(unknown?.userId, null);
    assert.equal(unknown?.accountId, account.id);
    assert.equal(unknown?.detail.identifier, "mallory");
  });

  it("spends the same scrypt work on an unknown user as on a wrong password", async () => {
    await addUser("alice");
    const time = async (name: string) => {
      const t = performance.now();
      await login(name, "wrong password");
      return performance.now() - t;
    };
    await time("alice");
    const known = Math.min(await time("alice"), await time("alice"));
    const unknown = Math.min(await time("nobody"), await time("nobody"));
    // A skipped scrypt would make the unknown case ~100 times faster; allow generous noise.
    assert.ok(
      unknown > known / 3,
      `unknown ${unknown.toFixed(1)} ms vs known ${known.toFixed(1)} ms`,
    );
  });

  it("refuses a user without a password, and an email shared by several users", async () => {
    await addUser("sso-only", { passwordHash: null });
    await assertRefused(await login("sso-only"), "bad_credentials", "no_password");
    await addUser("alice-admin", { email: "alice@contoso.com", role: "admin" });
    await addUser("alice-agent", { email: "alice@contoso.com", role: "agent" });
    await assertRefused(await login("alice@contoso.com"), "bad_credentials", "email_ambiguous");
    assert.equal((await login("alice-agent")).kind, "signed_in");
  });

  it("refuses a disabled user only once the password is right", async () => {
    const bob = await addUser("bob", { disabled: true });
    await assertRefused(await login("bob", "nope"), "bad_credentials", "wrong_password");
    const event = await assertRefused(await login("bob"), "user_disabled", "user_disabled");
    assert.equal(event?.userId, bob.id);
  });

  it("asks for the account name when there are several accounts, and finds users by it", async () => {
    await addUser("alice");
    await store.accounts.create(
      { name: "fabrikam", displayName: "Fabrikam", settings: DEFAULT_ACCOUNT_SETTINGS },
      now,
    );
    await assertRefused(await login("alice"), "account_name_missing", "account_name_missing");
    const unknown = await assertRefused(
      await login("alice", PASSWORD, { accountName: "northwind" }),
      "bad_credentials",
      "account_unknown",
    );
    assert.equal(unknown?.detail.accountName, "northwind");
    assert.equal((await login("alice", PASSWORD, { accountName: "Contoso" })).kind, "signed_in");
    await assertRefused(
      await login("alice", PASSWORD, { accountName: "fabrikam" }),
      "bad_credentials",
      "unknown_user",
    );
  });
});

describe("SSO enforced (Netcore: email/password and 2FA disabled)", () => {
  it("refuses a normal user, right password or not, with the SSO message", async () => {
    await settings({ ssoEnforced: true });
    await addUser("alice");
    await assertRefused(await login("alice"), "sso_enforced", "sso_enforced");
    await assertRefused(await login("alice", "wrong"), "sso_enforced", "wrong_password");
    await assertRefused(await login("nobody"), "sso_enforced", "unknown_user");
  });

  it("refuses an admin without the break-glass flag and a break-glass flag on a non-admin", async () => {
    await settings({ ssoEnforced: true });
    await addUser("root", { role: "admin" });
    await addUser("sup", { role: "supervisor", breakGlass: true });
    await assertRefused(await login("root"), "sso_enforced", "sso_enforced");
    await assertRefused(await login("sup"), "sso_enforced", "sso_enforced");
  });

  it("admits a break-glass admin, audited with its own event type", async () => {
    await settings({ ssoEnforced: true });
    const admin = await addUser("root", { role: "admin", breakGlass: true });
    const step = await login("root");
    assert.equal(step.kind, "signed_in");
    assert.equal(step.kind === "signed_in" && step.breakGlass, true);
    const event = await lastEvent();
    assert.equal(event.type, "login.password.break_glass");
    assert.equal(event.outcome, "success");
    assert.equal(event.reason, "break_glass");
    assert.equal(event.userId, admin.id);
    // A wrong password of a break-glass admin is audited under the same type, and the page
    // shows the SSO message: it does not tell which usernames are break-glass admins.
    const failed = await assertRefused(
      await login("root", "wrong"),
      "sso_enforced",
      "wrong_password",
    );
    assert.equal(failed?.type, "login.password.break_glass");
  });

  it("does not treat break-glass specially when SSO is not enforced", async () => {
    await addUser("root", { role: "admin", breakGlass: true });
    await login("root");
    assert.equal((await lastEvent()).type, "login.password");
  });
});

describe("rate limiting and lockout", () => {
  it(`locks a username after ${USERNAME_FAILURE_LIMIT} failures for the rest of the window`, async () => {
    await addUser("alice");
    for (let i = 0; i < USERNAME_FAILURE_LIMIT; i++)
      await assertRefused(await login("alice", `guess ${i}`), "bad_credentials", "wrong_password");
    // Even the right password is refused now, without being checked.
    await assertRefused(await login("alice"), "locked_out", "locked_out");
    await assertRefused(await login("ALICE@contoso.com"), "locked_out", "locked_out");
    now = new Date(now.getTime() + USERNAME_WINDOW_SECONDS * 1000 - 1000);
    await assertRefused(await login("alice"), "locked_out", "locked_out");
    now = new Date(now.getTime() + 1000);
    assert.equal((await login("alice")).kind, "signed_in");
  });

  it("locks again in a later window (the expired lock is replaced)", async () => {
    await addUser("alice");
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < USERNAME_FAILURE_LIMIT; i++) await login("alice", "guess");
      await assertRefused(await login("alice"), "locked_out", "locked_out");
      now = new Date(now.getTime() + USERNAME_WINDOW_SECONDS * 1000);
    }
    assert.equal((await login("alice")).kind, "signed_in");
  });

  it("locks unknown usernames alike (no enumeration through the lockout)", async () => {
    for (let i = 0; i < USERNAME_FAILURE_LIMIT; i++) await login("ghost", "guess");
    await assertRefused(await login("ghost"), "locked_out", "locked_out");
  });

  it("resets the username counter on a successful login", async () => {
    await addUser("alice");
    for (let i = 0; i < USERNAME_FAILURE_LIMIT - 1; i++) await login("alice", "guess");
    assert.equal((await login("alice")).kind, "signed_in");
    for (let i = 0; i < USERNAME_FAILURE_LIMIT - 1; i++) await login("alice", "guess");
    assert.equal((await login("alice")).kind, "signed_in");
  });

  it(`refuses an address after ${IP_ATTEMPT_LIMIT} attempts in the window`, async () => {
    await addUser("alice");
    for (let i = 0; i < IP_ATTEMPT_LIMIT - 1; i++)
      await store.counters.hit(`pw:ip:${IP}`, IP_WINDOW_SECONDS, now);
    assert.equal((await login("alice")).kind, "signed_in", "the 50th attempt is allowed");
    await assertRefused(await login("alice"), "locked_out", "ip_rate_limited");
    assert.equal((await login("alice", PASSWORD, { ip: "127.0.0.2" })).kind, "signed_in");
    now = new Date(now.getTime() + IP_WINDOW_SECONDS * 1000);
    assert.equal((await login("alice")).kind, "signed_in");
  });
});

describe("TOTP second factor", () => {
  async function withTotp() {
    const secret = newTotpSecret();
    const user = await addUser("alice", { totpSecret: secret });
    return { secret, user };
  }

  async function ticketFor(name = "alice") {
    const step = await login(name);
    assert.equal(step.kind, "totp");
    return step.kind === "totp" ? step.ticket : "";
  }

  it("knows the RFC 6238 parameters (SHA-1, 30 s, 6 digits, ±1 step)", () => {
    // RFC 6238 appendix B's SHA-1 key "12345678901234567890", base32; T = 59 s → 94287082.
    const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    assert.equal(totpCode(secret, new Date(59_000)), "287082");
    assert.equal(totpStep(secret, "287082", new Date(59_000)), 1);
    assert.equal(totpStep(secret, "287082", new Date(89_000)), 1, "one step later");
    assert.equal(totpStep(secret, "287082", new Date(29_000)), 1, "one step earlier");
    assert.equal(totpStep(secret, "287082", new Date(119_000)), undefined, "two steps later");
    assert.equal(totpStep(secret, "28708", new Date(59_000)), undefined);
  });

  it("asks for the code after the password, then signs in with mfa", async () => {
    const { secret, user } = await withTotp();
    const ticket = await ticketFor();
    assert.equal((await store.audit.query({ type: "login.password" })).length, 0, "not yet");
    const step = await totp(ticket, totpCode(secret, now));
    assert.equal(step.kind, "signed_in");
    assert.equal(step.kind === "signed_in" && step.mfa, true);
    const event = await lastEvent();
    assert.equal(event.reason, "password_totp");
    assert.equal(event.userId, user.id);
  });

  it("refuses a wrong code, offers another try on a fresh ticket, and spends the old one", async () => {
    const { secret } = await withTotp();
    const ticket = await ticketFor();
    const wrong = await totp(ticket, "000000" === totpCode(secret, now) ? "111111" : "000000");
    assert.equal(wrong.kind, "totp");
    if (wrong.kind !== "totp") return;
    assert.equal(wrong.refusal?.message, "bad_totp");
    assert.equal(wrong.refusal?.reason, "bad_totp");
    assert.equal((await lastEvent()).reason, "bad_totp");
    assert.notEqual(wrong.ticket, ticket);
    await assertRefused(
      await totp(ticket, totpCode(secret, now)),
      "session_expired",
      "ticket_expired",
    );
    assert.equal((await totp(wrong.ticket, totpCode(secret, now))).kind, "signed_in");
  });

  it("refuses a replayed code, and an older code after a newer one", async () => {
    const { secret } = await withTotp();
    const code = totpCode(secret, now);
    assert.equal((await totp(await ticketFor(), code)).kind, "signed_in");
    const replay = await totp(await ticketFor(), code);
    assert.equal(replay.kind, "totp");
    assert.equal(replay.kind === "totp" && replay.refusal?.message, "bad_totp");
    assert.equal(replay.kind === "totp" && replay.refusal?.reason, "totp_replayed");
    assert.equal((await lastEvent()).reason, "totp_replayed");
    // 30 s later the previous step's code is still inside the window, but was spent.
    now = new Date(now.getTime() + 30_000);
    const newer = totpCode(secret, now);
    assert.equal((await totp(await ticketFor(), newer)).kind, "signed_in");
    const older = totpCode(secret, new Date(now.getTime() - 30_000));
    assert.equal(older, code);
    const olderStep = await totp(
      await ticketFor(),
      totpCode(secret, new Date(now.getTime() - 30_000)),
    );
    assert.equal(olderStep.kind === "totp" && olderStep.refusal?.reason, "totp_replayed");
  });

  it("counts wrong codes toward the username lockout", async () => {
    await withTotp();
    let ticket = await ticketFor();
    for (let i = 0; i < USERNAME_FAILURE_LIMIT - 1; i++) {
      const step = await totp(ticket, "abcdef");
      assert.equal(step.kind, "totp");
      if (step.kind === "totp") ticket = step.ticket;
    }
    await assertRefused(await totp(ticket, "abcdef"), "locked_out", "locked_out");
    await assertRefused(await login("alice"), "locked_out", "locked_out");
  });

  it("refuses the code step when the user was disabled meanwhile", async () => {
    const { secret, user } = await withTotp();
    const ticket = await ticketFor();
    await store.users.update(user.id, { disabled: true }, now);
    await assertRefused(
      await totp(ticket, totpCode(secret, now)),
      "user_disabled",
      "user_disabled",
    );
  });

  it("refuses an expired ticket", async () => {
    const { secret } = await withTotp();
    const ticket = await ticketFor();
    now = new Date(now.getTime() + 5 * 60_000 + 1);
    await assertRefused(
      await totp(ticket, totpCode(secret, now)),
      "session_expired",
      "ticket_expired",
    );
  });
});

describe("forced password change", () => {
  const NEW = "a brand new passphrase";

  async function changeTicket(extra: Partial<NewUser> = {}) {
    const user = await addUser("alice", { mustChangePassword: true, ...extra });
    const step = await login("alice");
    assert.equal(step.kind, "change_password");
    return { user, ticket: step.kind === "change_password" ? step.ticket : "" };
  }

  async function refusedChange(step: LoginStep, reason: string) {
    assert.equal(step.kind, "change_password");
    if (step.kind !== "change_password") return;
    assert.equal(step.refusal?.message, reason);
    assert.equal(step.refusal?.reason, reason);
    const event = await lastEvent();
    assert.equal(event.type, "login.password.change");
    assert.equal(event.reason, reason);
  }

  it("asks for a new password before any session, and refuses weak or mistyped ones", async () => {
    const { user, ticket } = await changeTicket();
    assert.equal((await store.sessions.listLive(user.id, now)).length, 0);
    await refusedChange(
      await change(ticket, { password: "short1", confirm: "short1" }),
      "password_too_short",
    );
    await refusedChange(
      await change(ticket, { password: NEW, confirm: `${NEW}!` }),
      "password_mismatch",
    );
    await refusedChange(
      await change(ticket, { password: PASSWORD, confirm: PASSWORD }),
      "password_reused",
    );
    const done = await change(ticket, { password: NEW, confirm: NEW });
    assert.equal(done.kind, "signed_in");
    const updated = await store.users.get(user.id);
    assert.equal(updated?.mustChangePassword, false);
    assert.ok(await verifyPassword(NEW, updated!.passwordHash!));
    // Both written at the same instant: compared as a set.
    const lastTwo = await store.audit.query({ limit: 2 });
    assert.deepEqual(lastTwo.map((e) => `${e.type} ${e.outcome} ${e.reason}`).sort(), [
      "login.password success password",
      "login.password.change success must_change_password",
    ]);
    // The ticket was single-use; the old password no longer works, the new one does.
    await assertRefused(
      await change(ticket, { password: NEW, confirm: NEW }),
      "session_expired",
      "ticket_expired",
    );
    await assertRefused(await login("alice"), "bad_credentials", "wrong_password");
    assert.equal((await login("alice", NEW)).kind, "signed_in");
  });

  it("counts 12 characters, not UTF-16 units", async () => {
    const { ticket } = await changeTicket();
    const eleven = "😀".repeat(11);
    await refusedChange(
      await change(ticket, { password: eleven, confirm: eleven }),
      "password_too_short",
    );
  });

  it("comes after the TOTP step and keeps the mfa fact", async () => {
    const secret = newTotpSecret();
    await addUser("alice", { mustChangePassword: true, totpSecret: secret });
    const first = await login("alice");
    assert.equal(first.kind, "totp");
    if (first.kind !== "totp") return;
    const second = await totp(first.ticket, totpCode(secret, now));
    assert.equal(second.kind, "change_password");
    if (second.kind !== "change_password") return;
    const done = await change(second.ticket, { password: NEW, confirm: NEW });
    assert.equal(done.kind === "signed_in" && done.mfa, true);
  });
});

describe("rollback from SSO (Netcore)", () => {
  function capturingMailer(failFor: readonly string[] = []) {
    const sent: { to: string; subject: string; text: string }[] = [];
    const mailer: RollbackMailer = {
      async send(m) {
        if (failFor.includes(m.to)) throw new Error(`550 mailbox unavailable: ${m.to}`);
        sent.push(m);
      },
    };
    return { sent, mailer };
  }

  async function ssoAccount() {
    await settings({
      samlLogin: { admin: true, supervisor: true, agent: true, user: true },
      ssoEnforced: true,
      multiLogin: true,
    });
    const connection = await store.connections.create(
      {
        accountId: account.id,
        name: "Entra",
        active: true,
        idpEntityId: "https://sts.windows.net/t/",
        ssoUrl: "https://login.microsoftonline.com/t/saml2",
        sloUrl: null,
        certificates: [],
        spEntityId: "https://gatehouse.test/sp",
        acsUrl: "http://localhost:3000/api/auth/saml/callback",
        allowSha1: false,
        signRequests: false,
        requireSignedAssertion: false,
        requireSignedResponse: false,
        metadataUrl: null,
      },
      now,
    );
    const alice = await addUser("alice", { passwordHash: null });
    const bob = await addUser("bob");
    const carol = await addUser("carol", { disabled: true });
    return { connection, alice, bob, carol };
  }

  const temporaryOf = (text: string) => /Temporary password: (\S+)/.exec(text)?.[1] ?? "";

  it("turns SSO off, deactivates connections, mails temporary passwords, survives a failing mail", async () => {
    const { connection, alice, bob, carol } = await ssoAccount();
    const bobHash = (await store.users.get(bob.id))!.passwordHash;
    const { sent, mailer } = capturingMailer(["bob@contoso.com"]);
    const result = await rollbackSso(
      store,
      mailer,
      account.id,
      { actor: "admin-api", ip: IP },
      now,
      "https://sso.example.com/login",
    );

    const after = (await store.accounts.get(account.id))!;
    assert.deepEqual(after.settings.samlLogin, {
      admin: false,
      supervisor: false,
      agent: false,
      user: false,
    });
    assert.equal(after.settings.ssoEnforced, false);
    assert.equal((await store.connections.get(connection.id))?.active, false);
    assert.equal(result.connectionsDeactivated, 1);

    assert.equal(result.complete, false);
    assert.deepEqual(
      result.users.map((u) => [u.username, u.outcome]),
      [
        ["alice", "mailed"],
        ["bob", "mail_failed"],
      ],
      "the disabled user is left alone",
    );
    assert.match(result.users[1]?.error ?? "", /550 mailbox unavailable/);

    assert.equal(sent.length, 1);
    const mail = sent[0]!;
    assert.equal(mail.to, "alice@contoso.com");
    assert.match(mail.subject, /Contoso Ltd/);
    assert.match(mail.text, /SSO has been turned off for Contoso Ltd\./);
    assert.match(mail.text, /must change this temporary password at your next login/);
    assert.match(mail.text, /https:\/\/sso\.example\.com\/login/);
    const temporary = temporaryOf(mail.text);
    assert.match(temporary, /^[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){3}$/);

    const aliceNow = (await store.users.get(alice.id))!;
    assert.equal(aliceNow.mustChangePassword, true);
    assert.ok(await verifyPassword(temporary, aliceNow.passwordHash!));
    // Bob's mail failed: nothing changed for him, his own password still works.
    const bobNow = (await store.users.get(bob.id))!;
    assert.equal(bobNow.passwordHash, bobHash);
    assert.equal(bobNow.mustChangePassword, false);
    assert.equal((await store.users.get(carol.id))?.mustChangePassword, false);

    const [rollback] = await store.audit.query({ type: "admin.sso.rollback" });
    assert.equal(rollback?.actor, "admin-api");
    assert.deepEqual(rollback?.detail.connectionsDeactivated, [connection.id]);
    const perUser = await store.audit.query({ type: "admin.sso.rollback.user" });
    assert.deepEqual(
      perUser.map((e) => [e.userId, e.outcome, e.reason]).sort(),
      [
        [alice.id, "success", "mailed"],
        [bob.id, "failure", "mail_failed"],
      ].sort(),
    );

    // The user signs in with the mailed password and must change it.
    const step = await login("alice", temporary);
    assert.equal(step.kind, "change_password");

    // Retry for bob once his mailbox works.
    const retry = capturingMailer();
    const again = await rollbackSso(
      store,
      retry.mailer,
      account.id,
      { actor: "admin-api" },
      now,
      "https://sso.example.com/login",
      {
        onlyUserIds: [bob.id],
      },
    );
    assert.equal(again.complete, true);
    assert.deepEqual(
      retry.sent.map((m) => m.to),
      ["bob@contoso.com"],
    );
    assert.equal((await login("bob", temporaryOf(retry.sent[0]!.text))).kind, "change_password");
  });

  it("keeps the subject on one line whatever the display name", async () => {
    await ssoAccount();
    account = await store.accounts.update(
      account.id,
      { displayName: "Contoso\r\nBcc: x@evil.test" },
      now,
    );
    const { sent, mailer } = capturingMailer();
    await rollbackSso(
      store,
      mailer,
      account.id,
      { actor: "cli" },
      now,
      "https://sso.example.com/login",
    );
    assert.equal(sent[0]?.subject, "SSO has been turned off for Contoso Bcc: x@evil.test");
  });

  it("refuses an unknown account", async () => {
    await assert.rejects(
      rollbackSso(store, capturingMailer().mailer, "acc_nope", { actor: "cli" }, now, "x"),
      { name: "AdminError", status: 404 },
    );
  });
});

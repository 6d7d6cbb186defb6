/**
 * Password login, with an optional TOTP second factor and a forced password change, in the
 * steps the login pages walk through: password → (code) → (new password) → signed in.
 *
 * What it refuses, in order:
 * - more than IP_ATTEMPT_LIMIT attempts from one address in IP_WINDOW_SECONDS (a spray across
 *   many usernames);
 * - a username that failed USERNAME_FAILURE_LIMIT times in the current USERNAME_WINDOW_SECONDS
 *   window: it stays locked for the rest of that window (guessing one user's password or code);
 * - wrong credentials: one message whether the user exists or not, and the same scrypt work
 *   (a dummy hash is verified when there is no user or no password), so neither the page nor its
 *   timing says which usernames exist;
 * - a disabled user, once the password is right;
 * - any user of an account with SSO enforced, except a break-glass admin (Netcore: "Once SSO is
 *   enabled ... email/password and 2FA are disabled"). On such an account every refused
 *   attempt shows the SSO message, right password or not, so the page is no password oracle.
 *
 * Every attempt, refused or not, is an audit event ("login.password", or
 * "login.password.break_glass" when a break-glass admin uses the way around SSO) whose
 * reference the page shows. Steps between pages are short-lived single-use tickets: only their
 * SHA-256 is stored, and each step consumes its ticket atomically.
 */

import { audit } from "./audit.ts";
import type { LoginMessageKey } from "./messages.ts";
import type { Account, User } from "./model.ts";
import { hashPassword, verifyPassword } from "./passwords.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import { type Store, StoreConflictError } from "./store.ts";
import { checkTotp } from "./totp.ts";

/** Failures (wrong password or code, refused user) per username before it is locked. */
export const USERNAME_FAILURE_LIMIT = 5;
export const USERNAME_WINDOW_SECONDS = 15 * 60;
/** Attempts per client address (password and code steps alike), whatever the username. */
export const IP_ATTEMPT_LIMIT = 50;
export const IP_WINDOW_SECONDS = 15 * 60;
/** How long the code and new-password steps stay open after the password step. */
export const LOGIN_TICKET_TTL_MS = 5 * 60_000;
export const MIN_PASSWORD_LENGTH = 12;
/** Longer inputs are refused before hashing (scrypt's cost grows with the input). */
export const MAX_PASSWORD_LENGTH = 1024;
const MAX_IDENTIFIER_LENGTH = 320;

export const TOTP_TICKET = "login.totp";
export const CHANGE_PASSWORD_TICKET = "login.change_password";
const LOCKOUT_MARK = "login.lockout";

/**
 * The hash of a password nobody knows, verified when there is no user (or no password) so a
 * wrong username costs the same scrypt work as a wrong password. A constant: no module state.
 */
const DUMMY_HASH =
  "scrypt$32768$8$1$5SzqYc62DGyFtbteiTH8GA==$4ryIdqEZ2ytLe2Ns6CeeGa7bkZuM1Ru89HYlY0L3d9U=";

export type PasswordRefusalReason =
  | "account_name_missing"
  | "account_unknown"
  | "unknown_user"
  | "email_ambiguous"
  | "no_password"
  | "wrong_password"
  | "user_disabled"
  | "sso_enforced"
  | "locked_out"
  | "ip_rate_limited"
  | "bad_totp"
  | "totp_replayed"
  | "ticket_expired"
  | "password_too_short"
  | "password_mismatch"
  | "password_reused";

export interface LoginRefusal {
  readonly message: LoginMessageKey;
  readonly reason: PasswordRefusalReason;
  /** The audit event's reference, for the page. */
  readonly reference: string;
}

export type LoginStep =
  | {
      readonly kind: "signed_in";
      readonly user: User;
      readonly account: Account;
      readonly mfa: boolean;
      readonly breakGlass: boolean;
    }
  /** Password right; the TOTP code is next (again, with `refusal`, after a wrong code). */
  | { readonly kind: "totp"; readonly ticket: string; readonly refusal?: LoginRefusal }
  /** Credentials right; the user must choose a new password before any session. */
  | {
      readonly kind: "change_password";
      readonly ticket: string;
      readonly user: User;
      readonly refusal?: LoginRefusal;
    }
  | { readonly kind: "refused"; readonly refusal: LoginRefusal };

export interface PasswordAttempt {
  /** The "Account name" field; undefined or blank when the login page did not ask for it. */
  readonly accountName: string | undefined;
  /** Username or email. */
  readonly identifier: string;
  readonly password: string;
  readonly ip: string | null;
}

interface TicketPayload {
  readonly userId: string;
  readonly accountId: string;
  readonly mfa?: boolean;
}

/** The password step. */
export async function passwordLogin(
  store: Store,
  attempt: PasswordAttempt,
  now: Date,
): Promise<LoginStep> {
  const ip = attempt.ip;
  const identifier = attempt.identifier.trim();
  const base = { ip, now, detail: { identifier: identifier.slice(0, MAX_IDENTIFIER_LENGTH) } };

  if (await ipLimited(store, ip, now))
    return refuse(store, { ...base, message: "locked_out", reason: "ip_rate_limited" });

  const account = await resolveAccount(store, attempt.accountName);
  if (account === "missing") {
    return refuse(store, {
      ...base,
      message: "account_name_missing",
      reason: "account_name_missing",
    });
  }
  if (account === undefined) {
    await verifyPassword(attempt.password.slice(0, MAX_PASSWORD_LENGTH), DUMMY_HASH);
    return refuse(store, {
      ...base,
      message: "bad_credentials",
      reason: "account_unknown",
      detail: { ...base.detail, accountName: attempt.accountName },
    });
  }

  const found =
    identifier.length > 0 && identifier.length <= MAX_IDENTIFIER_LENGTH
      ? await findUser(store, account, identifier)
      : { user: undefined, ambiguous: false };
  const user = found.user;
  const lockKey = user === undefined ? nameKey(account, identifier) : userKey(user);
  const ctx = {
    ...base,
    account,
    user,
    breakGlass: user !== undefined && isBreakGlass(account, user),
  };

  if (await isLocked(store, lockKey, now))
    return refuse(store, { ...ctx, message: "locked_out", reason: "locked_out" });

  // The same scrypt work on every path: the user's hash, or the dummy one.
  const password = attempt.password.length <= MAX_PASSWORD_LENGTH ? attempt.password : "";
  const hash = user?.passwordHash ?? DUMMY_HASH;
  const correct =
    (await verifyPassword(password, hash)) &&
    user?.passwordHash != null &&
    attempt.password.length <= MAX_PASSWORD_LENGTH;

  const enforced = account.settings.ssoEnforced;
  let reason: PasswordRefusalReason | undefined;
  if (!correct) {
    reason =
      user === undefined
        ? found.ambiguous
          ? "email_ambiguous"
          : "unknown_user"
        : user.passwordHash === null
          ? "no_password"
          : "wrong_password";
  } else reason = gate(account, user!);
  if (reason !== undefined) {
    await countFailure(store, lockKey, now);
    // On an SSO-only account the page says so for every refusal but the disabled user (who
    // proved the password): no oracle for passwords or break-glass usernames there.
    const message: LoginMessageKey =
      reason === "user_disabled" ? "user_disabled" : enforced ? "sso_enforced" : "bad_credentials";
    return refuse(store, { ...ctx, message, reason });
  }
  return credentialsProven(store, account, user!, false, ip, now);
}

/** The code step: `ticket` is the one the password step handed out. */
export async function totpLogin(
  store: Store,
  ticket: string,
  code: string,
  ip: string | null,
  now: Date,
): Promise<LoginStep> {
  if (await ipLimited(store, ip, now))
    return refuse(store, { ip, now, message: "locked_out", reason: "ip_rate_limited" });
  const token = await store.tokens.consume(hashSecret(ticket), TOTP_TICKET, now);
  const loaded = token === undefined ? undefined : await load(store, token.payload);
  if (loaded === undefined)
    return refuse(store, { ip, now, message: "session_expired", reason: "ticket_expired" });
  const { account, user } = loaded;
  const ctx = { ip, now, account, user, breakGlass: isBreakGlass(account, user) };
  const lockKey = userKey(user);
  if (await isLocked(store, lockKey, now))
    return refuse(store, { ...ctx, message: "locked_out", reason: "locked_out" });
  const gated = gate(account, user);
  if (gated !== undefined) {
    return refuse(store, {
      ...ctx,
      message: gated === "user_disabled" ? "user_disabled" : "sso_enforced",
      reason: gated,
    });
  }
  // The admin removed the second factor since the password step: the password is what counts.
  if (user.totpSecret === null) return credentialsProven(store, account, user, false, ip, now);
  const check = await checkTotp(store, user.id, user.totpSecret, code, now);
  if (check === "accepted") return credentialsProven(store, account, user, true, ip, now);

  const count = await countFailure(store, lockKey, now);
  const reason = check === "replayed" ? "totp_replayed" : "bad_totp";
  if (count >= USERNAME_FAILURE_LIMIT)
    return refuse(store, {
      ...ctx,
      message: "locked_out",
      reason: "locked_out",
      detail: { after: reason },
    });
  const refused = await refuse(store, { ...ctx, message: "bad_totp", reason });
  // Another try on a fresh ticket; the failure counter bounds how many.
  return {
    kind: "totp",
    ticket: await putTicket(store, TOTP_TICKET, { userId: user.id, accountId: account.id }, now),
    refusal: refused.refusal,
  };
}

/**
 * The new-password step. The ticket is read first and consumed only once the new password is
 * acceptable, so a typo costs no second password entry; the consume is what makes it single-use.
 */
export async function changePasswordLogin(
  store: Store,
  ticket: string,
  input: { readonly password: string; readonly confirm: string },
  ip: string | null,
  now: Date,
): Promise<LoginStep> {
  const hash = hashSecret(ticket);
  const peeked = await store.tokens.peek(hash, CHANGE_PASSWORD_TICKET, now);
  const loaded = peeked === undefined ? undefined : await load(store, peeked.payload);
  if (loaded === undefined)
    return refuse(store, { ip, now, message: "session_expired", reason: "ticket_expired" });
  const { account, user } = loaded;
  const ctx = { ip, now, account, user, breakGlass: isBreakGlass(account, user) };
  const gated = gate(account, user);
  if (gated !== undefined) {
    await store.tokens.revoke(hash);
    return refuse(store, {
      ...ctx,
      message: gated === "user_disabled" ? "user_disabled" : "sso_enforced",
      reason: gated,
    });
  }
  const problem = await newPasswordProblem(input, user);
  if (problem !== undefined) {
    const refused = await refuse(store, {
      ...ctx,
      type: "login.password.change",
      message: problem,
      reason: problem,
    });
    return { kind: "change_password", ticket, user, refusal: refused.refusal };
  }
  const token = await store.tokens.consume(hash, CHANGE_PASSWORD_TICKET, now);
  if (token === undefined)
    return refuse(store, { ...ctx, message: "session_expired", reason: "ticket_expired" });
  const updated = await store.users.update(
    user.id,
    { passwordHash: await hashPassword(input.password), mustChangePassword: false },
    now,
  );
  await audit(
    store,
    {
      type: "login.password.change",
      outcome: "success",
      reason: "must_change_password",
      accountId: account.id,
      userId: user.id,
      actor: `user:${user.id}`,
      ip,
    },
    now,
  );
  return signedIn(store, account, updated, token.payload.mfa === true, ip, now);
}

async function newPasswordProblem(
  input: { readonly password: string; readonly confirm: string },
  user: User,
): Promise<(PasswordRefusalReason & LoginMessageKey) | undefined> {
  const length = [...input.password].length;
  if (length < MIN_PASSWORD_LENGTH || input.password.length > MAX_PASSWORD_LENGTH)
    return "password_too_short";
  if (input.password !== input.confirm) return "password_mismatch";
  if (user.passwordHash !== null && (await verifyPassword(input.password, user.passwordHash)))
    return "password_reused";
  return undefined;
}

/** Password (and code, if any) are right: the username counter starts over. */
async function credentialsProven(
  store: Store,
  account: Account,
  user: User,
  mfa: boolean,
  ip: string | null,
  now: Date,
): Promise<LoginStep> {
  await store.counters.reset(userKey(user));
  if (!mfa && user.totpSecret !== null) {
    return {
      kind: "totp",
      ticket: await putTicket(store, TOTP_TICKET, { userId: user.id, accountId: account.id }, now),
    };
  }
  if (user.mustChangePassword) {
    const payload = { userId: user.id, accountId: account.id, mfa };
    return {
      kind: "change_password",
      ticket: await putTicket(store, CHANGE_PASSWORD_TICKET, payload, now),
      user,
    };
  }
  return signedIn(store, account, user, mfa, ip, now);
}

async function signedIn(
  store: Store,
  account: Account,
  user: User,
  mfa: boolean,
  ip: string | null,
  now: Date,
): Promise<LoginStep> {
  const breakGlass = isBreakGlass(account, user);
  await audit(
    store,
    {
      type: breakGlass ? "login.password.break_glass" : "login.password",
      outcome: "success",
      reason: breakGlass ? "break_glass" : mfa ? "password_totp" : "password",
      accountId: account.id,
      userId: user.id,
      actor: `user:${user.id}`,
      ip,
      detail: { mfa, ...(breakGlass ? { ssoEnforced: true } : {}) },
    },
    now,
  );
  return { kind: "signed_in", user, account, mfa, breakGlass };
}

/** Why this user may not sign in with a password now, if they may not. */
function gate(account: Account, user: User): PasswordRefusalReason | undefined {
  if (user.disabled) return "user_disabled";
  if (account.settings.ssoEnforced && !isBreakGlass(account, user)) return "sso_enforced";
  return undefined;
}

/** A break-glass admin on an account with SSO enforced: the one way around it. */
function isBreakGlass(account: Account, user: User): boolean {
  return account.settings.ssoEnforced && user.role === "admin" && user.breakGlass;
}

async function resolveAccount(
  store: Store,
  accountName: string | undefined,
): Promise<Account | undefined | "missing"> {
  const name = accountName?.trim() ?? "";
  if (name !== "") return name.length > 63 ? undefined : store.accounts.byName(name);
  // With one account the name is implied (the login page does not ask for it).
  const accounts = await store.accounts.list();
  return accounts.length === 1 ? accounts[0] : "missing";
}

async function findUser(
  store: Store,
  account: Account,
  identifier: string,
): Promise<{ user: User | undefined; ambiguous: boolean }> {
  const byName = await store.users.byUsername(account.id, identifier);
  if (byName !== undefined) return { user: byName, ambiguous: false };
  if (!identifier.includes("@")) return { user: undefined, ambiguous: false };
  const byEmail = await store.users.byEmail(
    account.id,
    identifier,
    account.settings.emailCaseInsensitive,
  );
  // Several users share this email (multi-login profiles): only the username tells them apart.
  if (byEmail.length !== 1) return { user: undefined, ambiguous: byEmail.length > 1 };
  return { user: byEmail[0], ambiguous: false };
}

async function load(
  store: Store,
  payload: Readonly<Record<string, unknown>>,
): Promise<{ account: Account; user: User } | undefined> {
  const p = payload as Partial<TicketPayload>;
  if (typeof p.userId !== "string" || typeof p.accountId !== "string") return undefined;
  const user = await store.users.get(p.userId);
  const account = await store.accounts.get(p.accountId);
  if (user === undefined || account === undefined || user.accountId !== account.id)
    return undefined;
  return { account, user };
}

async function putTicket(
  store: Store,
  kind: string,
  payload: TicketPayload,
  now: Date,
): Promise<string> {
  const ticket = newSecret();
  await store.tokens.put({
    hash: hashSecret(ticket),
    kind,
    payload: { ...payload },
    createdAt: now,
    expiresAt: new Date(now.getTime() + LOGIN_TICKET_TTL_MS),
  });
  return ticket;
}

// Counters: a known user is counted by ID (username and email share one budget); an unknown
// name by what was typed, so unknown and known names lock alike and reveal nothing.
function userKey(user: User): string {
  return `pw:user:${user.accountId}:${user.id}`;
}

function nameKey(account: Account, identifier: string): string {
  return `pw:name:${account.id}:${hashSecret(identifier.toLowerCase())}`;
}

async function ipLimited(store: Store, ip: string | null, now: Date): Promise<boolean> {
  const count = await store.counters.hit(`pw:ip:${ip ?? "unknown"}`, IP_WINDOW_SECONDS, now);
  return count > IP_ATTEMPT_LIMIT;
}

/**
 * A lock is a token that lives until the end of the counter's window. counters.hit counts in
 * fixed windows (the window containing `now`, windows aligned on multiples of their length), so
 * the lock ends exactly when the count starts over. The lock is checked without counting, so a
 * locked username's attempts do not extend it.
 */
function lockHash(key: string): string {
  return hashSecret(`lock:${key}`);
}

async function isLocked(store: Store, key: string, now: Date): Promise<boolean> {
  return (await store.tokens.peek(lockHash(key), LOCKOUT_MARK, now)) !== undefined;
}

async function countFailure(store: Store, key: string, now: Date): Promise<number> {
  const count = await store.counters.hit(key, USERNAME_WINDOW_SECONDS, now);
  if (count >= USERNAME_FAILURE_LIMIT) {
    const windowMs = USERNAME_WINDOW_SECONDS * 1000;
    const end = Math.floor(now.getTime() / windowMs) * windowMs + windowMs;
    // An expired lock of an earlier window may not be swept yet: clear it, then lock. Whatever
    // the interleaving with a concurrent failure, each put follows its own revoke, so a lock
    // stands at the end.
    await store.tokens.revoke(lockHash(key));
    try {
      await store.tokens.put({
        hash: lockHash(key),
        kind: LOCKOUT_MARK,
        payload: {},
        createdAt: now,
        expiresAt: new Date(end),
      });
    } catch (e) {
      // A concurrent failure locked it first.
      if (!(e instanceof StoreConflictError)) throw e;
    }
  }
  return count;
}

async function refuse(
  store: Store,
  r: {
    readonly message: LoginMessageKey;
    readonly reason: PasswordRefusalReason;
    readonly ip: string | null;
    readonly now: Date;
    readonly type?: string;
    readonly account?: Account | undefined;
    readonly user?: User | undefined;
    readonly breakGlass?: boolean;
    readonly detail?: Readonly<Record<string, unknown>>;
  },
): Promise<{ kind: "refused"; refusal: LoginRefusal }> {
  const event = await audit(
    store,
    {
      type: r.type ?? (r.breakGlass === true ? "login.password.break_glass" : "login.password"),
      outcome: "failure",
      reason: r.reason,
      accountId: r.account?.id ?? null,
      userId: r.user?.id ?? null,
      actor: "anonymous",
      ip: r.ip,
      detail: r.detail ?? {},
    },
    r.now,
  );
  return {
    kind: "refused",
    refusal: { message: r.message, reason: r.reason, reference: event.reference },
  };
}

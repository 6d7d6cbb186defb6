/**
 * From a verified SAML login to the app user(s) it may sign in as: the email to match on (which
 * claim, per account), the IdP's stable subject (identity bindings), multi-login (XCALLY 3.51),
 * the duplicate-user refusal (Netcore), and optional just-in-time creation.
 */

import type { VerifiedResponse } from "../saml/response.ts";
import type { Account, Connection, Role, User } from "./model.ts";
import { type Store, StoreConflictError } from "./store.ts";

export const CLAIM_NAME = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name";
export const CLAIM_TENANTID = "http://schemas.microsoft.com/identity/claims/tenantid";
export const CLAIM_OBJECTID = "http://schemas.microsoft.com/identity/claims/objectidentifier";
const PERSISTENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent";
/** A binding's lastUsedAt is rewritten at most this often (as a session's idle timeout is). */
const BINDING_TOUCH_INTERVAL_MS = 60_000;

/** The claims the domain reads: a verified response's, or a test login's. */
export type Claims = Pick<VerifiedResponse, "nameId" | "nameIdFormat" | "attributes" | "email">;

export interface EmailReading {
  readonly email: string | undefined;
  /** Which claim was read, for the audit log and the test-SSO page. */
  readonly source: string;
}

/** The email the account matches users on, from the claim its settings name. */
export function readEmail(claims: Claims, account: Account): EmailReading {
  const src = account.settings.emailSource;
  if (src === "emailaddress") {
    return {
      email: nonEmpty(claims.email),
      source: "emailaddress claim (else NameID in emailAddress format)",
    };
  }
  if (src === "nameid") return { email: nonEmpty(claims.nameId), source: "NameID" };
  if (src === "name")
    return { email: nonEmpty(claims.attributes[CLAIM_NAME]?.[0]), source: "name claim (UPN)" };
  const uri = src.slice("attribute:".length);
  return { email: nonEmpty(claims.attributes[uri]?.[0]), source: `attribute ${uri}` };
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/**
 * The IdP's immutable identifier for the person: Entra's tenant + object ID, else a persistent
 * NameID. Emails and UPNs change; this does not.
 */
export function stableSubject(claims: Claims): string | undefined {
  const tenant = claims.attributes[CLAIM_TENANTID]?.[0];
  const oid = claims.attributes[CLAIM_OBJECTID]?.[0];
  if (tenant !== undefined && oid !== undefined && tenant !== "" && oid !== "")
    return `entra:${tenant}/${oid}`;
  if (claims.nameIdFormat === PERSISTENT) return `persistent:${claims.nameId}`;
  return undefined;
}

export type MatchOutcome =
  | {
      readonly kind: "single";
      readonly user: User;
      readonly via: "binding" | "email" | "sso_id" | "jit";
    }
  | { readonly kind: "choose"; readonly users: readonly User[] }
  | {
      readonly kind: "refused";
      readonly reason: MatchRefusal;
      readonly detail: Readonly<Record<string, unknown>>;
    };

export type MatchRefusal =
  | "email_claim_missing"
  | "no_matching_user"
  | "duplicate_users"
  | "user_disabled"
  | "role_not_enabled"
  | "multi_login_claim_missing";

/**
 * What a login would do, decided from reads only: the outcome, and the writes the real login
 * makes on top (an identity binding remembered, a binding's last use, a just-in-time user).
 * matchUsers applies them; Test SSO shows them without making them.
 */
export type MatchPlan =
  | {
      readonly kind: "single";
      readonly user: User;
      readonly via: "binding" | "email" | "sso_id";
      /** The subject a first single match by email binds to the user. */
      readonly bind: string | undefined;
      /** The binding whose lastUsedAt the login rewrites. */
      readonly touch: string | undefined;
    }
  | {
      readonly kind: "jit";
      readonly email: string;
      readonly role: Role;
      readonly bind: string | undefined;
    }
  | { readonly kind: "choose"; readonly users: readonly User[] }
  | {
      readonly kind: "refused";
      readonly reason: MatchRefusal;
      readonly detail: Readonly<Record<string, unknown>>;
    };

/** Which users this login may become, without writing anything (Test SSO's preview). */
export async function planMatch(
  store: Store,
  account: Account,
  connection: Connection,
  claims: Claims,
  now: Date,
): Promise<MatchPlan> {
  const s = account.settings;
  const reading = readEmail(claims, account);
  const subject = stableSubject(claims);
  const base = {
    emailRead: reading.email ?? null,
    emailSource: reading.source,
    subject: subject ?? null,
  };
  const enabled = (u: User): boolean => s.samlLogin[u.role];

  if (s.multiLogin) {
    let candidates: User[];
    if (s.multiLoginClaim !== null) {
      const key = claimValue(claims, s.multiLoginClaim);
      if (key === undefined)
        return refused("multi_login_claim_missing", { ...base, claim: s.multiLoginClaim });
      candidates = await store.users.bySsoId(account.id, key);
    } else {
      if (reading.email === undefined) return refused("email_claim_missing", base);
      candidates = await store.users.byEmail(account.id, reading.email, s.emailCaseInsensitive);
    }
    return decide(candidates, enabled, base, true, undefined);
  }

  if (subject !== undefined) {
    const binding = await store.bindings.find(connection.id, subject);
    if (binding !== undefined) {
      const user = await store.users.get(binding.userId);
      if (user !== undefined && user.accountId === account.id) {
        if (user.disabled) return refused("user_disabled", { ...base, userId: user.id });
        if (!enabled(user))
          return refused("role_not_enabled", { ...base, userId: user.id, role: user.role });
        // Last use, to the minute (the admin's view of bindings): not a write on every login.
        const stale = now.getTime() - binding.lastUsedAt.getTime() >= BINDING_TOUCH_INTERVAL_MS;
        return {
          kind: "single",
          user,
          via: "binding",
          bind: undefined,
          touch: stale ? binding.id : undefined,
        };
      }
    }
  }

  if (reading.email === undefined) return refused("email_claim_missing", base);
  const candidates = await store.users.byEmail(account.id, reading.email, s.emailCaseInsensitive);
  if (candidates.length === 0 && s.jitRole !== null)
    return { kind: "jit", email: reading.email, role: s.jitRole, bind: subject };
  return decide(candidates, enabled, base, false, subject);
}

/** Which users this login may become. Creates the identity binding on a first single match. */
export async function matchUsers(
  store: Store,
  account: Account,
  connection: Connection,
  claims: Claims,
  now: Date,
): Promise<MatchOutcome> {
  const plan = await planMatch(store, account, connection, claims, now);
  switch (plan.kind) {
    case "single":
      if (plan.touch !== undefined) await store.bindings.touch(plan.touch, now);
      if (plan.bind !== undefined) await bind(store, plan.user.id, connection.id, plan.bind, now);
      return { kind: "single", user: plan.user, via: plan.via };
    case "jit": {
      const user = await createJitUser(store, account, plan.email, plan.role, now);
      if (plan.bind !== undefined) await bind(store, user.id, connection.id, plan.bind, now);
      return { kind: "single", user, via: "jit" };
    }
    default:
      return plan;
  }
}

/**
 * Remembers the subject for the user. Two logins of one person at once (a double submit, two
 * tabs) race here: the loser finds the binding made, which is the same outcome.
 */
async function bind(
  store: Store,
  userId: string,
  connectionId: string,
  subject: string,
  now: Date,
): Promise<void> {
  try {
    await store.bindings.create({ userId, connectionId, subject }, now);
  } catch (e) {
    if (!(e instanceof StoreConflictError)) throw e;
  }
}

function decide(
  candidates: readonly User[],
  enabled: (u: User) => boolean,
  base: Record<string, unknown>,
  multiLogin: boolean,
  subject: string | undefined,
): MatchPlan {
  const live = candidates.filter((u) => !u.disabled);
  if (candidates.length > 0 && live.length === 0) {
    return refused("user_disabled", { ...base, userIds: candidates.map((u) => u.id) });
  }
  if (live.length === 0) return refused("no_matching_user", base);
  const allowed = live.filter(enabled);
  if (allowed.length === 0) {
    return refused("role_not_enabled", { ...base, roles: live.map((u) => u.role) });
  }
  if (allowed.length === 1) {
    // Multi-login never binds: one IdP identity stands for several users by design.
    return {
      kind: "single",
      user: allowed[0]!,
      via: multiLogin ? "sso_id" : "email",
      bind: multiLogin ? undefined : subject,
      touch: undefined,
    };
  }
  if (multiLogin) return { kind: "choose", users: allowed };
  return refused("duplicate_users", { ...base, usernames: allowed.map((u) => u.username) });
}

function refused(
  reason: MatchRefusal,
  detail: Record<string, unknown>,
): MatchPlan & MatchOutcome & { kind: "refused" } {
  return { kind: "refused", reason, detail };
}

/** A claim by full URI, or by short name (the last path segment: "ssoid" matches ".../ssoid"). */
export function claimValue(claims: Claims, name: string): string | undefined {
  if (name === "email") return claims.email;
  if (name === "nameid") return claims.nameId;
  const direct = claims.attributes[name]?.[0];
  if (direct !== undefined) return direct;
  for (const [uri, values] of Object.entries(claims.attributes)) {
    const short = uri.slice(uri.lastIndexOf("/") + 1);
    if (short.toLowerCase() === name.toLowerCase() && values[0] !== undefined) return values[0];
  }
  return undefined;
}

async function createJitUser(
  store: Store,
  account: Account,
  email: string,
  role: User["role"],
  now: Date,
): Promise<User> {
  const base = email.toLowerCase();
  for (let i = 1; ; i++) {
    const username = i === 1 ? base : `${base}#${i}`;
    try {
      return await store.users.create(
        {
          accountId: account.id,
          username,
          email,
          ssoId: null,
          role,
          passwordHash: null,
          totpSecret: null,
          breakGlass: false,
          mustChangePassword: false,
          disabled: false,
        },
        now,
      );
    } catch (e) {
      // Taken (also by a concurrent first login of the same person): the next free name, at most 20.
      if (!(e instanceof StoreConflictError) || i >= 20) throw e;
      const existing = await store.users.byEmail(account.id, email, true);
      if (existing.length === 1 && existing[0]!.username === username) return existing[0]!;
    }
  }
}

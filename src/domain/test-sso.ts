/**
 * Test SSO: a login through the connection, validated exactly as a real one, whose result is
 * shown instead of signing anyone in. What it adds to the real login: every claim received,
 * where the email was read from, what the real login would do (planMatch, which writes
 * nothing), and which claim to read the email from when the configured one matches nobody
 * (Aircall's UPN-versus-mail case). A success marks the connection tested (the SSO gate).
 */

import { audit } from "./audit.ts";
import { ssoEnabled } from "./discovery.ts";
import { diagnose, type Finding, type SpSide } from "./doctor.ts";
import { CLAIM_NAME, type Claims, type MatchPlan, planMatch, readEmail } from "./matching.ts";
import { type Account, type Connection, type EmailSource, ROLES, type Role } from "./model.ts";
import type { Store } from "./store.ts";

export const CLAIM_EMAILADDRESS =
  "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";

export interface EmailCandidate {
  readonly source: EmailSource;
  /** How the admin finds it: "emailaddress claim", "name claim (UPN)", "NameID"... */
  readonly label: string;
  readonly value: string;
  /** Usernames of the account's users with this email. */
  readonly users: readonly string[];
}

export interface TestPreview {
  readonly plan: MatchPlan;
  /** The account's settings had Login with SAML off for every role: shown as if all were on. */
  readonly assumedAllRoles: boolean;
  readonly emailSource: string;
  readonly email: string | undefined;
  /** Every claim that could carry the email, with the users each would match. */
  readonly candidates: readonly EmailCandidate[];
  /** What to change when the configured claim matches nobody and another would; else undefined. */
  readonly suggestion: string | undefined;
}

export async function previewTestLogin(
  store: Store,
  account: Account,
  connection: Connection,
  claims: Claims,
  now: Date,
): Promise<TestPreview> {
  // Before SSO is switched on (the setup flow) every role is off: preview the login as it will
  // be once it is on, and say so.
  const assumedAllRoles = !ssoEnabled(account);
  const effective: Account = assumedAllRoles
    ? {
        ...account,
        settings: {
          ...account.settings,
          samlLogin: Object.fromEntries(ROLES.map((r) => [r, true])) as Record<Role, boolean>,
        },
      }
    : account;
  const plan = await planMatch(store, effective, connection, claims, now);
  const reading = readEmail(claims, account);
  const candidates = await emailCandidates(store, account, claims);
  return {
    plan,
    assumedAllRoles,
    emailSource: reading.source,
    email: reading.email,
    candidates,
    suggestion: suggest(account.settings.emailSource, reading.email, plan, candidates),
  };
}

async function emailCandidates(
  store: Store,
  account: Account,
  claims: Claims,
): Promise<EmailCandidate[]> {
  const sources: { source: EmailSource; label: string; value: string | undefined }[] = [
    {
      source: "emailaddress",
      label: "emailaddress claim",
      value: claims.attributes[CLAIM_EMAILADDRESS]?.[0],
    },
    { source: "name", label: "name claim (UPN)", value: claims.attributes[CLAIM_NAME]?.[0] },
    { source: "nameid", label: "NameID", value: claims.nameId },
  ];
  const known = new Set([CLAIM_EMAILADDRESS, CLAIM_NAME]);
  for (const [uri, values] of Object.entries(claims.attributes)) {
    if (known.has(uri) || values[0] === undefined || !/^[^\s@]+@[^\s@]+$/.test(values[0])) continue;
    sources.push({ source: `attribute:${uri}`, label: `claim ${uri}`, value: values[0] });
  }
  const out: EmailCandidate[] = [];
  for (const s of sources) {
    if (s.value === undefined || s.value.trim() === "") continue;
    const users = await store.users.byEmail(
      account.id,
      s.value.trim(),
      account.settings.emailCaseInsensitive,
    );
    out.push({
      source: s.source,
      label: s.label,
      value: s.value.trim(),
      users: users.map((u) => u.username),
    });
  }
  return out;
}

function suggest(
  current: EmailSource,
  email: string | undefined,
  plan: MatchPlan,
  candidates: readonly EmailCandidate[],
): string | undefined {
  const missed =
    plan.kind === "refused" &&
    (plan.reason === "email_claim_missing" || plan.reason === "no_matching_user");
  if (!missed && plan.kind !== "jit") return undefined;
  const better = candidates.filter((c) => c.source !== current && c.users.length > 0);
  if (better.length === 0) return undefined;
  const first = better[0]!;
  const found =
    email === undefined
      ? "The configured email claim was not received"
      : `The configured email claim carries ${email}, which no user has`;
  const users = first.users.join(", ");
  if (first.source === "name" || first.source === "nameid") {
    // Aircall's fix: the app knows people by their UPN, Entra sends their mail.
    return `${found}, but the ${first.label} ${first.value} matches ${users}. Either read the email from the ${first.label} ("${first.source}": step 6 of the setup page, or the account's General Settings), or in Entra, Attributes & Claims, change the emailaddress claim's Source attribute to user.userprincipalname.`;
  }
  return `${found}, but the ${first.label} ${first.value} matches ${users}. Read the email from the ${first.label} ("${first.source}": step 6 of the setup page, or the account's General Settings).`;
}

/** What the real login would do, in a sentence. */
export function describePlan(plan: MatchPlan): string {
  switch (plan.kind) {
    case "single":
      return `Sign in as ${plan.user.username} (${plan.user.role})${plan.via === "binding" ? ", recognised by the IdP's object ID from an earlier sign-in" : ""}${plan.bind !== undefined ? "; the IdP's object ID would be remembered for this user" : ""}.`;
    case "jit":
      return `Create a new user ${plan.email} with role ${plan.role} (just-in-time creation) and sign them in.`;
    case "choose":
      return `Show the profile chooser with ${plan.users.map((u) => `${u.username} (${u.role})`).join(", ")}.`;
    case "refused":
      return REFUSALS[plan.reason];
  }
}

const REFUSALS: Record<Extract<MatchPlan, { kind: "refused" }>["reason"], string> = {
  email_claim_missing:
    'Refuse the sign-in: "This email is not configured for SSO." (the claim the email is read from was not received).',
  no_matching_user:
    'Refuse the sign-in: "This email is not configured for SSO." (no user of this account has that email).',
  duplicate_users:
    'Refuse the sign-in: "It seems that multiple user names are associated with this email ID." (several users share this email and multi-login is off).',
  user_disabled: "Refuse the sign-in: the user is disabled.",
  role_not_enabled:
    "Refuse the sign-in: Login with SAML is off for this user's role (General Settings).",
  multi_login_claim_missing: "Refuse the sign-in: the multi-login claim was not received.",
};

/** A successful test: the connection counts as tested (until its next change), audited. */
export async function recordTestSuccess(
  store: Store,
  connection: Connection,
  actor: string,
  ip: string | null,
  detail: Readonly<Record<string, unknown>>,
  now: Date,
): Promise<Connection> {
  const updated = await store.connections.update(connection.id, { testedAt: now }, now);
  await audit(
    store,
    {
      type: "sso.test",
      outcome: "success",
      accountId: connection.accountId,
      connectionId: connection.id,
      actor,
      ip,
      detail,
    },
    now,
  );
  return updated;
}

/** The latest failed sign-in through a connection (real or test), for the doctor. */
export async function latestFailure(store: Store, connection: Connection) {
  const [logins, tests] = await Promise.all([
    store.audit.query({ accountId: connection.accountId, type: "login.sso", limit: 50 }),
    store.audit.query({ accountId: connection.accountId, type: "sso.test", limit: 50 }),
  ]);
  const all = [...logins, ...tests]
    .filter((e) => e.connectionId === connection.id)
    .sort((a, b) => b.at.getTime() - a.at.getTime());
  // Only a failure newer than the last success is still worth explaining.
  const last = all[0];
  return last !== undefined && last.outcome === "failure" ? last : undefined;
}

/**
 * The doctor on a saved connection, as the setup page and the admin connection page show it:
 * with every other active connection (a shared Identifier) and the latest failed sign-in. A draft
 * (inactive) shares its Identifier with the live connection of its own account, by design.
 */
export async function checkConnection(
  store: Store,
  connection: Connection,
  sp: SpSide,
  now: Date,
): Promise<Finding[]> {
  const others = (await store.connections.listActive()).filter(
    (c) => c.id !== connection.id && (connection.active || c.accountId !== connection.accountId),
  );
  const lastFailure = await latestFailure(store, connection);
  return diagnose({
    connection,
    sp,
    otherConnections: others,
    ...(lastFailure === undefined ? {} : { lastFailure }),
    now,
  });
}

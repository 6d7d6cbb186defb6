/**
 * Server-side sessions: idle and absolute timeouts, never beyond the IdP's
 * SessionNotOnOrAfter, with the SAML NameID and SessionIndex kept for Single Logout.
 */

import type { LoginMethod, Session, User } from "./model.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import type { Store } from "./store.ts";

export interface SessionPolicy {
  readonly idleMinutes: number;
  readonly absoluteHours: number;
}

export interface SamlSessionFacts {
  readonly connectionId: string;
  readonly nameId: string;
  readonly nameIdFormat: string | null;
  readonly sessionIndex: string | null;
  /** The IdP's SessionNotOnOrAfter, if it set one. */
  readonly sessionNotOnOrAfter: Date | null;
}

export interface StartedSession {
  /** The bearer token for the cookie; only its hash is stored. */
  readonly token: string;
  readonly session: Session;
}

export async function startSession(
  store: Store,
  user: User,
  method: LoginMethod,
  mfa: boolean,
  saml: SamlSessionFacts | null,
  policy: SessionPolicy,
  now: Date,
): Promise<StartedSession> {
  const token = newSecret();
  let absolute = now.getTime() + policy.absoluteHours * 3_600_000;
  if (saml?.sessionNotOnOrAfter != null)
    absolute = Math.min(absolute, saml.sessionNotOnOrAfter.getTime());
  const idle = Math.min(now.getTime() + policy.idleMinutes * 60_000, absolute);
  const session = await store.sessions.create({
    id: hashSecret(token),
    userId: user.id,
    accountId: user.accountId,
    connectionId: saml?.connectionId ?? null,
    method,
    mfa,
    nameId: saml?.nameId ?? null,
    nameIdFormat: saml?.nameIdFormat ?? null,
    sessionIndex: saml?.sessionIndex ?? null,
    createdAt: now,
    lastSeenAt: now,
    idleExpiresAt: new Date(idle),
    absoluteExpiresAt: new Date(absolute),
  });
  return { token, session };
}

/** The live session for a cookie token, its idle timeout pushed forward; undefined otherwise. */
export async function resumeSession(
  store: Store,
  token: string,
  policy: SessionPolicy,
  now: Date,
): Promise<Session | undefined> {
  if (token.length < 20 || token.length > 100) return undefined;
  const session = await store.sessions.getLive(hashSecret(token), now);
  if (session === undefined) return undefined;
  const idle = new Date(
    Math.min(now.getTime() + policy.idleMinutes * 60_000, session.absoluteExpiresAt.getTime()),
  );
  // Write at most once a minute: the session row is read on every request.
  if (idle.getTime() - session.idleExpiresAt.getTime() > 60_000)
    await store.sessions.touch(session.id, now, idle);
  return session;
}

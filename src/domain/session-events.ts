/**
 * "A Gatehouse session ended": one seam for every way it happens (local logout, IdP-initiated
 * SAML logout, an admin disabling the user, expiry found by the periodic sweep...). The store every route and domain function uses
 * is wrapped once so that each sessions.end* call reports the sessions it ended; subscribers
 * (the OpenID Provider telling the apps, issue 4) never need a call sprinkled at each site.
 */

import type { Session } from "./model.ts";
import type { Store } from "./store.ts";

export interface EndedSession {
  readonly id: string;
  readonly userId: string | null;
  readonly reason: string;
}

export type SessionEndListener = (ended: readonly EndedSession[]) => Promise<void>;

export class SessionEndListeners {
  private readonly listeners: SessionEndListener[] = [];

  subscribe(listener: SessionEndListener): void {
    this.listeners.push(listener);
  }

  /** Runs every listener; one failing does not stop the others nor the caller's logout. */
  async publish(ended: readonly EndedSession[], onError: (e: unknown) => void): Promise<void> {
    if (ended.length === 0) return;
    await Promise.all(this.listeners.map((l) => l(ended).catch(onError)));
  }
}

/** The store with sessions.end* reporting to `listeners` after the sessions have ended. */
export function observeSessionEnds(
  store: Store,
  listeners: SessionEndListeners,
  onError: (e: unknown) => void,
): Store {
  const s = store.sessions;
  const many = (sessions: Session[], reason: string) =>
    listeners.publish(
      sessions.map((x) => ({ id: x.id, userId: x.userId, reason })),
      onError,
    );
  const sessions: Store["sessions"] = {
    ...s,
    async end(id, now, reason) {
      const ended = await s.end(id, now, reason);
      if (ended) await listeners.publish([{ id, userId: null, reason }], onError);
      return ended;
    },
    async endBySessionIndex(connectionId, indexes, now, reason) {
      const ended = await s.endBySessionIndex(connectionId, indexes, now, reason);
      await many(ended, reason);
      return ended;
    },
    async endByNameId(connectionId, nameId, now, reason) {
      const ended = await s.endByNameId(connectionId, nameId, now, reason);
      await many(ended, reason);
      return ended;
    },
    async endForUser(userId, now, reason) {
      const ended = await s.endForUser(userId, now, reason);
      await many(ended, reason);
      return ended;
    },
    async endExpired(now) {
      const ended = await s.endExpired(now);
      await listeners.publish(
        ended.map((x) => ({ id: x.id, userId: x.userId, reason: x.endReason ?? "expired" })),
        onError,
      );
      return ended;
    },
  };
  return Object.freeze({ ...store, sessions });
}

/**
 * The periodic sweep: sessions that expired since the last one end (reported through `store`,
 * so the apps are told, when it is the observed store), then expired records are deleted.
 */
export async function sweepExpired(store: Store, now: Date): Promise<Session[]> {
  const expired = await store.sessions.endExpired(now);
  await store.sweep(now);
  return expired;
}

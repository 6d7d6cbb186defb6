/**
 * Setup links: an admin hands a customer's IT admin one URL that lets them connect their IdP to
 * one account, without a Gatehouse login. The token in the link is the credential (256 random
 * bits); only its SHA-256 is kept, as a store token of kind "setup-link". Links expire (72 hours
 * by default, a week at most) and can be revoked; creation, use and revocation are audited, and
 * the audit trail is also where the admin's list of links comes from.
 */

import { type Actor, AdminError, requireAccount } from "./admin.ts";
import { audit } from "./audit.ts";
import type { Account } from "./model.ts";
import { hashSecret, newSecret } from "./secrets.ts";
import type { Store } from "./store.ts";

export const SETUP_LINK_KIND = "setup-link";
export const SETUP_LINK_DEFAULT_HOURS = 72;
export const SETUP_LINK_MAX_HOURS = 168;
const HOUR_MS = 3_600_000;
/** Opening the setup page is audited at most once per link in this window. */
const OPEN_AUDIT_WINDOW_SECONDS = 3600;
/** The most create (and revoke) events one listing or one dead-link lookup reads. */
const LIST_LIMIT = 500;

export interface SetupLinkInfo {
  /** The SHA-256 of the token: safe to show and to revoke by, useless to open the page. */
  readonly id: string;
  readonly accountId: string;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly status: "active" | "expired" | "revoked";
}

export interface SetupLinkPayload {
  readonly accountId: string;
  readonly createdBy: string;
}

export async function createSetupLink(
  store: Store,
  accountIdOrName: string,
  input: { expiresInHours?: number },
  who: Actor,
  now: Date,
): Promise<{ token: string; link: SetupLinkInfo }> {
  const account = await requireAccount(store, accountIdOrName);
  const hours = input.expiresInHours ?? SETUP_LINK_DEFAULT_HOURS;
  if (!Number.isInteger(hours) || hours < 1 || hours > SETUP_LINK_MAX_HOURS)
    throw new AdminError(
      "expiresInHours",
      `expiresInHours is a whole number of hours from 1 to ${SETUP_LINK_MAX_HOURS} (a week).`,
    );
  const token = newSecret();
  const id = hashSecret(token);
  const expiresAt = new Date(now.getTime() + hours * HOUR_MS);
  const payload: SetupLinkPayload = { accountId: account.id, createdBy: who.actor };
  await store.tokens.put({
    hash: id,
    kind: SETUP_LINK_KIND,
    payload: { ...payload },
    createdAt: now,
    expiresAt,
  });
  await audit(
    store,
    {
      type: "admin.setup_link.create",
      outcome: "success",
      accountId: account.id,
      actor: who.actor,
      ip: who.ip ?? null,
      detail: { linkId: id, expiresAt: expiresAt.toISOString() },
    },
    now,
  );
  return {
    token,
    link: {
      id,
      accountId: account.id,
      createdBy: who.actor,
      createdAt: now,
      expiresAt,
      status: "active",
    },
  };
}

/**
 * The account's links, newest first, from the audit trail and the live tokens. The audit query
 * narrows to the account, so LIST_LIMIT bounds the links of this account alone: its newest 500.
 */
export async function listSetupLinks(
  store: Store,
  accountIdOrName: string,
  now: Date,
): Promise<SetupLinkInfo[]> {
  const account = await requireAccount(store, accountIdOrName);
  const created = await store.audit.query({
    accountId: account.id,
    type: "admin.setup_link.create",
    limit: LIST_LIMIT,
  });
  const revoked = new Set(
    (
      await store.audit.query({
        accountId: account.id,
        type: "admin.setup_link.revoke",
        limit: LIST_LIMIT,
      })
    ).map((e) => String(e.detail.linkId)),
  );
  const out: SetupLinkInfo[] = [];
  for (const e of created) {
    const id = String(e.detail.linkId);
    const expiresAt = new Date(String(e.detail.expiresAt));
    const live = (await store.tokens.peek(id, SETUP_LINK_KIND, now)) !== undefined;
    out.push({
      id,
      accountId: account.id,
      createdBy: e.actor,
      createdAt: e.at,
      expiresAt,
      status: live ? "active" : revoked.has(id) ? "revoked" : "expired",
    });
  }
  return out;
}

export async function revokeSetupLink(
  store: Store,
  accountIdOrName: string,
  linkId: string,
  who: Actor,
  now: Date,
): Promise<void> {
  const account = await requireAccount(store, accountIdOrName);
  const token = /^[0-9a-f]{64}$/.test(linkId)
    ? await store.tokens.peek(linkId, SETUP_LINK_KIND, now)
    : undefined;
  if (token === undefined || (token.payload as Partial<SetupLinkPayload>).accountId !== account.id)
    throw new AdminError("linkId", "No active setup link with this ID for this account.", 404);
  await store.tokens.revoke(linkId);
  await audit(
    store,
    {
      type: "admin.setup_link.revoke",
      outcome: "success",
      accountId: account.id,
      actor: who.actor,
      ip: who.ip ?? null,
      detail: { linkId },
    },
    now,
  );
}

export type SetupLinkOpening =
  | {
      readonly kind: "open";
      readonly account: Account;
      readonly linkId: string;
      readonly expiresAt: Date;
    }
  | { readonly kind: "dead"; readonly reason: "expired" | "revoked" | "unknown" };

/**
 * The account a setup token opens, or why it opens nothing. Every refusal is audited; a use is
 * audited once an hour per link (each page view would flood the trail).
 */
export async function openSetupLink(
  store: Store,
  token: string,
  ip: string | null,
  now: Date,
): Promise<SetupLinkOpening> {
  const id = /^[A-Za-z0-9_-]{43}$/.test(token) ? hashSecret(token) : undefined;
  const found = id === undefined ? undefined : await store.tokens.peek(id, SETUP_LINK_KIND, now);
  const account =
    found === undefined
      ? undefined
      : await store.accounts.get((found.payload as Partial<SetupLinkPayload>).accountId ?? "");
  if (id === undefined || found === undefined || account === undefined) {
    const { reason, accountId } =
      id === undefined
        ? { reason: "unknown" as const, accountId: null }
        : await deadLink(store, id);
    await audit(
      store,
      {
        type: "setup_link.open",
        outcome: "failure",
        reason: `setup_link_${reason}`,
        // The link's account, when known: its trail shows the attempts on its dead links.
        accountId,
        actor: "anonymous",
        ip,
        detail: id === undefined ? {} : { linkId: id },
      },
      now,
    );
    return { kind: "dead", reason };
  }
  const hits = await store.counters.hit(`setup-link-open:${id}`, OPEN_AUDIT_WINDOW_SECONDS, now);
  if (hits === 1) {
    await audit(
      store,
      {
        type: "setup_link.open",
        outcome: "success",
        accountId: account.id,
        actor: setupActor(id),
        ip,
        detail: { linkId: id },
      },
      now,
    );
  }
  return { kind: "open", account, linkId: id, expiresAt: found.expiresAt };
}

/** The actor of changes made through a link: names the link, never its token. */
export function setupActor(linkId: string): string {
  return `setup-link:${linkId.slice(0, 12)}`;
}

/**
 * Why a link opens nothing, and whose it was, from its revoke or create event. The token is
 * gone (expired and revoked ones cannot be read), so the account is unknown, and AuditQuery
 * narrows by account, type or reference, never by the link ID in the detail: this reads the
 * installation's newest LIST_LIMIT revoke and create events, of every account. A link older
 * than that many newer ones is "unknown" and its failed openings have no account.
 */
async function deadLink(
  store: Store,
  id: string,
): Promise<{ reason: "expired" | "revoked" | "unknown"; accountId: string | null }> {
  const ofLink = async (type: string) =>
    (await store.audit.query({ type, limit: LIST_LIMIT })).find((e) => e.detail.linkId === id);
  const revoked = await ofLink("admin.setup_link.revoke");
  if (revoked !== undefined) return { reason: "revoked", accountId: revoked.accountId };
  const created = await ofLink("admin.setup_link.create");
  if (created !== undefined) return { reason: "expired", accountId: created.accountId };
  return { reason: "unknown", accountId: null };
}

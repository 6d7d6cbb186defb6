/**
 * Rollback from SSO (Netcore, shared/seeds/001): "If the admin disables SSO: users receive an
 * email with a temporary password. Users can then reset the password. All SSO-specific
 * settings are deactivated."
 *
 * Here: Login with SAML off for every role, SSO enforcement off, every connection of the account
 * deactivated (kept, not deleted: turning SSO back on is a matter of reactivating); then each
 * user who is not disabled gets a fresh temporary password by mail, which they must change at
 * their next login.
 */

import { type Actor, AdminError } from "./admin.ts";
import { audit } from "./audit.ts";
import { type Account, ROLES, type Role, type User } from "./model.ts";
import { hashPassword, temporaryPassword } from "./passwords.ts";
import { rollbackMail } from "./rollback-mail.ts";
import type { Store } from "./store.ts";

/** What rollback needs to send mail; the web layer's Mailer satisfies it structurally. */
export interface RollbackMailer {
  send(message: {
    readonly to: string;
    readonly subject: string;
    readonly text: string;
    readonly html?: string;
  }): Promise<unknown>;
}

export type RollbackUserOutcome =
  /** Mailed, and the temporary password set with must-change. */
  | "mailed"
  /** The mail failed: nothing changed for this user (their old password, if any, still works). */
  | "mail_failed"
  /** Mailed, but storing the password failed: the mailed password does not work; run again. */
  | "mailed_not_set";

export interface RollbackResult {
  readonly accountId: string;
  readonly connectionsDeactivated: number;
  readonly users: readonly {
    readonly userId: string;
    readonly username: string;
    readonly email: string;
    readonly outcome: RollbackUserOutcome;
    readonly error?: string;
  }[];
  /** True when every user was mailed and set; else run again with `onlyUserIds` for the rest. */
  readonly complete: boolean;
}

export interface RollbackOptions {
  /** Redo only these users (after mail failures); the account settings are rolled back again. */
  readonly onlyUserIds?: readonly string[];
}

export async function rollbackSso(
  store: Store,
  mailer: RollbackMailer,
  accountId: string,
  who: Actor,
  now: Date,
  loginUrl: string,
  options: RollbackOptions = {},
): Promise<RollbackResult> {
  const account = await store.accounts.get(accountId);
  if (account === undefined) throw new AdminError("accountId", "No such account.", 404);

  // Settings first: from here on nobody signs in with SAML and password login is open again,
  // so the passwords mailed below are usable the moment they arrive.
  const samlLogin = Object.fromEntries(ROLES.map((role) => [role, false])) as Record<Role, boolean>;
  const rolledBack = await store.accounts.update(
    account.id,
    { settings: { ...account.settings, samlLogin, ssoEnforced: false } },
    now,
  );
  const connections = (await store.connections.list(account.id)).filter((c) => c.active);
  for (const c of connections) await store.connections.update(c.id, { active: false }, now);

  const only = options.onlyUserIds === undefined ? undefined : new Set(options.onlyUserIds);
  const users = (await store.users.list(account.id)).filter(
    (u) => !u.disabled && (only === undefined || only.has(u.id)),
  );
  await audit(
    store,
    {
      type: "admin.sso.rollback",
      outcome: "success",
      accountId: account.id,
      actor: who.actor,
      ip: who.ip ?? null,
      detail: {
        before: {
          samlLogin: account.settings.samlLogin,
          ssoEnforced: account.settings.ssoEnforced,
        },
        connectionsDeactivated: connections.map((c) => c.id),
        usersToMail: users.length,
        ...(only === undefined ? {} : { onlyUserIds: [...only] }),
      },
    },
    now,
  );

  const results: RollbackResult["users"][number][] = [];
  for (const user of users) {
    const outcome = await resetAndMail(store, mailer, rolledBack, user, loginUrl, now);
    results.push({
      userId: user.id,
      username: user.username,
      email: user.email,
      ...outcome,
    });
    await audit(
      store,
      {
        type: "admin.sso.rollback.user",
        outcome: outcome.outcome === "mailed" ? "success" : "failure",
        reason: outcome.outcome,
        accountId: account.id,
        userId: user.id,
        actor: who.actor,
        ip: who.ip ?? null,
        detail: {
          email: user.email,
          ...(outcome.error === undefined ? {} : { error: outcome.error }),
        },
      },
      now,
    );
  }
  return {
    accountId: account.id,
    connectionsDeactivated: connections.length,
    users: results,
    complete: results.every((r) => r.outcome === "mailed"),
  };
}

/**
 * Mail first, then store. The other order loses data when mail fails (it often does: SMTP down,
 * a bad address): the user's own password would be replaced by one nobody ever learns, and with
 * SSO off they could not sign in at all. Mailing first, a mail failure changes nothing for the
 * user, and the admin retries. The remaining risk, a mailed password whose write then fails, is
 * a database outage, is reported ("mailed_not_set"), and a retry mails a fresh password.
 */
async function resetAndMail(
  store: Store,
  mailer: RollbackMailer,
  account: Account,
  user: User,
  loginUrl: string,
  now: Date,
): Promise<{ outcome: RollbackUserOutcome; error?: string }> {
  const password = temporaryPassword();
  const passwordHash = await hashPassword(password);
  try {
    await mailer.send({
      to: user.email,
      ...rollbackMail({
        account: account.displayName,
        accountName: account.name,
        username: user.username,
        temporaryPassword: password,
        loginUrl,
      }),
    });
  } catch (e) {
    return { outcome: "mail_failed", error: errorText(e) };
  }
  try {
    await store.users.update(user.id, { passwordHash, mustChangePassword: true }, now);
  } catch (e) {
    return { outcome: "mailed_not_set", error: errorText(e) };
  }
  return { outcome: "mailed" };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

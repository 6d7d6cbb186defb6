/**
 * "Log in with SSO" (Netcore): from a work email, and the account name when the email belongs
 * to users of several accounts, to the connection to send the person to.
 */

import type { LoginMessageKey } from "./messages.ts";
import type { Account, Connection } from "./model.ts";
import type { Store } from "./store.ts";

export type Discovery =
  | { readonly kind: "connection"; readonly account: Account; readonly connection: Connection }
  | { readonly kind: "need_account" }
  | {
      readonly kind: "refused";
      readonly message: LoginMessageKey;
      readonly detail: Readonly<Record<string, unknown>>;
    };

/** True when the account can sign anyone in with SAML: an active connection and a role enabled. */
export function ssoEnabled(account: Account): boolean {
  return Object.values(account.settings.samlLogin).some((v) => v);
}

export async function activeConnection(
  store: Store,
  account: Account,
): Promise<Connection | undefined> {
  return (await store.connections.list(account.id)).find((c) => c.active);
}

export async function discover(
  store: Store,
  email: string,
  accountName: string | undefined,
): Promise<Discovery> {
  const trimmed = email.trim();
  if (accountName !== undefined && accountName.trim() !== "") {
    const account = await store.accounts.byName(accountName.trim());
    if (account === undefined)
      return {
        kind: "refused",
        message: "account_not_sso",
        detail: { accountName, reason: "no such account" },
      };
    return forAccount(store, account, trimmed);
  }
  const users = await store.users.byEmailAnyAccount(trimmed);
  const accountIds = [...new Set(users.map((u) => u.accountId))];
  if (accountIds.length === 0)
    return {
      kind: "refused",
      message: "email_not_sso",
      detail: { email: trimmed, reason: "no user has this email" },
    };
  if (accountIds.length > 1) return { kind: "need_account" };
  const account = await store.accounts.get(accountIds[0]!);
  if (account === undefined)
    return { kind: "refused", message: "email_not_sso", detail: { email: trimmed } };
  return forAccount(store, account, trimmed);
}

async function forAccount(store: Store, account: Account, email: string): Promise<Discovery> {
  const connection = await activeConnection(store, account);
  if (connection === undefined || !ssoEnabled(account)) {
    return {
      kind: "refused",
      message: "account_not_sso",
      detail: {
        accountId: account.id,
        reason:
          connection === undefined
            ? "no active connection"
            : "Login with SAML is off for every role",
      },
    };
  }
  if (account.settings.jitRole === null) {
    const users = await store.users.byEmail(
      account.id,
      email,
      account.settings.emailCaseInsensitive,
    );
    if (users.length === 0 && !account.settings.multiLogin) {
      return {
        kind: "refused",
        message: "email_not_sso",
        detail: { accountId: account.id, email, reason: "no user of this account has this email" },
      };
    }
  }
  return { kind: "connection", account, connection };
}

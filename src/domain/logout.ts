/**
 * Single Logout rules (saml-profiles-2.0-os 4.4; ENTRA.md, Single Logout): which Issuers a
 * connection's logout messages may carry, and which sessions an IdP's LogoutRequest ends.
 * The protocol checks themselves are src/saml/logout.ts; this decides what they mean for us.
 */

import type { Connection, Session } from "./model.ts";
import type { Store } from "./store.ts";

/** The end reason of sessions ended by the person (POST /logout) and by the IdP. */
export const END_REASON_LOGOUT = "logout";
export const END_REASON_IDP_LOGOUT = "idp_logout";

const ENTRA_ISSUER =
  /^https:\/\/(?:sts\.windows\.net|login\.microsoftonline\.com)\/([0-9a-f-]{36})\/?$/i;

/** The tenant ID of an Entra entity ID (either documented form), or undefined. */
export function entraTenantOf(idpEntityId: string): string | undefined {
  return ENTRA_ISSUER.exec(idpEntityId)?.[1]?.toLowerCase();
}

/**
 * Issuers accepted on the connection's logout messages, compared exactly: its IdP entity ID and,
 * for an Entra connection, both forms Microsoft has documented for its logout messages
 * (https://login.microsoftonline.com/<tenant>/ and https://sts.windows.net/<tenant>/).
 */
export function logoutIssuers(connection: Pick<Connection, "idpEntityId">): readonly string[] {
  const tenant = entraTenantOf(connection.idpEntityId);
  if (tenant === undefined) return [connection.idpEntityId];
  return [
    ...new Set([
      connection.idpEntityId,
      `https://login.microsoftonline.com/${tenant}/`,
      `https://sts.windows.net/${tenant}/`,
    ]),
  ];
}

/** What a verified IdP LogoutRequest names. */
export interface IdpLogoutTarget {
  readonly nameId: string;
  readonly sessionIndexes: readonly string[];
}

/**
 * Ends the live sessions of one connection that an IdP's LogoutRequest names: by SessionIndex
 * when it carries any (Entra's NameID may differ from the one at login: its SessionIndex, the
 * login's Assertion ID, is what identifies the session), else every session of that NameID
 * (core 3.7.3.2). Already-ended sessions are left alone, so a repeated request ends nothing.
 */
export async function endSessionsForIdpLogout(
  store: Store,
  connectionId: string,
  target: IdpLogoutTarget,
  now: Date,
): Promise<Session[]> {
  if (target.sessionIndexes.length > 0) {
    return store.sessions.endBySessionIndex(
      connectionId,
      target.sessionIndexes,
      now,
      END_REASON_IDP_LOGOUT,
    );
  }
  return store.sessions.endByNameId(connectionId, target.nameId, now, END_REASON_IDP_LOGOUT);
}

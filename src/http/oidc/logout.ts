/**
 * Logout reaches the apps: when Gatehouse sessions end (local logout, the IdP's SAML logout, an
 * admin disabling the user, RP-initiated logout from another app, expiry found by the sweep), every OIDC session they
 * signed in ends too, and each app with a back-channel logout URI gets a logout_token (OpenID
 * Connect Back-Channel Logout 1.0, section 2.5) naming the user (`sub`) and the session (`sid`).
 * Front-channel logout (frontchannel.ts) needs the person's browser on our page; the expiry sweep
 * and an admin disabling the user have none, so for them this is the only way the apps hear.
 */

import { audit } from "../../domain/audit.ts";
import { IDP_CLAIMS_RECORD } from "../../domain/oidc.ts";
import type { EndedSession } from "../../domain/session-events.ts";
import type { AppContext } from "../context.ts";
import {
  LINK_BY_GATEHOUSE,
  LINK_BY_OIDC,
  linkedOidcSessions,
  type OidcProvider,
} from "./provider.ts";

export function propagateSessionEnds(ctx: AppContext, provider: () => OidcProvider): void {
  ctx.sessionEnds.subscribe(async (ended) => {
    for (const e of ended) await endLinked(ctx, provider(), e);
  });
}

async function endLinked(ctx: AppContext, provider: OidcProvider, e: EndedSession) {
  const { store } = ctx;
  await store.oidc.destroy(IDP_CLAIMS_RECORD, e.id);
  const uids = await linkedOidcSessions(ctx, e.id);
  if (uids.length === 0) return;
  await store.oidc.destroy(LINK_BY_GATEHOUSE, e.id);
  for (const uid of uids) {
    await store.oidc.destroy(LINK_BY_OIDC, uid);
    const session = await provider.Session.findByUid(uid);
    if (!session) continue;
    const authorizations = (session.authorizations ?? {}) as Record<
      string,
      { sid?: string; grantId?: string }
    >;
    for (const [clientId, { sid, grantId }] of Object.entries(authorizations)) {
      const client = await provider.Client.find(clientId);
      if (client?.backchannelLogoutUri) {
        let outcome: "success" | "failure" = "success";
        let reason: string | null = null;
        try {
          await client.backchannelLogout(session.accountId, sid);
        } catch (error) {
          outcome = "failure";
          reason = "backchannel_logout_failed";
          ctx.deps.logger && console.error("back-channel logout failed", clientId, error);
        }
        await audit(
          store,
          {
            type: "oidc.backchannel_logout",
            outcome,
            reason,
            userId: session.accountId ?? null,
            actor: "system",
            detail: { clientId, uri: client.backchannelLogoutUri, endReason: e.reason },
          },
          ctx.deps.now(),
        );
      }
      // The app's tokens go with the session: a logged-out person's access token stops working.
      if (grantId) {
        await store.oidc.revokeByGrantId(grantId);
        await store.oidc.destroy("Grant", grantId);
      }
    }
    await session.destroy();
  }
}

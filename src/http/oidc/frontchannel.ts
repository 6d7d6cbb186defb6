/**
 * OpenID Connect Front-Channel Logout 1.0, which oidc-provider 9 does not implement: when a
 * Gatehouse session ends in a browser (the person's Log out, an app's RP-initiated logout, the
 * IdP's LogoutRequest arriving through the browser), the page that browser sees next loads each
 * signed-in app's frontchannel_logout_uri in a hidden iframe (section 3), then continues where it
 * was going: to the IdP, back to the app, or the logged-out page.
 *
 * The targets are read from the same records back-channel logout uses (logout.ts: the Gatehouse
 * session's linked OIDC sessions, their authorizations and the sid each app was given), and must
 * be read BEFORE the session ends: ending it destroys them. A session that ends without a browser
 * (expiry found by the sweep, an admin disabling the user, the IdP naming a session of another
 * browser) has no page to load iframes in: its apps hear of it by back-channel logout only.
 */

import { randomBytes } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { audit } from "../../domain/audit.ts";
import { clientView } from "../../domain/oidc.ts";
import type { AppContext } from "../context.ts";
import { linkedOidcSessions, oidcIssuer } from "./provider.ts";

/** One app to load in an iframe. */
export interface FrontchannelTarget {
  readonly clientId: string;
  readonly clientName: string;
  readonly userId: string | null;
  /** The registered frontchannel_logout_uri. */
  readonly uri: string;
  /** What the iframe loads: the URI, with iss and sid when the app requires them. */
  readonly src: string;
}

/** Where the page continues, and what it may be framed by. */
export interface FrontchannelContinue {
  readonly continueTo: string;
  /** The end reason recorded with each notification ("logout", "oidc_logout", "idp_logout"). */
  readonly endReason: string;
  /**
   * Origins allowed to frame the page besides none (CSP frame-ancestors): the IdP, whose own
   * front-channel logout page may load our SLO endpoint in an iframe. Empty: never framed.
   */
  readonly frameAncestors?: readonly string[];
}

/** Seconds the page waits for the iframes before continuing anyway. */
const WAIT_SECONDS = 5;

/**
 * The front-channel logout iframes of these Gatehouse sessions' apps, one per app and session
 * (an app signed in twice by one Gatehouse session has one sid: one iframe).
 */
export async function frontchannelTargets(
  ctx: AppContext,
  gatehouseSessionIds: readonly string[],
): Promise<FrontchannelTarget[]> {
  const { store } = ctx;
  const now = ctx.deps.now();
  const iss = oidcIssuer(ctx.deps.publicUrl);
  const targets = new Map<string, FrontchannelTarget>();
  for (const id of gatehouseSessionIds) {
    for (const uid of await linkedOidcSessions(ctx, id)) {
      const session = (await store.oidc.findByUid("Session", uid, now))?.payload;
      const authorizations = (session?.authorizations ?? {}) as Record<string, { sid?: string }>;
      for (const [clientId, { sid }] of Object.entries(authorizations)) {
        const record = await store.oidc.getClient(clientId);
        if (record === undefined) continue;
        const client = clientView(record);
        if (client.frontchannelLogoutUri === null) continue;
        // Section 3: iss and sid both or neither; both when the app registered that it needs them.
        const src =
          client.frontchannelLogoutSessionRequired && sid !== undefined
            ? withQuery(client.frontchannelLogoutUri, { iss, sid })
            : client.frontchannelLogoutUri;
        targets.set(src, {
          clientId,
          clientName: client.name,
          userId: typeof session?.accountId === "string" ? session.accountId : null,
          uri: client.frontchannelLogoutUri,
          src,
        });
      }
    }
  }
  return [...targets.values()];
}

/**
 * Section 2: the URI's own query "MUST be retained when adding additional query parameters":
 * appended to as registered, never re-encoded.
 */
function withQuery(uri: string, params: Record<string, string>): string {
  const query = new URLSearchParams(params).toString();
  if (!uri.includes("?")) return `${uri}?${query}`;
  return uri.endsWith("?") || uri.endsWith("&") ? `${uri}${query}` : `${uri}&${query}`;
}

/**
 * The front-channel logout page: headers and body, each notification audited. Its CSP allows
 * exactly the apps' origins as frames and its one script by nonce; nothing else loads.
 */
export async function frontchannelPage(
  ctx: AppContext,
  targets: readonly FrontchannelTarget[],
  next: FrontchannelContinue,
  ip: string | null,
): Promise<{ headers: Record<string, string>; body: string }> {
  for (const t of targets) {
    await audit(
      ctx.store,
      {
        type: "oidc.frontchannel_logout",
        outcome: "success",
        userId: t.userId,
        actor: t.userId === null ? "system" : `user:${t.userId}`,
        ip,
        detail: { clientId: t.clientId, uri: t.uri, endReason: next.endReason },
      },
      ctx.deps.now(),
    );
  }
  const nonce = randomBytes(16).toString("base64");
  const frames = [...new Set(targets.map((t) => new URL(t.uri).origin))].join(" ");
  const ancestors =
    next.frameAncestors === undefined || next.frameAncestors.length === 0
      ? "'none'"
      : ["'self'", ...next.frameAncestors].join(" ");
  return {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      "content-security-policy": `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src 'self' data:; frame-src ${frames}; form-action 'self'; frame-ancestors ${ancestors}; base-uri 'none'`,
      // Where the IdP may frame the page, CSP frame-ancestors decides (browsers ignore
      // X-Frame-Options beside it); SAMEORIGIN only for browsers without it.
      "x-frame-options": ancestors === "'none'" ? "DENY" : "SAMEORIGIN",
      "x-content-type-options": "nosniff",
      // The apps' iframes learn nothing of where the person was.
      "referrer-policy": "no-referrer",
    },
    body: ctx.views.page(
      "frontchannel-logout",
      { targets, continueTo: next.continueTo, nonce, waitMs: WAIT_SECONDS * 1000 },
      { title: "Signing out" },
    ),
  };
}

/** The page as a Fastify answer. */
export async function sendFrontchannelPage(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
  targets: readonly FrontchannelTarget[],
  next: FrontchannelContinue,
): Promise<FastifyReply> {
  const page = await frontchannelPage(ctx, targets, next, req.ip);
  return reply.status(200).headers(page.headers).send(page.body);
}

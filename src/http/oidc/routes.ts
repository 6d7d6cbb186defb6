/**
 * oidcRoutes: Gatehouse as an OpenID Provider under /oidc (issuer <publicUrl>/oidc). oidc-provider
 * answers everything below /oidc (discovery, JWKS, authorization, token, userinfo, end session)
 * from the raw Node request, so its routes skip Fastify's body parsing; the login interaction is
 * ours: /oidc/interaction/:uid sends the person through Gatehouse's login page (password, Log in
 * with SSO, Login with SAML, the chooser) and back, then finishes with the Gatehouse session.
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { amrOf } from "../../domain/oidc.ts";
import type { AppContext } from "../context.ts";
import { cookieOptions, SESSION_COOKIE } from "../cookies.ts";
import { frontchannelPage, frontchannelTargets } from "./frontchannel.ts";
import { propagateSessionEnds } from "./logout.ts";
import { createProvider, gatehouseSessionOf, OIDC_PATH, type OidcProvider } from "./provider.ts";

/** Where the login page's eventual landing (/dashboard) continues: the pending interaction. */
const RETURN_COOKIE = "gh_oidc_return";
const RETURN_SECONDS = 600;
const INTERACTION_PATH = /^\/oidc\/interaction\/[A-Za-z0-9_-]{1,64}$/;

export function oidcRoutes(app: FastifyInstance, ctx: AppContext): void {
  let provider: OidcProvider;
  propagateSessionEnds(ctx, () => provider);

  // Every login flow ends on /dashboard; an OIDC sign-in in progress continues from there.
  app.addHook("onRequest", async (req, reply) => {
    if (req.method !== "GET" || req.url.split("?")[0] !== "/dashboard") return;
    const pending = req.cookies[RETURN_COOKIE];
    if (pending === undefined || !INTERACTION_PATH.test(pending)) return;
    if ((await ctx.currentLogin(req)) === undefined) return;
    reply.clearCookie(RETURN_COOKIE, cookieOptions(ctx.deps.publicUrl, "session"));
    return reply.header("cache-control", "no-store").redirect(pending, 303);
  });

  app.register(async (scope) => {
    provider = await createProvider(ctx);
    provider.use(endGatehouseSessionOnRpLogout(ctx));

    scope.get<{ Params: { uid: string } }>(`${OIDC_PATH}/interaction/:uid`, async (req, reply) =>
      interaction(ctx, provider, req, reply),
    );

    // oidc-provider reads its own bodies: no Fastify parser may consume the stream first.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", (_req, _payload, done) => done(null));
    const handler = provider.callback();
    const passThrough = async (req: FastifyRequest, reply: FastifyReply) => {
      reply.hijack();
      const raw = req.raw as typeof req.raw & { originalUrl?: string };
      raw.originalUrl = raw.url;
      raw.url = raw.url!.slice(OIDC_PATH.length) || "/";
      handler(raw, reply.raw);
    };
    scope.all(OIDC_PATH, passThrough);
    scope.all(`${OIDC_PATH}/*`, passThrough);
  });
}

async function interaction(
  ctx: AppContext,
  provider: OidcProvider,
  req: FastifyRequest<{ Params: { uid: string } }>,
  reply: FastifyReply,
) {
  let details: { uid: string; prompt: { name: string } };
  try {
    details = await provider.interactionDetails(req.raw, reply.raw);
  } catch {
    return ctx.page(
      reply,
      "message",
      {
        heading: "This sign-in has expired",
        message: "Go back to the app and sign in again.",
      },
      { title: "Sign-in expired" },
      400,
    );
  }
  const login = await ctx.currentLogin(req);
  if (login === undefined) {
    reply.setCookie(
      RETURN_COOKIE,
      `${OIDC_PATH}/interaction/${details.uid}`,
      cookieOptions(ctx.deps.publicUrl, "session", RETURN_SECONDS),
    );
    return reply.header("cache-control", "no-store").redirect("/login", 303);
  }
  const { session, user } = login;
  const redirectTo: string = await provider.interactionResult(
    req.raw,
    reply.raw,
    {
      login: {
        accountId: user.id,
        amr: amrOf(session),
        ts: Math.floor(session.createdAt.getTime() / 1000),
        remember: true,
      },
      gatehouse: { sessionId: session.id },
    },
    { mergeWithLastSubmission: false },
  );
  return reply.header("cache-control", "no-store").redirect(redirectTo, 303);
}

/**
 * An app's RP-initiated logout (end_session confirmed) ends the Gatehouse session of that browser
 * too, which tells the other apps through back-channel logout; the apps with a front-channel
 * logout URI are loaded in iframes (frontchannel.ts) before the browser goes where oidc-provider
 * sends it (the app's post_logout_redirect_uri or the sign-out success page).
 */
function endGatehouseSessionOnRpLogout(ctx: AppContext) {
  // biome-ignore lint/suspicious/noExplicitAny: oidc-provider's Koa context
  return async (k: any, next: () => Promise<void>) => {
    const session =
      k.path === "/session/end/confirm" ? await gatehouseSessionOf(ctx, k) : undefined;
    // Read before oidc-provider and the session end destroy the records they come from.
    const frontchannel = session === undefined ? [] : await frontchannelTargets(ctx, [session.id]);
    await next();
    // "No, stay signed in" posts the form without `logout`: oidc-provider keeps its session and
    // still redirects to the app, and the Gatehouse session stays too.
    const confirmed = Boolean(k.oidc?.params?.logout);
    if (session === undefined || k.status >= 400 || !confirmed) return;
    await ctx.store.sessions.end(session.id, ctx.deps.now(), "oidc_logout");
    k.cookies.set(SESSION_COOKIE, null, { path: "/", httpOnly: true });
    const location: string | undefined = k.response.get("location") || undefined;
    if (frontchannel.length === 0 || location === undefined) return;
    const page = await frontchannelPage(
      ctx,
      frontchannel,
      { continueTo: location, endReason: "oidc_logout" },
      k.ip ?? null,
    );
    k.remove("location");
    k.status = 200;
    k.set(page.headers);
    k.body = page.body;
  };
}

/** The login pages: sign in, "Log in with SSO" (Netcore), the dashboard. */

import type { FastifyInstance, FastifyReply } from "fastify";
import { discover, ssoEnabled } from "../../domain/discovery.ts";
import { LOGIN_MESSAGES } from "../../domain/messages.ts";
import type { AppContext } from "../context.ts";
import { ACCOUNT_COOKIE, cookieOptions, SESSION_COOKIE } from "../cookies.ts";

const YEAR_SECONDS = 365 * 24 * 3600;

/**
 * Chromium applies CSP form-action to every redirect a form submission follows, so the default
 * form-action 'self' (app.ts) blocks Log in with SSO's hop to the IdP and Log out's hop to the
 * IdP's SingleLogoutService (found with SimpleSAMLphp, test/e2e/simplesamlphp.test.ts). The
 * pages holding those forms allow these sources too; the rest is the default policy.
 */
function allowFormsTo(reply: FastifyReply, sources: string): void {
  reply.header(
    "content-security-policy",
    `default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self' ${sources}; frame-ancestors 'none'; base-uri 'none'`,
  );
}

/** Any IdP (which one depends on the email typed): https, and http when we are on http (dev). */
function anyIdp(ctx: AppContext): string {
  return ctx.deps.publicUrl.startsWith("https://") ? "https:" : "https: http:";
}

export function pageRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { store } = ctx;

  app.get("/", async (req, reply) => {
    const login = await ctx.currentLogin(req);
    return reply.redirect(login === undefined ? "/login" : "/dashboard", 302);
  });

  app.get("/login", async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const samlButtons: { href: string; label?: string }[] = [];
    const defaultName = ctx.deps.defaultAccountName;
    if (defaultName !== undefined) {
      const account = await store.accounts.byName(defaultName);
      if (account !== undefined && ssoEnabled(account))
        samlButtons.push({ href: "/api/auth/saml/login" });
    }
    const accounts = await store.accounts.list();
    return ctx.page(
      reply,
      "login",
      {
        csrf: ctx.csrf(req, reply),
        askAccount: accounts.length > 1,
        account: req.cookies[ACCOUNT_COOKIE] ?? "",
        info: q.logged_out !== undefined ? "You have been logged out." : undefined,
        error: q.expired !== undefined ? LOGIN_MESSAGES.session_expired : undefined,
        samlButtons,
      },
      { title: "Sign in" },
    );
  });

  app.get("/login/sso", async (req, reply) => {
    const remembered = req.cookies[ACCOUNT_COOKIE];
    allowFormsTo(reply, anyIdp(ctx));
    return ctx.page(
      reply,
      "sso",
      {
        csrf: ctx.csrf(req, reply),
        askAccount: remembered !== undefined,
        account: remembered ?? "",
      },
      { title: "Log in with SSO" },
    );
  });

  app.post("/login/sso", async (req, reply) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const email = typeof body.email === "string" ? body.email.trim() : "";
    const accountName =
      typeof body.account === "string" && body.account.trim() !== ""
        ? body.account.trim()
        : undefined;
    allowFormsTo(reply, anyIdp(ctx));
    const render = (extra: Record<string, unknown>, status = 200) =>
      ctx.page(
        reply,
        "sso",
        { csrf: ctx.csrf(req, reply), email, account: accountName ?? "", ...extra },
        { title: "Log in with SSO" },
        status,
      );
    if (!ctx.csrfValid(req)) return render({ error: LOGIN_MESSAGES.session_expired }, 403);
    if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > 320) {
      return render(
        {
          error: "Enter your work email address, like name@company.com.",
          askAccount: accountName !== undefined,
        },
        400,
      );
    }
    const found = await discover(store, email, accountName);
    if (found.kind === "need_account")
      return render({ askAccount: true, info: LOGIN_MESSAGES.account_required });
    if (found.kind === "refused") {
      return ctx.refuse(req, reply, found.message, {
        type: "login.sso.discovery",
        reason: found.message,
        detail: { ...found.detail, email },
      });
    }
    if (accountName !== undefined)
      reply.setCookie(
        ACCOUNT_COOKIE,
        found.account.name,
        cookieOptions(ctx.deps.publicUrl, "long", YEAR_SECONDS),
      );
    const q = new URLSearchParams({ connection: found.connection.id, login_hint: email });
    return reply.redirect(`/api/auth/saml/login?${q}`, 303);
  });

  app.get("/dashboard", async (req, reply) => {
    const login = await ctx.currentLogin(req);
    if (login === undefined) {
      // A session cookie whose session ended (idle or absolute timeout, logout elsewhere):
      // Netcore's "Your session has expired. Please log in again."
      if (req.cookies[SESSION_COOKIE] === undefined) return reply.redirect("/login", 302);
      reply.clearCookie(SESSION_COOKIE, { path: "/" });
      return reply.redirect("/login?expired", 302);
    }
    // Log out continues to the IdP's Logout URL (SP-initiated Single Logout).
    const connectionId = login.session.method === "saml" ? login.session.connectionId : null;
    const sloUrl =
      connectionId === null ? null : ((await store.connections.get(connectionId))?.sloUrl ?? null);
    if (sloUrl !== null && URL.canParse(sloUrl)) allowFormsTo(reply, new URL(sloUrl).origin);
    return ctx.page(
      reply,
      "dashboard",
      {
        csrf: ctx.csrf(req, reply),
        user: login.user,
        account: login.account,
        session: login.session,
      },
      { title: "Signed in", signedInAs: login.user.username },
    );
  });
}

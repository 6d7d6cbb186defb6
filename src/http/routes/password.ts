/**
 * Password login: POST /login (username or email, password, and the account name when the
 * installation has several accounts), then, as the user needs them, POST /login/totp (the
 * authenticator code) and POST /login/password (a new password after a temporary one). The
 * steps between pages travel as a short-lived single-use ticket in an HttpOnly cookie. The
 * rules, limits and audit events are in src/domain/password-login.ts; this file only
 * translates HTTP.
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Actor } from "../../domain/admin.ts";
import { ssoEnabled } from "../../domain/discovery.ts";
import { LOGIN_MESSAGES } from "../../domain/messages.ts";
import {
  changePasswordLogin,
  LOGIN_TICKET_TTL_MS,
  type LoginStep,
  MIN_PASSWORD_LENGTH,
  passwordLogin,
  totpLogin,
} from "../../domain/password-login.ts";
import { type RollbackResult, rollbackSso } from "../../domain/rollback.ts";
import { startSession } from "../../domain/sessions.ts";
import type { AppContext } from "../context.ts";
import { ACCOUNT_COOKIE, cookieOptions, LOGIN_STEP_COOKIE } from "../cookies.ts";

const YEAR_SECONDS = 365 * 24 * 3600;

function field(body: unknown, name: string): string {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === "string" ? v : "";
}

export function passwordRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { store } = ctx;

  const loginPage = async (
    req: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown>,
    status: number,
  ) => {
    const accounts = await store.accounts.list();
    const defaultName = ctx.deps.defaultAccountName;
    const fallback =
      defaultName === undefined ? undefined : await store.accounts.byName(defaultName);
    return ctx.page(
      reply,
      "login",
      {
        csrf: ctx.csrf(req, reply),
        askAccount: accounts.length > 1,
        account: req.cookies[ACCOUNT_COOKIE] ?? "",
        samlButtons:
          fallback !== undefined && ssoEnabled(fallback) ? [{ href: "/api/auth/saml/login" }] : [],
        ...extra,
      },
      { title: "Sign in" },
      status,
    );
  };

  /** Where each domain step leads: a session, the next form, or the form again with the reason. */
  const answer = async (
    req: FastifyRequest,
    reply: FastifyReply,
    step: LoginStep,
    form: { username?: string; account?: string },
  ): Promise<FastifyReply> => {
    const stepCookie = (ticket: string) =>
      reply.setCookie(
        LOGIN_STEP_COOKIE,
        ticket,
        cookieOptions(ctx.deps.publicUrl, "session", LOGIN_TICKET_TTL_MS / 1000),
      );
    switch (step.kind) {
      case "refused": {
        reply.clearCookie(LOGIN_STEP_COOKIE, { path: "/" });
        const limited =
          step.refusal.reason === "locked_out" || step.refusal.reason === "ip_rate_limited";
        return loginPage(
          req,
          reply,
          {
            error: LOGIN_MESSAGES[step.refusal.message],
            reference: step.refusal.reference,
            username: form.username,
            ...(form.account === undefined ? {} : { account: form.account }),
          },
          limited ? 429 : step.refusal.reason === "ticket_expired" ? 403 : 400,
        );
      }
      case "totp":
        stepCookie(step.ticket);
        return ctx.page(
          reply,
          "totp",
          {
            csrf: ctx.csrf(req, reply),
            error: step.refusal && LOGIN_MESSAGES[step.refusal.message],
            reference: step.refusal?.reference,
          },
          { title: "Enter your code" },
          step.refusal === undefined ? 200 : 400,
        );
      case "change_password":
        stepCookie(step.ticket);
        return ctx.page(
          reply,
          "change-password",
          {
            csrf: ctx.csrf(req, reply),
            username: step.user.username,
            minLength: MIN_PASSWORD_LENGTH,
            error: step.refusal && LOGIN_MESSAGES[step.refusal.message],
            reference: step.refusal?.reference,
          },
          { title: "Choose a new password" },
          step.refusal === undefined ? 200 : 400,
        );
      case "signed_in": {
        const now = ctx.deps.now();
        const started = await startSession(
          store,
          step.user,
          "password",
          step.mfa,
          null,
          ctx.deps.sessions,
          now,
        );
        reply.clearCookie(LOGIN_STEP_COOKIE, { path: "/" });
        ctx.setSessionCookie(reply, started.token, started.session.absoluteExpiresAt);
        return reply.header("cache-control", "no-store").redirect("/dashboard", 303);
      }
    }
  };

  app.post("/login", async (req, reply) => {
    const username = field(req.body, "username").trim();
    const account = field(req.body, "account").trim();
    if (!ctx.csrfValid(req))
      return loginPage(req, reply, { error: LOGIN_MESSAGES.session_expired, username }, 403);
    const step = await passwordLogin(
      store,
      {
        accountName: account === "" ? undefined : account,
        identifier: username,
        password: field(req.body, "password"),
        ip: req.ip,
      },
      ctx.deps.now(),
    );
    if (account !== "" && step.kind !== "refused") {
      reply.setCookie(
        ACCOUNT_COOKIE,
        account,
        cookieOptions(ctx.deps.publicUrl, "long", YEAR_SECONDS),
      );
    }
    return answer(req, reply, step, { username, ...(account === "" ? {} : { account }) });
  });

  app.post("/login/totp", async (req, reply) => {
    const ticket = req.cookies[LOGIN_STEP_COOKIE] ?? "";
    if (!ctx.csrfValid(req))
      return loginPage(req, reply, { error: LOGIN_MESSAGES.session_expired }, 403);
    const step = await totpLogin(store, ticket, field(req.body, "code"), req.ip, ctx.deps.now());
    return answer(req, reply, step, {});
  });

  app.post("/login/password", async (req, reply) => {
    const ticket = req.cookies[LOGIN_STEP_COOKIE] ?? "";
    if (!ctx.csrfValid(req))
      return loginPage(req, reply, { error: LOGIN_MESSAGES.session_expired }, 403);
    const step = await changePasswordLogin(
      store,
      ticket,
      { password: field(req.body, "password"), confirm: field(req.body, "confirm") },
      req.ip,
      ctx.deps.now(),
    );
    return answer(req, reply, step, {});
  });
}

/**
 * Rollback from SSO for the admin API and pages: the app's mailer, clock and login URL. Users
 * who could not be mailed are in the result; call again with their IDs to retry.
 */
export function rollbackSsoForApp(
  ctx: AppContext,
  accountId: string,
  who: Actor,
  onlyUserIds?: readonly string[],
): Promise<RollbackResult> {
  return rollbackSso(
    ctx.store,
    ctx.deps.mailer,
    accountId,
    who,
    ctx.deps.now(),
    ctx.url("/login"),
    onlyUserIds === undefined ? {} : { onlyUserIds },
  );
}

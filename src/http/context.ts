/**
 * Per-app request helpers shared by the route plugins: the current session, CSRF tokens, error
 * pages with a reference, and connection runtime state (parsed certificates) cached per app.
 */

import type { FastifyReply, FastifyRequest } from "fastify";
import { audit } from "../domain/audit.ts";
import { LOGIN_MESSAGES, type LoginMessageKey } from "../domain/messages.ts";
import type { Account, Connection, Session, User } from "../domain/model.ts";
import { constantTimeEqual, newReference, newSecret } from "../domain/secrets.ts";
import { observeSessionEnds, SessionEndListeners } from "../domain/session-events.ts";
import { resumeSession } from "../domain/sessions.ts";
import type { Store } from "../domain/store.ts";
import { readCertificate, type TrustedCertificate } from "../saml/certs.ts";
import { CSRF_COOKIE, cookieOptions, SESSION_COOKIE } from "./cookies.ts";
import type { AppDeps } from "./deps.ts";
import type { PageOptions, Views } from "./views.ts";

export interface CurrentLogin {
  readonly session: Session;
  readonly user: User;
  readonly account: Account;
}

export interface ConnectionRuntime {
  readonly connection: Connection;
  readonly certificates: readonly TrustedCertificate[];
}

export class AppContext {
  readonly deps: AppDeps;
  readonly views: Views;
  /** Told whenever sessions end through ctx.store, however they end (the OIDC apps listen). */
  readonly sessionEnds = new SessionEndListeners();
  private readonly observedStore: Store;
  private readonly runtimes = new Map<string, { updatedAt: number; runtime: ConnectionRuntime }>();

  constructor(deps: AppDeps, views: Views) {
    this.deps = deps;
    this.views = views;
    this.observedStore = observeSessionEnds(deps.store, this.sessionEnds, (e) =>
      console.error("gatehouse: a session-end listener failed:", e),
    );
  }

  get store(): Store {
    return this.observedStore;
  }

  url(path: string): string {
    return `${this.deps.publicUrl}${path}`;
  }

  /** Certificates parsed once per connection version (KeyObjects are costly to build). */
  runtime(connection: Connection): ConnectionRuntime {
    const cached = this.runtimes.get(connection.id);
    if (cached !== undefined && cached.updatedAt === connection.updatedAt.getTime())
      return cached.runtime;
    const certificates = connection.certificates.map((c, i) =>
      readCertificate(c, `connection ${connection.name} certificate ${i + 1}`),
    );
    const runtime = { connection, certificates };
    this.runtimes.set(connection.id, { updatedAt: connection.updatedAt.getTime(), runtime });
    return runtime;
  }

  async currentLogin(req: FastifyRequest): Promise<CurrentLogin | undefined> {
    const token = req.cookies[SESSION_COOKIE];
    if (token === undefined) return undefined;
    const session = await resumeSession(this.store, token, this.deps.sessions, this.deps.now());
    if (session === undefined) return undefined;
    const user = await this.store.users.get(session.userId);
    const account = await this.store.accounts.get(session.accountId);
    if (user === undefined || account === undefined || user.disabled) return undefined;
    return { session, user, account };
  }

  setSessionCookie(reply: FastifyReply, token: string, absoluteExpiresAt: Date): void {
    const maxAge = Math.max(
      0,
      Math.floor((absoluteExpiresAt.getTime() - this.deps.now().getTime()) / 1000),
    );
    reply.setCookie(SESSION_COOKIE, token, cookieOptions(this.deps.publicUrl, "session", maxAge));
  }

  /** The per-browser CSRF token (double-submit: cookie and form field must match). */
  csrf(req: FastifyRequest, reply: FastifyReply): string {
    const existing = req.cookies[CSRF_COOKIE];
    if (existing !== undefined && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
    const token = newSecret();
    reply.setCookie(CSRF_COOKIE, token, cookieOptions(this.deps.publicUrl, "session"));
    req.cookies[CSRF_COOKIE] = token;
    return token;
  }

  csrfValid(req: FastifyRequest): boolean {
    const cookie = req.cookies[CSRF_COOKIE];
    const field = (req.body as Record<string, unknown> | undefined)?._csrf;
    return (
      typeof cookie === "string" && typeof field === "string" && constantTimeEqual(cookie, field)
    );
  }

  page(
    reply: FastifyReply,
    template: string,
    data: Record<string, unknown>,
    options: PageOptions,
    status = 200,
  ): FastifyReply {
    return reply
      .status(status)
      .header("content-type", "text/html; charset=utf-8")
      .header("cache-control", "no-store")
      .send(this.views.page(template, data, options));
  }

  /**
   * A refused login: the fixed message for the person, the detail for the admin in the audit
   * log under the reference shown on the page.
   */
  async refuse(
    req: FastifyRequest,
    reply: FastifyReply,
    message: LoginMessageKey,
    event: {
      type: string;
      reason: string;
      account?: Account | undefined;
      connection?: Connection | undefined;
      userId?: string | undefined;
      detail?: Record<string, unknown>;
    },
    status = 400,
  ): Promise<FastifyReply> {
    const reference = newReference();
    await audit(
      this.store,
      {
        type: event.type,
        outcome: "failure",
        reason: event.reason,
        accountId: event.account?.id ?? event.connection?.accountId ?? null,
        connectionId: event.connection?.id ?? null,
        userId: event.userId ?? null,
        actor: "anonymous",
        ip: req.ip,
        reference,
        detail: event.detail ?? {},
      },
      this.deps.now(),
    );
    return this.page(
      reply,
      "error",
      { message: LOGIN_MESSAGES[message], reference },
      { title: "Sign-in failed" },
      status,
    );
  }
}

/** A same-origin path to return to, or undefined: never an open redirect. */
export function safeReturnPath(value: unknown): string | undefined {
  if (typeof value !== "string" || value.length > 512) return undefined;
  // One leading slash, no scheme-relative "//", no backslashes (browsers read "/\" as "//").
  if (!/^\/(?![/\\])[^\s\\]*$/.test(value)) return undefined;
  return value;
}

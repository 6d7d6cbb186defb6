/**
 * buildApp(): the Gatehouse web server as a Fastify instance, one concern a plugin. Thin: it
 * translates HTTP to domain calls. Tests drive it with inject(); the CLI listens with it.
 */

import fastifyCookie from "@fastify/cookie";
import fastifyFormbody from "@fastify/formbody";
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyServerOptions,
} from "fastify";
import type { Session } from "../domain/model.ts";
import { newReference } from "../domain/secrets.ts";
import { sweepExpired } from "../domain/session-events.ts";
import { AppContext } from "./context.ts";
import type { AppDeps } from "./deps.ts";
import { oidcRoutes } from "./oidc/routes.ts";
import { adminApiRoutes } from "./routes/admin-api.ts";
import { adminPageRoutes } from "./routes/admin-pages.ts";
import { pageRoutes } from "./routes/pages.ts";
import { passwordRoutes } from "./routes/password.ts";
import { samlRoutes } from "./routes/saml.ts";
import { setupRoutes } from "./routes/setup.ts";
import { sloRoutes } from "./routes/slo.ts";
import { createViews } from "./views.ts";

declare module "fastify" {
  interface FastifyInstance {
    /** Ends the sessions expired at `now` (telling the apps), then deletes expired records. */
    sweep(now: Date): Promise<Session[]>;
  }
}

/** Extra route plugins (password login, SLO, admin...) register through this list. */
export type RoutePlugin = (app: FastifyInstance, ctx: AppContext) => void | Promise<void>;

const SECURITY_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};
const DEFAULT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export async function buildApp(
  deps: AppDeps,
  extraRoutes: readonly RoutePlugin[] = [],
): Promise<FastifyInstance> {
  const options: FastifyServerOptions = {
    logger: deps.logger ?? false,
    // A hop count is valid at run time (proxy-addr); the type only lists the other forms.
    trustProxy: (deps.trustProxy ?? false) as boolean,
    bodyLimit: 1024 * 1024,
    // Request IDs in logs, never in pages.
    genReqId: () => newReference(),
  };
  const app = Fastify(options);
  const ctx = new AppContext(deps, createViews());

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: 1024 * 1024 });

  app.addHook("onSend", async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS))
      if (!reply.hasHeader(k)) reply.header(k, v);
    if (!reply.hasHeader("content-security-policy"))
      reply.header("content-security-policy", DEFAULT_CSP);
    return payload;
  });

  // Never a stack trace: a readable page (or JSON for APIs), the detail in the log.
  app.setErrorHandler(async (error: FastifyError, req, reply) => {
    const status =
      error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 500;
    if (status >= 500) req.log.error({ err: error }, "request failed");
    else req.log.info({ err: error }, "request refused");
    const message =
      status === 413
        ? "The request was too large."
        : status >= 500
          ? "Something went wrong on our side. Please try again in a moment."
          : "The request could not be understood.";
    if (req.url.startsWith("/admin/api/") || req.headers.accept?.includes("application/json")) {
      return reply.status(status).send({
        error: status >= 500 ? "internal_error" : "bad_request",
        message,
        reference: req.id,
      });
    }
    return ctx.page(
      reply,
      "error",
      { heading: "Something went wrong", message, reference: req.id },
      { title: "Error" },
      status,
    );
  });
  app.setNotFoundHandler(async (req, reply) => {
    if (req.url.startsWith("/admin/api/"))
      return reply.status(404).send({ error: "not_found", message: "No such endpoint." });
    return ctx.page(
      reply,
      "message",
      { heading: "Page not found", message: "There is nothing at this address." },
      { title: "Not found" },
      404,
    );
  });

  app.get("/healthz", async () => ({ ok: true }));

  pageRoutes(app, ctx);
  samlRoutes(app, ctx);
  passwordRoutes(app, ctx);
  sloRoutes(app, ctx);
  adminApiRoutes(app, ctx);
  adminPageRoutes(app, ctx);
  setupRoutes(app, ctx);
  oidcRoutes(app, ctx);
  for (const plugin of extraRoutes) await plugin(app, ctx);
  // Through ctx.store: an expiry the sweep finds is reported like any other session end.
  app.decorate("sweep", (now: Date) => sweepExpired(ctx.store, now));
  return app;
}

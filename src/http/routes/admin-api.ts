/**
 * The admin API: JSON under /admin/api, in its own Fastify context behind a bearer token (the
 * configured admin token, compared in constant time). Thin over src/domain/admin.ts: every
 * change there is audited with actor "admin-api". Bodies are checked by JSON schemas that refuse
 * unknown properties; domain refusals come back as { error: "invalid", field, message }.
 */

import type { FastifyError, FastifyInstance, FastifyRequest } from "fastify";
import {
  type Actor,
  AdminError,
  addUser,
  createAccount,
  createConnection,
  importUsersCsv,
  removeBinding,
  requireAccount,
  requireConnection,
  setConnectionActive,
  updateAccount,
  updateConnection,
  updateUser,
} from "../../domain/admin.ts";
import { audit } from "../../domain/audit.ts";
import type { AccountSettings, Role } from "../../domain/model.ts";
import { rollbackSso } from "../../domain/rollback.ts";
import { constantTimeEqual } from "../../domain/secrets.ts";
import type { AppContext } from "../context.ts";
import { oidcAdminRoutes } from "../oidc/admin-clients.ts";
import {
  type ConnectionBody,
  certificateViews,
  connectionInput,
  publicUser,
  spValues,
  withSamlFields,
} from "./admin-shared.ts";
import { setupLinkApiRoutes } from "./setup.ts";

export const ADMIN_API_PREFIX = "/admin/api";
const ACTOR = "admin-api";
/** Failed bearer attempts are audited at most once per IP in this window (no log flooding). */
const AUTH_FAILURE_AUDIT_WINDOW_SECONDS = 60;
const CSV_BODY_LIMIT = 1024 * 1024;
const CONNECTION_BODY_LIMIT = 1536 * 1024;
const AUDIT_LIMIT_MAX = 1000;

// Fastify's Ajv runs with removeAdditional: true, which silently drops properties where a schema
// says `additionalProperties: false`. A schema that nothing satisfies refuses them instead: a
// misspelt field is an error the caller sees, not a setting quietly left unchanged.
const NOTHING = { not: {} } as const;

function object(properties: Record<string, unknown>, required: string[] = []) {
  return { type: "object", properties, required, additionalProperties: NOTHING } as const;
}

const str = { type: "string" } as const;
const bool = { type: "boolean" } as const;
const nullableStr = { type: ["string", "null"] } as const;
const role = { type: "string", enum: ["admin", "supervisor", "agent", "user"] } as const;

const accountCreateSchema = object({ name: str, displayName: str, settings: { type: "object" } }, [
  "name",
]);
const accountPatchSchema = object({ displayName: str, settings: { type: "object" } });
const rollbackSchema = object({ onlyUserIds: { type: "array", items: str, maxItems: 10_000 } });
const connectionSchema = object({
  name: str,
  metadataXml: str,
  metadataUrl: str,
  idpEntityId: str,
  ssoUrl: str,
  sloUrl: nullableStr,
  certificates: { type: "array", items: str, maxItems: 20 },
  spEntityId: str,
  acsUrl: str,
  allowSha1: bool,
  signRequests: bool,
  requireSignedAssertion: bool,
  requireSignedResponse: bool,
});
const userCreateSchema = object(
  {
    username: str,
    email: str,
    role,
    ssoId: nullableStr,
    password: str,
    breakGlass: bool,
    disabled: bool,
  },
  ["username", "email"],
);
const userPatchSchema = object({
  username: str,
  email: str,
  role,
  ssoId: nullableStr,
  password: str,
  breakGlass: bool,
  disabled: bool,
});
// The CSV as a text/csv body (a string) or as JSON { csv }.
const csvBodySchema = { anyOf: [str, object({ csv: str }, ["csv"])] } as const;
const auditQuerySchema = object({
  account: str,
  reference: str,
  type: str,
  limit: { type: "integer", minimum: 1, maximum: AUDIT_LIMIT_MAX },
  before: str,
});

type Params = { id: string };

export function adminApiRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.register(async (scope) => adminApi(scope, ctx), { prefix: ADMIN_API_PREFIX });
}

async function adminApi(scope: FastifyInstance, ctx: AppContext): Promise<void> {
  const { store } = ctx;
  const who = (req: FastifyRequest): Actor => ({ actor: ACTOR, ip: req.ip });
  const now = () => ctx.deps.now();

  scope.addContentTypeParser(
    "text/csv",
    { parseAs: "string", bodyLimit: CSV_BODY_LIMIT },
    (_req, body, done) => done(null, body),
  );

  scope.addHook("onRequest", async (req, reply) => {
    const refusal = bearerRefusal(req, ctx.deps.adminToken);
    if (refusal === undefined) return;
    const at = now();
    const ip = req.ip;
    const hits = await store.counters.hit(
      `admin-api-auth-failure:${ip}`,
      AUTH_FAILURE_AUDIT_WINDOW_SECONDS,
      at,
    );
    if (hits === 1) {
      await audit(
        store,
        {
          type: "admin.api.auth",
          outcome: "failure",
          reason: refusal.reason,
          actor: "anonymous",
          ip,
          detail: { method: req.method, path: req.url.split("?")[0] },
        },
        at,
      );
    }
    return reply
      .status(401)
      .header(
        "www-authenticate",
        `Bearer realm="gatehouse-admin", error="invalid_token", error_description="${refusal.message}"`,
      )
      .header("cache-control", "no-store")
      .send({ error: "unauthorized", message: refusal.message });
  });

  scope.addHook("onSend", async (_req, reply, payload) => {
    reply.header("cache-control", "no-store");
    return payload;
  });

  scope.setErrorHandler(async (error: FastifyError | AdminError, _req, reply) => {
    if (error instanceof AdminError)
      return reply
        .status(error.status)
        .send({ error: "invalid", field: error.field, message: error.message });
    if (error.validation !== undefined) {
      const first = error.validation[0]!;
      const { field, message } = describeValidation(first, error.validationContext);
      return reply.status(400).send({ error: "invalid", field, message });
    }
    // Everything else (malformed JSON, too large, a bug) goes to the app's handler.
    throw error;
  });

  // Unknown paths under the prefix answer after the bearer check: nothing to map anonymously.
  scope.setNotFoundHandler(async (_req, reply) =>
    reply.status(404).send({ error: "not_found", message: "No such endpoint." }),
  );

  // ------------------------------------------------------------------------------- accounts

  oidcAdminRoutes(scope, ctx);
  setupLinkApiRoutes(scope, ctx);

  scope.get("/accounts", async () => ({ accounts: await store.accounts.list() }));

  scope.post("/accounts", { schema: { body: accountCreateSchema } }, async (req, reply) => {
    const body = req.body as {
      name: string;
      displayName?: string;
      settings?: Partial<AccountSettings>;
    };
    const account = await createAccount(store, body, who(req), now());
    return reply.status(201).send({ account });
  });

  scope.get<{ Params: Params }>("/accounts/:id", async (req) => ({
    account: await requireAccount(store, req.params.id),
  }));

  scope.patch<{ Params: Params }>(
    "/accounts/:id",
    { schema: { body: accountPatchSchema } },
    async (req) => {
      const account = await requireAccount(store, req.params.id);
      const body = req.body as { displayName?: string; settings?: Partial<AccountSettings> };
      return { account: await updateAccount(store, account.id, body, who(req), now()) };
    },
  );

  // Netcore's rollback: SAML off, connections deactivated, every user mailed a temporary
  // password. A mail failure leaves that user unchanged; run again with onlyUserIds for them.
  scope.post<{ Params: Params }>(
    "/accounts/:id/rollback",
    { schema: { body: rollbackSchema } },
    async (req) => {
      const account = await requireAccount(store, req.params.id);
      const body = (req.body ?? {}) as { onlyUserIds?: string[] };
      const result = await rollbackSso(
        store,
        ctx.deps.mailer,
        account.id,
        who(req),
        now(),
        ctx.url("/login"),
        body.onlyUserIds === undefined ? {} : { onlyUserIds: body.onlyUserIds },
      );
      return {
        ...result,
        mailed: result.users.filter((u) => u.outcome === "mailed"),
        failures: result.users.filter((u) => u.outcome !== "mailed"),
      };
    },
  );

  // ---------------------------------------------------------------------------- connections

  scope.get<{ Params: Params }>("/accounts/:id/connections", async (req) => {
    const account = await requireAccount(store, req.params.id);
    return { connections: await store.connections.list(account.id) };
  });

  scope.post<{ Params: Params }>(
    "/accounts/:id/connections",
    { schema: { body: connectionSchema }, bodyLimit: CONNECTION_BODY_LIMIT },
    async (req, reply) => {
      const account = await requireAccount(store, req.params.id);
      const body = req.body as ConnectionBody;
      const result = await withSamlFields(metadataSource(body), async () =>
        createConnection(
          store,
          account.id,
          await connectionInput(ctx, account, body),
          who(req),
          now(),
        ),
      );
      return reply.status(201).send(await connectionDetail(result.connection.id, result.warnings));
    },
  );

  scope.get<{ Params: Params }>("/connections/:id", async (req) => connectionDetail(req.params.id));

  scope.put<{ Params: Params }>(
    "/connections/:id",
    { schema: { body: connectionSchema }, bodyLimit: CONNECTION_BODY_LIMIT },
    async (req) => {
      const existing = await requireConnection(store, req.params.id);
      const account = await requireAccount(store, existing.accountId);
      const body = req.body as ConnectionBody;
      const result = await withSamlFields(metadataSource(body), async () =>
        updateConnection(
          store,
          existing.id,
          await connectionInput(ctx, account, body, existing),
          who(req),
          now(),
        ),
      );
      return connectionDetail(result.connection.id, result.warnings);
    },
  );

  for (const [path, active] of [
    ["deactivate", false],
    ["activate", true],
  ] as const) {
    // No body to describe: whatever is sent is ignored.
    scope.post<{ Params: Params }>(`/connections/:id/${path}`, async (req) => ({
      connection: await setConnectionActive(store, req.params.id, active, who(req), now()),
    }));
  }

  async function connectionDetail(id: string, warnings: readonly string[] = []) {
    const connection = await requireConnection(store, id);
    return {
      connection,
      certificates: certificateViews(connection, now()),
      sp: spValues(ctx, connection),
      warnings,
    };
  }

  // ---------------------------------------------------------------------------------- users

  scope.get<{ Params: Params }>("/accounts/:id/users", async (req) => {
    const account = await requireAccount(store, req.params.id);
    return { users: (await store.users.list(account.id)).map(publicUser) };
  });

  scope.post<{ Params: Params }>(
    "/accounts/:id/users",
    { schema: { body: userCreateSchema } },
    async (req, reply) => {
      const account = await requireAccount(store, req.params.id);
      const body = req.body as { username: string; email: string; role?: Role };
      const user = await addUser(store, account.id, body, who(req), now());
      return reply.status(201).send({ user: publicUser(user) });
    },
  );

  scope.post<{ Params: Params }>(
    "/accounts/:id/users/import",
    { schema: { body: csvBodySchema }, bodyLimit: CSV_BODY_LIMIT + 1024 },
    async (req) => {
      const account = await requireAccount(store, req.params.id);
      const csv = csvOf(req);
      return importUsersCsv(store, account.id, csv, who(req), now());
    },
  );

  scope.patch<{ Params: Params }>(
    "/users/:id",
    { schema: { body: userPatchSchema } },
    async (req) => ({
      user: publicUser(await updateUser(store, req.params.id, req.body as object, who(req), now())),
    }),
  );

  scope.get<{ Params: Params }>("/users/:id/bindings", async (req) => {
    const user = await store.users.get(req.params.id);
    if (user === undefined) throw new AdminError("id", "No such user.", 404);
    return { bindings: await store.bindings.listForUser(user.id) };
  });

  scope.delete<{ Params: Params }>("/bindings/:id", async (req, reply) => {
    await removeBinding(store, req.params.id, who(req), now());
    return reply.status(204).send();
  });

  // ---------------------------------------------------------------------------------- audit

  scope.get("/audit", { schema: { querystring: auditQuerySchema } }, async (req) => {
    const q = req.query as {
      account?: string;
      reference?: string;
      type?: string;
      limit?: number;
      before?: string;
    };
    const account = q.account === undefined ? undefined : await requireAccount(store, q.account);
    let before: Date | undefined;
    if (q.before !== undefined) {
      before = new Date(q.before);
      if (Number.isNaN(before.getTime()))
        throw new AdminError("before", "before is an ISO 8601 time, e.g. 2026-11-22T09:00:00Z.");
    }
    const events = await store.audit.query({
      ...(account === undefined ? {} : { accountId: account.id }),
      ...(q.reference === undefined ? {} : { reference: q.reference.trim().toUpperCase() }),
      ...(q.type === undefined ? {} : { type: q.type }),
      ...(before === undefined ? {} : { before }),
      limit: q.limit ?? 100,
    });
    return { events };
  });
}

interface BearerRefusal {
  readonly reason: "token_missing" | "token_in_url" | "token_invalid";
  readonly message: string;
}

function bearerRefusal(req: FastifyRequest, adminToken: string): BearerRefusal | undefined {
  // A token in the URL ends up in logs and browser history: refused even beside a good header.
  const query = req.query as Record<string, unknown> | undefined;
  if (query !== undefined && ["access_token", "token"].some((k) => k in query))
    return {
      reason: "token_in_url",
      message: "Send the admin token in the Authorization header, never in the URL.",
    };
  const header = req.headers.authorization;
  if (header === undefined)
    return { reason: "token_missing", message: "Authorization: Bearer <admin token> required." };
  const match = /^Bearer ([\x21-\x7e]+)$/.exec(header);
  if (match === null || !constantTimeEqual(match[1]!, adminToken))
    return { reason: "token_invalid", message: "The admin token is not valid." };
  return undefined;
}

function metadataSource(body: ConnectionBody): string {
  return body.metadataUrl !== undefined ? "metadataUrl" : "metadataXml";
}

function csvOf(req: FastifyRequest): string {
  const body = req.body as string | { csv: string };
  return typeof body === "string" ? body : body.csv;
}

/** An Ajv error as the field it concerns (dotted) and a sentence. */
function describeValidation(
  e: { instancePath: string; keyword: string; message?: string; params: Record<string, unknown> },
  context: string | undefined,
): { field: string; message: string } {
  const path = e.instancePath.split("/").filter(Boolean).join(".");
  if (e.keyword === "required") {
    const missing = String(e.params.missingProperty);
    const field = path === "" ? missing : `${path}.${missing}`;
    return { field, message: `${field} is required.` };
  }
  if (e.keyword === "not" && path !== "")
    return { field: path, message: `Unknown property "${path}".` };
  const field = path === "" ? (context ?? "body") : path;
  return { field, message: `${field} ${e.message ?? "is invalid"}.` };
}

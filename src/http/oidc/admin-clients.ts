/**
 * Admin API for the OpenID Provider, mounted inside the admin API's context (bearer token):
 * clients (the secret is in the creation answer only) and signing key rotation.
 */

import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Actor } from "../../domain/admin.ts";
import {
  addClient,
  type ClientInput,
  listClients,
  removeClient,
  rotateSigningKeys,
} from "../../domain/oidc.ts";
import type { AppContext } from "../context.ts";

/** Retired keys stay published for the longest token lifetime (ID and access tokens: 1 h). */
const KEY_RETENTION_MS = 2 * 3600 * 1000;

export function oidcAdminRoutes(scope: FastifyInstance, ctx: AppContext): void {
  const who = (req: FastifyRequest): Actor => ({ actor: "admin-api", ip: req.ip });

  scope.get("/clients", async () => ({ clients: await listClients(ctx.store) }));

  scope.post("/clients", async (req, reply) => {
    const result = await addClient(ctx.store, req.body as ClientInput, who(req), ctx.deps.now());
    return reply.status(201).send(result);
  });

  scope.delete<{ Params: { clientId: string } }>("/clients/:clientId", async (req, reply) => {
    await removeClient(ctx.store, req.params.clientId, who(req), ctx.deps.now());
    return reply.status(204).send();
  });

  // The new key signs after the next start of each instance (the provider loads keys at start).
  scope.post("/oidc/rotate-keys", async (req) =>
    rotateSigningKeys(ctx.store, KEY_RETENTION_MS, who(req), ctx.deps.now()),
  );
}

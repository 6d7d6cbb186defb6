/**
 * The Store port over Kysely, shared by both backends: the queries are the same, only the
 * column codec, the unique-violation decoding and the connection handling differ (sqlite.ts,
 * postgres.ts).
 *
 * Single-use records are consumed with one statement each (DELETE ... RETURNING, or an upsert
 * whose update is conditional), never a read then a write: the database decides which of several
 * concurrent consumers wins, on one instance or many.
 */

import { type ExpressionBuilder, type Kysely, sql } from "kysely";
import { newId } from "../domain/ids.ts";
import { DEFAULT_ACCOUNT_SETTINGS } from "../domain/model.ts";
import { type Store, StoreConflictError } from "../domain/store.ts";
import {
  auditColumns,
  connectionColumns,
  emailKey,
  nameKey,
  sessionColumns,
  toAccount,
  toAuditEvent,
  toBinding,
  toConnection,
  toOidcClient,
  toOidcKey,
  toOidcRecord,
  toPendingRequest,
  toSession,
  toToken,
  toUser,
  userColumns,
} from "./rows.ts";
import { type Codec, type Database, writeJson } from "./schema.ts";

export interface Backend {
  readonly kind: Store["kind"];
  readonly codec: Codec;
  /** The port's constraint name when `error` is a unique violation, else undefined. */
  uniqueViolation(error: unknown): string | undefined;
}

/** Ended and expired sessions are kept this long, for the admin's view of recent sign-outs. */
const ENDED_SESSION_RETENTION_MS = 24 * 60 * 60 * 1000;
const AUDIT_DEFAULT_LIMIT = 100;
const AUDIT_MAX_LIMIT = 1000;

export function kyselyStore(db: Kysely<Database>, backend: Backend): Store {
  const c = backend.codec;

  /** Runs a write, turning a unique violation into the port's StoreConflictError. */
  async function write<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (error) {
      const constraint = backend.uniqueViolation(error);
      if (constraint !== undefined) throw new StoreConflictError(constraint);
      throw error;
    }
  }

  function missing(what: string, id: string): Error {
    return new Error(`no ${what} with id ${id}`);
  }

  /** Records without an expiry never expire; the others until expires_at (exclusive). */
  function unexpired(now: Date) {
    return (eb: ExpressionBuilder<Database, "oidc_records">) =>
      eb.or([eb("expires_at", "is", null), eb("expires_at", ">", c.date(now))]);
  }

  const store: Store = {
    kind: backend.kind,

    accounts: {
      async create(a, now) {
        const row = await write(() =>
          db
            .insertInto("accounts")
            .values({
              id: newId("acc"),
              name: a.name,
              name_key: nameKey(a.name),
              display_name: a.displayName,
              settings: writeJson(a.settings ?? DEFAULT_ACCOUNT_SETTINGS),
              created_at: c.date(now),
              updated_at: c.date(now),
            })
            .returningAll()
            .executeTakeFirstOrThrow(),
        );
        return toAccount(row);
      },
      async get(id) {
        const row = await db
          .selectFrom("accounts")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirst();
        return row && toAccount(row);
      },
      async byName(name) {
        const row = await db
          .selectFrom("accounts")
          .selectAll()
          .where("name_key", "=", nameKey(name))
          .executeTakeFirst();
        return row && toAccount(row);
      },
      async list() {
        const rows = await db.selectFrom("accounts").selectAll().orderBy("name_key").execute();
        return rows.map(toAccount);
      },
      async update(id, patch, now) {
        const row = await db
          .updateTable("accounts")
          .set({
            ...(patch.displayName === undefined ? {} : { display_name: patch.displayName }),
            ...(patch.settings === undefined ? {} : { settings: writeJson(patch.settings) }),
            updated_at: c.date(now),
          })
          .where("id", "=", id)
          .returningAll()
          .executeTakeFirst();
        if (row === undefined) throw missing("account", id);
        return toAccount(row);
      },
    },

    users: {
      async create(u, now) {
        const row = await write(() =>
          db
            .insertInto("users")
            .values({
              id: newId("usr"),
              account_id: u.accountId,
              username: u.username,
              email: u.email,
              email_key: emailKey(u.email),
              sso_id: u.ssoId,
              role: u.role,
              password_hash: u.passwordHash,
              totp_secret: u.totpSecret,
              break_glass: c.bool(u.breakGlass),
              must_change_password: c.bool(u.mustChangePassword),
              disabled: c.bool(u.disabled),
              created_at: c.date(now),
              updated_at: c.date(now),
            })
            .returningAll()
            .executeTakeFirstOrThrow(),
        );
        return toUser(row);
      },
      async get(id) {
        const row = await db
          .selectFrom("users")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirst();
        return row && toUser(row);
      },
      async byUsername(accountId, username) {
        const row = await db
          .selectFrom("users")
          .selectAll()
          .where("account_id", "=", accountId)
          .where("username", "=", username)
          .executeTakeFirst();
        return row && toUser(row);
      },
      async byEmail(accountId, email, caseInsensitive) {
        const rows = await db
          .selectFrom("users")
          .selectAll()
          .where("account_id", "=", accountId)
          .where("email_key", "=", emailKey(email))
          // The index narrows by the folded key; an exact comparison then keeps the case.
          .$if(!caseInsensitive, (q) => q.where("email", "=", email))
          .orderBy("username")
          .execute();
        return rows.map(toUser);
      },
      async byEmailAnyAccount(email) {
        const rows = await db
          .selectFrom("users")
          .selectAll()
          .where("email_key", "=", emailKey(email))
          .orderBy("account_id")
          .orderBy("username")
          .execute();
        return rows.map(toUser);
      },
      async bySsoId(accountId, ssoId) {
        const rows = await db
          .selectFrom("users")
          .selectAll()
          .where("account_id", "=", accountId)
          .where("sso_id", "=", ssoId)
          .orderBy("username")
          .execute();
        return rows.map(toUser);
      },
      async list(accountId) {
        const rows = await db
          .selectFrom("users")
          .selectAll()
          .where("account_id", "=", accountId)
          .orderBy("username")
          .execute();
        return rows.map(toUser);
      },
      async update(id, patch, now) {
        const row = await write(() =>
          db
            .updateTable("users")
            .set({ ...userColumns(patch, c), updated_at: c.date(now) })
            .where("id", "=", id)
            .returningAll()
            .executeTakeFirst(),
        );
        if (row === undefined) throw missing("user", id);
        return toUser(row);
      },
    },

    connections: {
      async create(k, now) {
        const row = await write(() =>
          db
            .insertInto("connections")
            .values({
              id: newId("con"),
              account_id: k.accountId,
              name: k.name,
              active: c.bool(k.active),
              idp_entity_id: k.idpEntityId,
              sso_url: k.ssoUrl,
              slo_url: k.sloUrl,
              certificates: writeJson(k.certificates),
              sp_entity_id: k.spEntityId,
              acs_url: k.acsUrl,
              allow_sha1: c.bool(k.allowSha1),
              sign_requests: c.bool(k.signRequests),
              require_signed_assertion: c.bool(k.requireSignedAssertion),
              require_signed_response: c.bool(k.requireSignedResponse),
              metadata_url: k.metadataUrl,
              tested_at: null,
              created_at: c.date(now),
              updated_at: c.date(now),
            })
            .returningAll()
            .executeTakeFirstOrThrow(),
        );
        return toConnection(row);
      },
      async get(id) {
        const row = await db
          .selectFrom("connections")
          .selectAll()
          .where("id", "=", id)
          .executeTakeFirst();
        return row && toConnection(row);
      },
      async list(accountId) {
        const rows = await db
          .selectFrom("connections")
          .selectAll()
          .where("account_id", "=", accountId)
          .orderBy("created_at")
          .orderBy("id")
          .execute();
        return rows.map(toConnection);
      },
      async listActive() {
        const rows = await db
          .selectFrom("connections")
          .selectAll()
          .where("active", "=", c.bool(true))
          .orderBy("created_at")
          .orderBy("id")
          .execute();
        return rows.map(toConnection);
      },
      async update(id, patch, now) {
        const row = await write(() =>
          db
            .updateTable("connections")
            .set({ ...connectionColumns(patch, c), updated_at: c.date(now) })
            .where("id", "=", id)
            .returningAll()
            .executeTakeFirst(),
        );
        if (row === undefined) throw missing("connection", id);
        return toConnection(row);
      },
    },

    bindings: {
      async create(b, now) {
        const row = await write(() =>
          db
            .insertInto("identity_bindings")
            .values({
              id: newId("bnd"),
              user_id: b.userId,
              connection_id: b.connectionId,
              subject: b.subject,
              created_at: c.date(now),
              last_used_at: c.date(now),
            })
            .returningAll()
            .executeTakeFirstOrThrow(),
        );
        return toBinding(row);
      },
      async find(connectionId, subject) {
        const row = await db
          .selectFrom("identity_bindings")
          .selectAll()
          .where("connection_id", "=", connectionId)
          .where("subject", "=", subject)
          .executeTakeFirst();
        return row && toBinding(row);
      },
      async listForUser(userId) {
        const rows = await db
          .selectFrom("identity_bindings")
          .selectAll()
          .where("user_id", "=", userId)
          .orderBy("created_at")
          .orderBy("id")
          .execute();
        return rows.map(toBinding);
      },
      async touch(id, now) {
        await db
          .updateTable("identity_bindings")
          .set({ last_used_at: c.date(now) })
          .where("id", "=", id)
          .execute();
      },
      async remove(id) {
        const r = await db.deleteFrom("identity_bindings").where("id", "=", id).executeTakeFirst();
        return r.numDeletedRows > 0n;
      },
    },

    sessions: {
      async create(s) {
        const row = await write(() =>
          db
            .insertInto("sessions")
            .values(sessionColumns(s, c))
            .returningAll()
            .executeTakeFirstOrThrow(),
        );
        return toSession(row);
      },
      async getLive(id, now) {
        const row = await db
          .selectFrom("sessions")
          .selectAll()
          .where("id", "=", id)
          .where("ended_at", "is", null)
          .where("idle_expires_at", ">", c.date(now))
          .where("absolute_expires_at", ">", c.date(now))
          .executeTakeFirst();
        return row && toSession(row);
      },
      async touch(id, now, idleExpiresAt) {
        const idle = c.date(idleExpiresAt);
        await db
          .updateTable("sessions")
          .set((eb) => ({
            last_seen_at: c.date(now),
            // Never past the absolute timeout, whatever the caller computed.
            idle_expires_at: eb
              .case()
              .when("absolute_expires_at", "<", idle)
              .then(eb.ref("absolute_expires_at"))
              .else(idle)
              .end(),
          }))
          .where("id", "=", id)
          .where("ended_at", "is", null)
          .execute();
      },
      async end(id, now, reason) {
        const r = await db
          .updateTable("sessions")
          .set({ ended_at: c.date(now), end_reason: reason })
          .where("id", "=", id)
          .where("ended_at", "is", null)
          .executeTakeFirst();
        return r.numUpdatedRows > 0n;
      },
      async endBySessionIndex(connectionId, sessionIndexes, now, reason) {
        if (sessionIndexes.length === 0) return [];
        const rows = await db
          .updateTable("sessions")
          .set({ ended_at: c.date(now), end_reason: reason })
          .where("connection_id", "=", connectionId)
          .where("session_index", "in", [...sessionIndexes])
          .where("ended_at", "is", null)
          .where("idle_expires_at", ">", c.date(now))
          .where("absolute_expires_at", ">", c.date(now))
          .returningAll()
          .execute();
        return rows.map(toSession);
      },
      async endByNameId(connectionId, nameId, now, reason) {
        const rows = await db
          .updateTable("sessions")
          .set({ ended_at: c.date(now), end_reason: reason })
          .where("connection_id", "=", connectionId)
          .where("name_id", "=", nameId)
          .where("ended_at", "is", null)
          .where("idle_expires_at", ">", c.date(now))
          .where("absolute_expires_at", ">", c.date(now))
          .returningAll()
          .execute();
        return rows.map(toSession);
      },
      async endForUser(userId, now, reason) {
        const rows = await db
          .updateTable("sessions")
          .set({ ended_at: c.date(now), end_reason: reason })
          .where("user_id", "=", userId)
          .where("ended_at", "is", null)
          .where("idle_expires_at", ">", c.date(now))
          .where("absolute_expires_at", ">", c.date(now))
          .returningAll()
          .execute();
        return rows.map(toSession);
      },
      async endExpired(now) {
        const t = c.date(now);
        const rows = await db
          .updateTable("sessions")
          .set((eb) => {
            // The earlier of the two timeouts ended it (touch() never pushes idle past absolute).
            const absolute = eb("idle_expires_at", ">=", eb.ref("absolute_expires_at"));
            return {
              ended_at: eb
                .case()
                .when(absolute)
                .then(eb.ref("absolute_expires_at"))
                .else(eb.ref("idle_expires_at"))
                .end(),
              end_reason: eb
                .case()
                .when(absolute)
                .then(sql.lit("absolute_timeout"))
                .else(sql.lit("idle_timeout"))
                .end(),
            };
          })
          .where("ended_at", "is", null)
          .where((eb) =>
            eb.or([eb("idle_expires_at", "<=", t), eb("absolute_expires_at", "<=", t)]),
          )
          .returningAll()
          .execute();
        return rows.map(toSession);
      },
      async listLive(userId, now) {
        const rows = await db
          .selectFrom("sessions")
          .selectAll()
          .where("user_id", "=", userId)
          .where("ended_at", "is", null)
          .where("idle_expires_at", ">", c.date(now))
          .where("absolute_expires_at", ">", c.date(now))
          .orderBy("created_at", "desc")
          .orderBy("id")
          .execute();
        return rows.map(toSession);
      },
    },

    pendingRequests: {
      async put(r) {
        await write(() =>
          db
            .insertInto("pending_requests")
            .values({
              id: r.id,
              connection_id: r.connectionId,
              browser_hash: r.browserHash,
              return_to: r.returnTo,
              created_at: c.date(r.createdAt),
              expires_at: c.date(r.expiresAt),
            })
            .execute(),
        );
      },
      async consume(id, browserHash, now) {
        // Every condition in the WHERE: a request for another browser, or an expired one, is
        // left alone (sweep removes it), and only one concurrent DELETE can return the row.
        const row = await db
          .deleteFrom("pending_requests")
          .where("id", "=", id)
          .where("browser_hash", "=", browserHash)
          .where("expires_at", ">", c.date(now))
          .returningAll()
          .executeTakeFirst();
        return row && toPendingRequest(row);
      },
    },

    replay: {
      async consume(key, expiresAt, now) {
        // Inserted: first sight. Conflict with an expired entry: the update takes it over.
        // Conflict with a live one: the update's WHERE fails, nothing is returned.
        const row = await db
          .insertInto("replay_cache")
          .values({ key, expires_at: c.date(expiresAt) })
          .onConflict((oc) =>
            oc
              .column("key")
              .doUpdateSet((eb) => ({ expires_at: eb.ref("excluded.expires_at") }))
              .where("replay_cache.expires_at", "<=", c.date(now)),
          )
          .returning("key")
          .executeTakeFirst();
        return row !== undefined;
      },
    },

    tokens: {
      async put(t) {
        await write(() =>
          db
            .insertInto("tokens")
            .values({
              hash: t.hash,
              kind: t.kind,
              payload: writeJson(t.payload),
              created_at: c.date(t.createdAt),
              expires_at: c.date(t.expiresAt),
            })
            .execute(),
        );
      },
      async consume(hash, kind, now) {
        const row = await db
          .deleteFrom("tokens")
          .where("hash", "=", hash)
          .where("kind", "=", kind)
          .where("expires_at", ">", c.date(now))
          .returningAll()
          .executeTakeFirst();
        return row && toToken(row);
      },
      async peek(hash, kind, now) {
        const row = await db
          .selectFrom("tokens")
          .selectAll()
          .where("hash", "=", hash)
          .where("kind", "=", kind)
          .where("expires_at", ">", c.date(now))
          .executeTakeFirst();
        return row && toToken(row);
      },
      async revoke(hash) {
        const r = await db.deleteFrom("tokens").where("hash", "=", hash).executeTakeFirst();
        return r.numDeletedRows > 0n;
      },
    },

    audit: {
      async append(e) {
        await write(() => db.insertInto("audit_events").values(auditColumns(e, c)).execute());
      },
      async query(q) {
        const limit = Math.min(
          Math.max(Math.trunc(q.limit ?? AUDIT_DEFAULT_LIMIT), 0),
          AUDIT_MAX_LIMIT,
        );
        if (limit === 0) return [];
        const rows = await db
          .selectFrom("audit_events")
          .selectAll()
          .$if(q.accountId !== undefined, (s) => s.where("account_id", "=", q.accountId!))
          .$if(q.reference !== undefined, (s) => s.where("reference", "=", q.reference!))
          .$if(q.type !== undefined, (s) => s.where("type", "=", q.type!))
          .$if(q.before !== undefined, (s) => s.where("at", "<", c.date(q.before!)))
          .orderBy("at", "desc")
          .orderBy("id", "desc")
          .limit(limit)
          .execute();
        return rows.map(toAuditEvent);
      },
    },

    counters: {
      async hit(key, windowSeconds, now) {
        const windowMs = windowSeconds * 1000;
        const start = Math.floor(now.getTime() / windowMs) * windowMs;
        // Same window: count + 1. A later window: start again at 1. An earlier window (an
        // instance whose clock lags) counts in the current one rather than resetting it.
        const row = await db
          .insertInto("counters")
          .values({
            key,
            window_start: c.date(new Date(start)),
            expires_at: c.date(new Date(start + windowMs)),
            count: 1,
          })
          .onConflict((oc) =>
            oc.column("key").doUpdateSet((eb) => {
              const stale = eb("counters.window_start", "<", eb.ref("excluded.window_start"));
              return {
                count: eb
                  .case()
                  .when(stale)
                  .then(1)
                  .else(eb("counters.count", "+", 1))
                  .end(),
                window_start: eb
                  .case()
                  .when(stale)
                  .then(eb.ref("excluded.window_start"))
                  .else(eb.ref("counters.window_start"))
                  .end(),
                expires_at: eb
                  .case()
                  .when(stale)
                  .then(eb.ref("excluded.expires_at"))
                  .else(eb.ref("counters.expires_at"))
                  .end(),
              };
            }),
          )
          .returning("count")
          .executeTakeFirstOrThrow();
        return Number(row.count);
      },
      async reset(key) {
        await db.deleteFrom("counters").where("key", "=", key).execute();
      },
    },

    oidc: {
      async upsert(model, id, payload, expiresAt, index) {
        const values = {
          payload: writeJson(payload),
          grant_id: index.grantId ?? null,
          user_code: index.userCode ?? null,
          uid: index.uid ?? null,
          expires_at: expiresAt === null ? null : c.date(expiresAt),
          consumed_at: null,
        };
        await db
          .insertInto("oidc_records")
          .values({ model, id, ...values })
          .onConflict((oc) => oc.columns(["model", "id"]).doUpdateSet(values))
          .execute();
      },
      async find(model, id, now) {
        const row = await db
          .selectFrom("oidc_records")
          .selectAll()
          .where("model", "=", model)
          .where("id", "=", id)
          .where(unexpired(now))
          .executeTakeFirst();
        return row && toOidcRecord(row);
      },
      async findByUid(model, uid, now) {
        const row = await db
          .selectFrom("oidc_records")
          .selectAll()
          .where("model", "=", model)
          .where("uid", "=", uid)
          .where(unexpired(now))
          .executeTakeFirst();
        return row && toOidcRecord(row);
      },
      async findByUserCode(model, userCode, now) {
        const row = await db
          .selectFrom("oidc_records")
          .selectAll()
          .where("model", "=", model)
          .where("user_code", "=", userCode)
          .where(unexpired(now))
          .executeTakeFirst();
        return row && toOidcRecord(row);
      },
      async consume(model, id, now) {
        // One conditional UPDATE: of concurrent redeemers of a code, one sees a row change.
        const r = await db
          .updateTable("oidc_records")
          .set({ consumed_at: c.date(now) })
          .where("model", "=", model)
          .where("id", "=", id)
          .where("consumed_at", "is", null)
          .executeTakeFirst();
        return r.numUpdatedRows > 0n;
      },
      async destroy(model, id) {
        await db
          .deleteFrom("oidc_records")
          .where("model", "=", model)
          .where("id", "=", id)
          .execute();
      },
      async revokeByGrantId(grantId) {
        await db.deleteFrom("oidc_records").where("grant_id", "=", grantId).execute();
      },
      async addKey(key) {
        await write(() =>
          db
            .insertInto("oidc_keys")
            .values({ kid: key.kid, jwk: writeJson(key.jwk), created_at: c.date(key.createdAt) })
            .execute(),
        );
      },
      async listKeys() {
        const rows = await db
          .selectFrom("oidc_keys")
          .selectAll()
          .orderBy("created_at", "desc")
          .orderBy("kid", "desc")
          .execute();
        return rows.map(toOidcKey);
      },
      async removeKey(kid) {
        const r = await db.deleteFrom("oidc_keys").where("kid", "=", kid).executeTakeFirst();
        return r.numDeletedRows > 0n;
      },
      async createClient(client) {
        await write(() =>
          db
            .insertInto("oidc_clients")
            .values({
              client_id: client.clientId,
              metadata: writeJson(client.metadata),
              created_at: c.date(client.createdAt),
            })
            .execute(),
        );
      },
      async getClient(clientId) {
        const row = await db
          .selectFrom("oidc_clients")
          .selectAll()
          .where("client_id", "=", clientId)
          .executeTakeFirst();
        return row && toOidcClient(row);
      },
      async listClients() {
        const rows = await db
          .selectFrom("oidc_clients")
          .selectAll()
          .orderBy("created_at")
          .orderBy("client_id")
          .execute();
        return rows.map(toOidcClient);
      },
      async removeClient(clientId) {
        const r = await db
          .deleteFrom("oidc_clients")
          .where("client_id", "=", clientId)
          .executeTakeFirst();
        return r.numDeletedRows > 0n;
      },
    },

    async sweep(now) {
      const t = c.date(now);
      await db.deleteFrom("pending_requests").where("expires_at", "<=", t).execute();
      await db.deleteFrom("tokens").where("expires_at", "<=", t).execute();
      await db.deleteFrom("replay_cache").where("expires_at", "<=", t).execute();
      await db.deleteFrom("counters").where("expires_at", "<=", t).execute();
      await db.deleteFrom("oidc_records").where("expires_at", "<=", t).execute();
      const cutoff = c.date(new Date(now.getTime() - ENDED_SESSION_RETENTION_MS));
      await db
        .deleteFrom("sessions")
        .where((eb) =>
          eb.or([
            eb("ended_at", "<=", cutoff),
            eb("idle_expires_at", "<=", cutoff),
            eb("absolute_expires_at", "<=", cutoff),
          ]),
        )
        .execute();
    },

    async close() {
      // Kysely closes what its dialect opened: the SQLite database, the pg Pool.
      await db.destroy();
    },
  };
  return Object.freeze(store);
}

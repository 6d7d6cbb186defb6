/**
 * Every entity of src/domain/model.ts. Foreign keys cascade from accounts down, so removing an
 * account removes its users, connections, bindings, sessions and pending requests; the audit trail
 * has none, on purpose: it outlives what it mentions.
 */

import type { Kysely, Migration } from "kysely";
import type { ColumnTypes } from "./types.ts";

export function initial(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("accounts")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("name_key", "text", (c) => c.notNull())
        .addColumn("display_name", "text", (c) => c.notNull())
        .addColumn("settings", t.json, (c) => c.notNull())
        .addColumn("created_at", t.date, (c) => c.notNull())
        .addColumn("updated_at", t.date, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("accounts_name_key_unique")
        .on("accounts")
        .column("name_key")
        .unique()
        .execute();

      await db.schema
        .createTable("users")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("account_id", "text", (c) =>
          c.notNull().references("accounts.id").onDelete("cascade"),
        )
        .addColumn("username", "text", (c) => c.notNull())
        .addColumn("email", "text", (c) => c.notNull())
        .addColumn("email_key", "text", (c) => c.notNull())
        .addColumn("sso_id", "text")
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("password_hash", "text")
        .addColumn("totp_secret", "text")
        .addColumn("break_glass", t.bool, (c) => c.notNull())
        .addColumn("must_change_password", t.bool, (c) => c.notNull())
        .addColumn("disabled", t.bool, (c) => c.notNull())
        .addColumn("created_at", t.date, (c) => c.notNull())
        .addColumn("updated_at", t.date, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("users_account_username_unique")
        .on("users")
        .columns(["account_id", "username"])
        .unique()
        .execute();
      await db.schema.createIndex("users_email_key").on("users").column("email_key").execute();
      await db.schema
        .createIndex("users_account_sso_id")
        .on("users")
        .columns(["account_id", "sso_id"])
        .execute();

      await db.schema
        .createTable("connections")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("account_id", "text", (c) =>
          c.notNull().references("accounts.id").onDelete("cascade"),
        )
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("active", t.bool, (c) => c.notNull())
        .addColumn("idp_entity_id", "text", (c) => c.notNull())
        .addColumn("sso_url", "text", (c) => c.notNull())
        .addColumn("slo_url", "text")
        .addColumn("certificates", t.json, (c) => c.notNull())
        .addColumn("sp_entity_id", "text", (c) => c.notNull())
        .addColumn("acs_url", "text", (c) => c.notNull())
        .addColumn("allow_sha1", t.bool, (c) => c.notNull())
        .addColumn("sign_requests", t.bool, (c) => c.notNull())
        .addColumn("require_signed_assertion", t.bool, (c) => c.notNull())
        .addColumn("require_signed_response", t.bool, (c) => c.notNull())
        .addColumn("metadata_url", "text")
        .addColumn("tested_at", t.date)
        .addColumn("created_at", t.date, (c) => c.notNull())
        .addColumn("updated_at", t.date, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("connections_account")
        .on("connections")
        .column("account_id")
        .execute();

      await db.schema
        .createTable("identity_bindings")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("connection_id", "text", (c) =>
          c.notNull().references("connections.id").onDelete("cascade"),
        )
        .addColumn("subject", "text", (c) => c.notNull())
        .addColumn("created_at", t.date, (c) => c.notNull())
        .addColumn("last_used_at", t.date, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("identity_bindings_subject_unique")
        .on("identity_bindings")
        .columns(["connection_id", "subject"])
        .unique()
        .execute();
      await db.schema
        .createIndex("identity_bindings_user")
        .on("identity_bindings")
        .column("user_id")
        .execute();

      await db.schema
        .createTable("sessions")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("user_id", "text", (c) => c.notNull().references("users.id").onDelete("cascade"))
        .addColumn("account_id", "text", (c) =>
          c.notNull().references("accounts.id").onDelete("cascade"),
        )
        .addColumn("connection_id", "text", (c) =>
          c.references("connections.id").onDelete("cascade"),
        )
        .addColumn("method", "text", (c) => c.notNull())
        .addColumn("mfa", t.bool, (c) => c.notNull())
        .addColumn("name_id", "text")
        .addColumn("name_id_format", "text")
        .addColumn("session_index", "text")
        .addColumn("created_at", t.date, (c) => c.notNull())
        .addColumn("last_seen_at", t.date, (c) => c.notNull())
        .addColumn("idle_expires_at", t.date, (c) => c.notNull())
        .addColumn("absolute_expires_at", t.date, (c) => c.notNull())
        .addColumn("ended_at", t.date)
        .addColumn("end_reason", "text")
        .execute();
      await db.schema
        .createIndex("sessions_connection_session_index")
        .on("sessions")
        .columns(["connection_id", "session_index"])
        .execute();
      await db.schema.createIndex("sessions_user").on("sessions").column("user_id").execute();

      await db.schema
        .createTable("pending_requests")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("connection_id", "text", (c) =>
          c.notNull().references("connections.id").onDelete("cascade"),
        )
        .addColumn("browser_hash", "text", (c) => c.notNull())
        .addColumn("return_to", "text")
        .addColumn("created_at", t.date, (c) => c.notNull())
        .addColumn("expires_at", t.date, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("pending_requests_expires_at")
        .on("pending_requests")
        .column("expires_at")
        .execute();

      await db.schema
        .createTable("replay_cache")
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("expires_at", t.date, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("replay_cache_expires_at")
        .on("replay_cache")
        .column("expires_at")
        .execute();

      await db.schema
        .createTable("tokens")
        .addColumn("hash", "text", (c) => c.primaryKey())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("payload", t.json, (c) => c.notNull())
        .addColumn("created_at", t.date, (c) => c.notNull())
        .addColumn("expires_at", t.date, (c) => c.notNull())
        .execute();
      await db.schema.createIndex("tokens_expires_at").on("tokens").column("expires_at").execute();

      await db.schema
        .createTable("audit_events")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("at", t.date, (c) => c.notNull())
        .addColumn("reference", "text", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("outcome", "text", (c) => c.notNull())
        .addColumn("reason", "text")
        .addColumn("account_id", "text")
        .addColumn("user_id", "text")
        .addColumn("connection_id", "text")
        .addColumn("actor", "text", (c) => c.notNull())
        .addColumn("ip", "text")
        .addColumn("detail", t.json, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("audit_events_account_at")
        .on("audit_events")
        .columns(["account_id", "at"])
        .execute();
      await db.schema.createIndex("audit_events_at").on("audit_events").column("at").execute();
      await db.schema
        .createIndex("audit_events_reference")
        .on("audit_events")
        .column("reference")
        .execute();

      await db.schema
        .createTable("counters")
        .addColumn("key", "text", (c) => c.primaryKey())
        .addColumn("window_start", t.date, (c) => c.notNull())
        .addColumn("expires_at", t.date, (c) => c.notNull())
        .addColumn("count", "integer", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("counters_expires_at")
        .on("counters")
        .column("expires_at")
        .execute();
    },
  };
}

/**
 * What the OpenID Provider for the apps keeps (issue 4): oidc-provider's records (sessions,
 * grants, codes, tokens, interactions) as opaque JSON with the secondary keys it looks them up by,
 * its signing keys, and the registered clients.
 */

import type { Kysely, Migration } from "kysely";
import type { ColumnTypes } from "./types.ts";

export function oidc(t: ColumnTypes): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("oidc_records")
        .addColumn("model", "text", (c) => c.notNull())
        .addColumn("id", "text", (c) => c.notNull())
        .addColumn("payload", t.json, (c) => c.notNull())
        .addColumn("grant_id", "text")
        .addColumn("user_code", "text")
        .addColumn("uid", "text")
        .addColumn("expires_at", t.date)
        .addColumn("consumed_at", t.date)
        .addPrimaryKeyConstraint("oidc_records_pk", ["model", "id"])
        .execute();
      await db.schema
        .createIndex("oidc_records_grant_id")
        .on("oidc_records")
        .column("grant_id")
        .execute();
      await db.schema
        .createIndex("oidc_records_uid")
        .on("oidc_records")
        .columns(["model", "uid"])
        .execute();
      await db.schema
        .createIndex("oidc_records_user_code")
        .on("oidc_records")
        .columns(["model", "user_code"])
        .execute();
      await db.schema
        .createIndex("oidc_records_expires_at")
        .on("oidc_records")
        .column("expires_at")
        .execute();

      await db.schema
        .createTable("oidc_keys")
        .addColumn("kid", "text", (c) => c.primaryKey())
        .addColumn("jwk", t.json, (c) => c.notNull())
        .addColumn("created_at", t.date, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("oidc_clients")
        .addColumn("client_id", "text", (c) => c.primaryKey())
        .addColumn("metadata", t.json, (c) => c.notNull())
        .addColumn("created_at", t.date, (c) => c.notNull())
        .execute();
    },
  };
}

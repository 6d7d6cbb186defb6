// The storage conformance suite on SQLite (node:sqlite), on a temporary database file.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openSqliteStore } from "../../src/store/sqlite.ts";
import { storeConformance } from "./conformance.ts";

const dir = mkdtempSync(join(tmpdir(), "gatehouse-store-"));

describe("SQLite store", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  describe("conformance", () => {
    // Each call opens another connection on the same file: a second process, as far as SQLite knows.
    storeConformance(() => openSqliteStore(join(dir, "gatehouse.db")));
  });

  it("creates the database file's directory when missing", async () => {
    const path = join(dir, "nested", "deeper", "g.db");
    const store = await openSqliteStore(path);
    await store.close();
    assert.ok(existsSync(path));
  });

  it("reopens a migrated database without migrating again, keeping the data", async () => {
    const path = join(dir, "reopen.db");
    const first = await openSqliteStore(path);
    const a = await first.accounts.create({ name: "Reopen", displayName: "R" }, new Date(0));
    await first.close();
    const second = await openSqliteStore(path);
    assert.deepEqual(await second.accounts.get(a.id), a);
    await second.close();
  });

  it("works in memory", async () => {
    const store = await openSqliteStore(":memory:");
    assert.equal(store.kind, "sqlite");
    assert.equal(await store.replay.consume("k", new Date(1000), new Date(0)), true);
    await store.close();
  });
});

/**
 * The storage port's conformance suite, run against every backend (sqlite.test.ts,
 * postgres.test.ts). `open` returns a new handle on the same database each time it is called
 * (for PostgreSQL: a new pool, i.e. another Gatehouse instance), so the suite can race two
 * instances. Tests share the database: each one makes its own accounts, keys and hashes.
 */

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import {
  type Account,
  type AccountSettings,
  type AuditEvent,
  type Connection,
  DEFAULT_ACCOUNT_SETTINGS,
  type PendingRequest,
  type Session,
  type User,
} from "../../src/domain/model.ts";
import {
  type NewConnection,
  type NewUser,
  type Store,
  StoreConflictError,
} from "../../src/domain/store.ts";

const T0 = new Date("2026-03-01T10:00:00.123Z");
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

function at(offsetMs: number): Date {
  return new Date(T0.getTime() + offsetMs);
}

function unique(prefix = "x"): string {
  return `${prefix}-${randomBytes(6).toString("hex")}`;
}

function conflict(constraint: string): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof StoreConflictError, `expected StoreConflictError, got ${String(e)}`);
    assert.equal(e.constraint, constraint);
    return true;
  };
}

const ID_SHAPE = (prefix: string) => new RegExp(`^${prefix}_[0-9a-hjkmnp-tv-z]{26}$`);

export function storeConformance(open: () => Promise<Store>): void {
  let store: Store;
  before(async () => {
    store = await open();
  });
  after(async () => {
    await store.close();
  });

  async function account(name = unique("Acme")): Promise<Account> {
    return store.accounts.create({ name, displayName: `${name} Inc.` }, T0);
  }

  function newUser(accountId: string, fields: Partial<NewUser> = {}): NewUser {
    const username = fields.username ?? unique("user");
    return {
      accountId,
      username,
      email: `${username}@example.com`,
      ssoId: null,
      role: "user",
      passwordHash: null,
      totpSecret: null,
      breakGlass: false,
      mustChangePassword: false,
      disabled: false,
      ...fields,
    };
  }

  function newConnection(accountId: string, fields: Partial<NewConnection> = {}): NewConnection {
    return {
      accountId,
      name: "Entra ID",
      active: true,
      idpEntityId: `https://sts.windows.net/${unique("tenant")}/`,
      ssoUrl: "https://login.microsoftonline.com/tenant/saml2",
      sloUrl: null,
      certificates: ["MIIC8DCCAdigAwIBAgIQ", "MIIC8DCCAdigAwIBAgIR"],
      spEntityId: "https://sso.example.com/sp",
      acsUrl: "https://sso.example.com/api/auth/saml/callback",
      allowSha1: false,
      signRequests: false,
      requireSignedAssertion: true,
      requireSignedResponse: false,
      metadataUrl: null,
      ...fields,
    };
  }

  function newSession(
    user: User,
    fields: Partial<Omit<Session, "endedAt" | "endReason">> = {},
  ): Omit<Session, "endedAt" | "endReason"> {
    return {
      id: randomBytes(32).toString("hex"),
      userId: user.id,
      accountId: user.accountId,
      connectionId: null,
      method: "password",
      mfa: false,
      nameId: null,
      nameIdFormat: null,
      sessionIndex: null,
      createdAt: T0,
      lastSeenAt: T0,
      idleExpiresAt: at(30 * MINUTE),
      absoluteExpiresAt: at(8 * HOUR),
      ...fields,
    };
  }

  describe("accounts", () => {
    it("create then get returns every field, default settings, a typed ID", async () => {
      const name = unique("Acme");
      const created = await store.accounts.create({ name, displayName: "Acme Inc." }, T0);
      assert.match(created.id, ID_SHAPE("acc"));
      const expected: Account = {
        id: created.id,
        name,
        displayName: "Acme Inc.",
        settings: DEFAULT_ACCOUNT_SETTINGS,
        createdAt: T0,
        updatedAt: T0,
      };
      assert.deepEqual(created, expected);
      const read = await store.accounts.get(created.id);
      assert.deepEqual(read, expected);
      assert.ok(Object.isFrozen(read));
      assert.ok(Object.isFrozen(read?.settings.samlLogin));
    });

    it("keeps every setting as given", async () => {
      const settings: AccountSettings = {
        samlLogin: { admin: true, supervisor: false, agent: true, user: true },
        ssoEnforced: true,
        multiLogin: true,
        multiLoginClaim: "http://schemas.example.com/claims/ssoid",
        emailSource: "attribute:http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
        emailCaseInsensitive: false,
        jitRole: "agent",
        allowIdpInitiated: true,
      };
      const a = await store.accounts.create(
        { name: unique("Set"), displayName: "S", settings },
        T0,
      );
      assert.deepEqual(a.settings, settings);
      assert.deepEqual((await store.accounts.get(a.id))?.settings, settings);
    });

    it("get of an unknown ID is undefined", async () => {
      assert.equal(await store.accounts.get("acc_00000000000000000000000000"), undefined);
    });

    it("byName ignores case", async () => {
      const name = unique("MixedCase");
      const a = await account(name);
      assert.equal((await store.accounts.byName(name.toUpperCase()))?.id, a.id);
      assert.equal((await store.accounts.byName(name.toLowerCase()))?.id, a.id);
      assert.equal((await store.accounts.byName(`${name}x`))?.id, undefined);
    });

    it("a name differing only in case conflicts (account.name)", async () => {
      const name = unique("Dup");
      await account(name);
      await assert.rejects(account(name.toUpperCase()), conflict("account.name"));
      await assert.rejects(account(name), conflict("account.name"));
    });

    it("list includes every account", async () => {
      const a = await account();
      const b = await account();
      const ids = (await store.accounts.list()).map((x) => x.id);
      assert.ok(ids.includes(a.id) && ids.includes(b.id));
    });

    it("update changes what it names, keeps the rest, moves updatedAt", async () => {
      const a = await account();
      const renamed = await store.accounts.update(a.id, { displayName: "New Name" }, at(1));
      assert.deepEqual(renamed, { ...a, displayName: "New Name", updatedAt: at(1) });
      const settings = { ...DEFAULT_ACCOUNT_SETTINGS, ssoEnforced: true };
      const set = await store.accounts.update(a.id, { settings }, at(2));
      assert.deepEqual(set, { ...renamed, settings, updatedAt: at(2) });
      assert.deepEqual(await store.accounts.get(a.id), set);
    });

    it("update of an unknown account rejects", async () => {
      await assert.rejects(
        store.accounts.update("acc_00000000000000000000000000", { displayName: "x" }, T0),
        /no account/,
      );
    });
  });

  describe("users", () => {
    it("create then get returns every field (non-null values)", async () => {
      const a = await account();
      const input = newUser(a.id, {
        ssoId: "ssoid-123",
        role: "supervisor",
        passwordHash: "$scrypt$ln=15,r=8,p=1$c2FsdA$aGFzaA",
        totpSecret: "JBSWY3DPEHPK3PXP",
        breakGlass: true,
        mustChangePassword: true,
        disabled: true,
      });
      const u = await store.users.create(input, at(456));
      assert.match(u.id, ID_SHAPE("usr"));
      const expected: User = { ...input, id: u.id, createdAt: at(456), updatedAt: at(456) };
      assert.deepEqual(u, expected);
      assert.deepEqual(await store.users.get(u.id), expected);
      assert.ok(Object.isFrozen(await store.users.get(u.id)));
    });

    it("create then get returns every field (nulls and false)", async () => {
      const a = await account();
      const input = newUser(a.id);
      const u = await store.users.create(input, T0);
      assert.deepEqual(await store.users.get(u.id), {
        ...input,
        id: u.id,
        createdAt: T0,
        updatedAt: T0,
      });
    });

    it("byUsername finds within the account only", async () => {
      const a = await account();
      const b = await account();
      const u = await store.users.create(newUser(a.id, { username: "alice" }), T0);
      assert.equal((await store.users.byUsername(a.id, "alice"))?.id, u.id);
      assert.equal(await store.users.byUsername(b.id, "alice"), undefined);
      assert.equal(await store.users.byUsername(a.id, "bob"), undefined);
    });

    it("a username is unique per account (user.username), reusable in another", async () => {
      const a = await account();
      const b = await account();
      await store.users.create(newUser(a.id, { username: "alice" }), T0);
      await assert.rejects(
        store.users.create(newUser(a.id, { username: "alice" }), T0),
        conflict("user.username"),
      );
      await store.users.create(newUser(b.id, { username: "alice" }), T0);
    });

    it("byEmail: case-insensitive when asked, exact otherwise", async () => {
      const a = await account();
      const upper = await store.users.create(
        newUser(a.id, { username: "a1", email: "Alice@Example.com" }),
        T0,
      );
      const lower = await store.users.create(
        newUser(a.id, { username: "a2", email: "alice@example.com" }),
        T0,
      );
      const ids = async (email: string, ci: boolean) =>
        (await store.users.byEmail(a.id, email, ci)).map((u) => u.id).sort();
      assert.deepEqual(await ids("ALICE@example.COM", true), [upper.id, lower.id].sort());
      assert.deepEqual(await ids("alice@example.com", false), [lower.id]);
      assert.deepEqual(await ids("Alice@Example.com", false), [upper.id]);
      assert.deepEqual(await ids("ALICE@EXAMPLE.COM", false), []);
      const other = await account();
      assert.deepEqual(await store.users.byEmail(other.id, "alice@example.com", true), []);
    });

    it("byEmailAnyAccount finds across accounts, ignoring case", async () => {
      const email = `${unique("bob")}@Example.com`;
      const a = await account();
      const b = await account();
      const ua = await store.users.create(newUser(a.id, { email }), T0);
      const ub = await store.users.create(newUser(b.id, { email: email.toLowerCase() }), T0);
      const found = await store.users.byEmailAnyAccount(email.toUpperCase());
      assert.deepEqual(found.map((u) => u.id).sort(), [ua.id, ub.id].sort());
      assert.deepEqual(await store.users.byEmailAnyAccount(`nobody-${email}`), []);
    });

    it("bySsoId returns every user sharing the key in the account", async () => {
      const a = await account();
      const admin = await store.users.create(
        newUser(a.id, { username: "p-admin", ssoId: "S-1", role: "admin" }),
        T0,
      );
      const agent = await store.users.create(
        newUser(a.id, { username: "p-agent", ssoId: "S-1", role: "agent" }),
        T0,
      );
      await store.users.create(newUser(a.id, { username: "other", ssoId: "S-2" }), T0);
      assert.deepEqual(
        (await store.users.bySsoId(a.id, "S-1")).map((u) => u.id),
        [admin.id, agent.id],
      );
      assert.deepEqual(await store.users.bySsoId(a.id, "s-1"), []);
    });

    it("list returns the account's users by username", async () => {
      const a = await account();
      const c = await store.users.create(newUser(a.id, { username: "carol" }), T0);
      const b = await store.users.create(newUser(a.id, { username: "bob" }), T0);
      await store.users.create(newUser((await account()).id, { username: "dave" }), T0);
      assert.deepEqual(
        (await store.users.list(a.id)).map((u) => u.id),
        [b.id, c.id],
      );
    });

    it("update changes what it names (email lookups follow), nulls included", async () => {
      const a = await account();
      const u = await store.users.create(
        newUser(a.id, { email: "old@example.com", passwordHash: "h", totpSecret: "t" }),
        T0,
      );
      const updated = await store.users.update(
        u.id,
        { email: "New@Example.com", passwordHash: null, totpSecret: null, role: "admin" },
        at(1),
      );
      assert.deepEqual(updated, {
        ...u,
        email: "New@Example.com",
        passwordHash: null,
        totpSecret: null,
        role: "admin",
        updatedAt: at(1),
      });
      assert.deepEqual(await store.users.get(u.id), updated);
      assert.deepEqual(await store.users.byEmail(a.id, "old@example.com", true), []);
      assert.equal((await store.users.byEmail(a.id, "new@example.com", true))[0]?.id, u.id);
    });

    it("update to a taken username conflicts (user.username)", async () => {
      const a = await account();
      await store.users.create(newUser(a.id, { username: "taken" }), T0);
      const u = await store.users.create(newUser(a.id), T0);
      await assert.rejects(
        store.users.update(u.id, { username: "taken" }, at(1)),
        conflict("user.username"),
      );
    });
  });

  describe("connections", () => {
    it("create then get returns every field", async () => {
      const a = await account();
      const input = newConnection(a.id, {
        sloUrl: "https://login.microsoftonline.com/tenant/saml2/logout",
        metadataUrl: "https://login.microsoftonline.com/tenant/federationmetadata.xml",
        allowSha1: true,
        signRequests: true,
        requireSignedResponse: true,
        requireSignedAssertion: false,
      });
      const k = await store.connections.create(input, at(789));
      assert.match(k.id, ID_SHAPE("con"));
      const expected: Connection = {
        ...input,
        id: k.id,
        testedAt: null,
        createdAt: at(789),
        updatedAt: at(789),
      };
      assert.deepEqual(k, expected);
      const read = await store.connections.get(k.id);
      assert.deepEqual(read, expected);
      assert.ok(Object.isFrozen(read?.certificates));
    });

    it("list is per account; listActive skips inactive connections", async () => {
      const a = await account();
      const on = await store.connections.create(newConnection(a.id), T0);
      const off = await store.connections.create(newConnection(a.id, { active: false }), at(1));
      await store.connections.create(newConnection((await account()).id), T0);
      assert.deepEqual(
        (await store.connections.list(a.id)).map((k) => k.id),
        [on.id, off.id],
      );
      const active = (await store.connections.listActive()).map((k) => k.id);
      assert.ok(active.includes(on.id));
      assert.ok(!active.includes(off.id));
    });

    it("update changes what it names, testedAt set and cleared", async () => {
      const a = await account();
      const k = await store.connections.create(newConnection(a.id), T0);
      const tested = await store.connections.update(k.id, { testedAt: at(5) }, at(5));
      assert.deepEqual(tested, { ...k, testedAt: at(5), updatedAt: at(5) });
      const changed = await store.connections.update(
        k.id,
        { certificates: ["MIIDnew"], active: false, testedAt: null, sloUrl: "https://slo" },
        at(6),
      );
      assert.deepEqual(changed, {
        ...k,
        certificates: ["MIIDnew"],
        active: false,
        testedAt: null,
        sloUrl: "https://slo",
        updatedAt: at(6),
      });
      assert.deepEqual(await store.connections.get(k.id), changed);
    });
  });

  describe("bindings", () => {
    async function userAndConnection(): Promise<{ user: User; connection: Connection }> {
      const a = await account();
      return {
        user: await store.users.create(newUser(a.id), T0),
        connection: await store.connections.create(newConnection(a.id), T0),
      };
    }

    it("create, find, listForUser, touch, remove", async () => {
      const { user, connection } = await userAndConnection();
      const subject = `${unique("tid")}/${unique("oid")}`;
      const b = await store.bindings.create(
        { userId: user.id, connectionId: connection.id, subject },
        at(7),
      );
      assert.match(b.id, ID_SHAPE("bnd"));
      assert.deepEqual(b, {
        id: b.id,
        userId: user.id,
        connectionId: connection.id,
        subject,
        createdAt: at(7),
        lastUsedAt: at(7),
      });
      assert.deepEqual(await store.bindings.find(connection.id, subject), b);
      assert.equal(await store.bindings.find(connection.id, `${subject}x`), undefined);
      await store.bindings.touch(b.id, at(DAY + 9));
      assert.deepEqual(await store.bindings.listForUser(user.id), [
        { ...b, lastUsedAt: at(DAY + 9) },
      ]);
      assert.equal(await store.bindings.remove(b.id), true);
      assert.equal(await store.bindings.remove(b.id), false);
      assert.equal(await store.bindings.find(connection.id, subject), undefined);
      assert.deepEqual(await store.bindings.listForUser(user.id), []);
    });

    it("one binding per (connection, subject) (binding.subject)", async () => {
      const { user, connection } = await userAndConnection();
      const other = await userAndConnection();
      await store.bindings.create(
        { userId: user.id, connectionId: connection.id, subject: "s" },
        T0,
      );
      const second = await store.users.create(newUser(user.accountId), T0);
      await assert.rejects(
        store.bindings.create({ userId: second.id, connectionId: connection.id, subject: "s" }, T0),
        conflict("binding.subject"),
      );
      // The same subject at another IdP is another identity.
      await store.bindings.create(
        { userId: other.user.id, connectionId: other.connection.id, subject: "s" },
        T0,
      );
    });
  });

  describe("sessions", () => {
    async function user(): Promise<User> {
      return store.users.create(newUser((await account()).id), T0);
    }

    it("create then getLive returns every field", async () => {
      const u = await user();
      const k = await store.connections.create(newConnection(u.accountId), T0);
      const input = newSession(u, {
        connectionId: k.id,
        method: "saml",
        mfa: true,
        nameId: "alice@example.com",
        nameIdFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
        sessionIndex: "_be9967abd904ddcae3c0eb4189adbe3f71e327cf93",
        lastSeenAt: at(1),
      });
      const s = await store.sessions.create(input);
      const expected: Session = { ...input, endedAt: null, endReason: null };
      assert.deepEqual(s, expected);
      assert.deepEqual(await store.sessions.getLive(s.id, at(MINUTE)), expected);
    });

    it("a duplicate session ID conflicts (session.id)", async () => {
      const s = newSession(await user());
      await store.sessions.create(s);
      await assert.rejects(store.sessions.create(s), conflict("session.id"));
    });

    it("getLive: not after the idle or the absolute timeout, not once ended", async () => {
      const u = await user();
      const s = await store.sessions.create(
        newSession(u, { idleExpiresAt: at(30 * MINUTE), absoluteExpiresAt: at(HOUR) }),
      );
      assert.ok(await store.sessions.getLive(s.id, at(30 * MINUTE - 1)));
      assert.equal(await store.sessions.getLive(s.id, at(30 * MINUTE)), undefined);
      const t = await store.sessions.create(
        newSession(u, { idleExpiresAt: at(2 * HOUR), absoluteExpiresAt: at(HOUR) }),
      );
      assert.ok(await store.sessions.getLive(t.id, at(HOUR - 1)));
      assert.equal(await store.sessions.getLive(t.id, at(HOUR)), undefined);
      assert.equal(await store.sessions.end(t.id, at(1), "logout"), true);
      assert.equal(await store.sessions.end(t.id, at(2), "logout"), false);
      assert.equal(await store.sessions.getLive(t.id, at(2)), undefined);
      assert.equal(await store.sessions.getLive("0".repeat(64), T0), undefined);
    });

    it("touch pushes the idle timeout forward, never past the absolute one", async () => {
      const s = await store.sessions.create(
        newSession(await user(), { idleExpiresAt: at(30 * MINUTE), absoluteExpiresAt: at(HOUR) }),
      );
      await store.sessions.touch(s.id, at(20 * MINUTE), at(50 * MINUTE));
      const touched = await store.sessions.getLive(s.id, at(20 * MINUTE));
      assert.deepEqual(touched, {
        ...s,
        lastSeenAt: at(20 * MINUTE),
        idleExpiresAt: at(50 * MINUTE),
      });
      await store.sessions.touch(s.id, at(40 * MINUTE), at(70 * MINUTE));
      assert.deepEqual(
        (await store.sessions.getLive(s.id, at(40 * MINUTE)))?.idleExpiresAt,
        at(HOUR),
      );
    });

    it("endBySessionIndex ends the live sessions of that connection with those indexes", async () => {
      const u = await user();
      const a = await store.connections.create(newConnection(u.accountId), T0);
      const b = await store.connections.create(newConnection(u.accountId), T0);
      const on = (connectionId: string, sessionIndex: string, fields: Partial<Session> = {}) =>
        store.sessions.create(
          newSession(u, { connectionId, sessionIndex, method: "saml", ...fields }),
        );
      const a1 = await on(a.id, "idx-1");
      const a2 = await on(a.id, "idx-2");
      const a3 = await on(a.id, "idx-3");
      const expired = await on(a.id, "idx-1", { idleExpiresAt: at(MINUTE) });
      const b1 = await on(b.id, "idx-1");
      const ended = await store.sessions.endBySessionIndex(
        a.id,
        ["idx-1", "idx-2", "idx-9"],
        at(2 * MINUTE),
        "idp-logout",
      );
      assert.deepEqual(
        ended.sort((x, y) => x.id.localeCompare(y.id)),
        [a1, a2]
          .map((s) => ({ ...s, endedAt: at(2 * MINUTE), endReason: "idp-logout" }))
          .sort((x, y) => x.id.localeCompare(y.id)),
      );
      assert.equal(await store.sessions.getLive(a1.id, at(2 * MINUTE)), undefined);
      assert.ok(await store.sessions.getLive(a3.id, at(2 * MINUTE)));
      assert.ok(await store.sessions.getLive(b1.id, at(2 * MINUTE)));
      assert.ok(!ended.some((s) => s.id === expired.id));
      assert.deepEqual(await store.sessions.endBySessionIndex(a.id, [], at(3), "x"), []);
    });

    it("endByNameId ends the live sessions of that connection with exactly that NameID", async () => {
      const u = await user();
      const a = await store.connections.create(newConnection(u.accountId), T0);
      const b = await store.connections.create(newConnection(u.accountId), T0);
      const on = (connectionId: string, nameId: string, fields: Partial<Session> = {}) =>
        store.sessions.create(newSession(u, { connectionId, nameId, method: "saml", ...fields }));
      const a1 = await on(a.id, "alice@contoso.com");
      const a2 = await on(a.id, "alice@contoso.com", { sessionIndex: "idx-2" });
      const other = await on(a.id, "Alice@contoso.com");
      const expired = await on(a.id, "alice@contoso.com", { idleExpiresAt: at(MINUTE) });
      const b1 = await on(b.id, "alice@contoso.com");
      const ended = await store.sessions.endByNameId(
        a.id,
        "alice@contoso.com",
        at(2 * MINUTE),
        "idp-logout",
      );
      assert.deepEqual(ended.map((s) => s.id).sort(), [a1.id, a2.id].sort());
      assert.ok(ended.every((s) => s.endReason === "idp-logout"));
      assert.ok(await store.sessions.getLive(other.id, at(2 * MINUTE)));
      assert.ok(await store.sessions.getLive(b1.id, at(2 * MINUTE)));
      assert.ok(!ended.some((s) => s.id === expired.id));
      assert.deepEqual(
        await store.sessions.endByNameId(a.id, "alice@contoso.com", at(3 * MINUTE), "x"),
        [],
      );
    });

    it("listLive and endForUser: the user's live sessions, newest first", async () => {
      const u = await user();
      const other = await store.sessions.create(newSession(await user()));
      const older = await store.sessions.create(newSession(u, { createdAt: T0 }));
      const newer = await store.sessions.create(newSession(u, { createdAt: at(SECOND) }));
      await store.sessions.create(newSession(u, { absoluteExpiresAt: at(MINUTE) }));
      const gone = await store.sessions.create(newSession(u));
      await store.sessions.end(gone.id, at(1), "logout");
      assert.deepEqual(await store.sessions.listLive(u.id, at(2 * MINUTE)), [newer, older]);
      const ended = await store.sessions.endForUser(u.id, at(3 * MINUTE), "disabled");
      assert.deepEqual(ended.map((s) => s.id).sort(), [older.id, newer.id].sort());
      assert.ok(
        ended.every(
          (s) => s.endReason === "disabled" && s.endedAt?.getTime() === at(3 * MINUTE).getTime(),
        ),
      );
      assert.deepEqual(await store.sessions.listLive(u.id, at(3 * MINUTE)), []);
      assert.ok(await store.sessions.getLive(other.id, at(3 * MINUTE)));
    });

    it("endExpired ends each expired session once, at its expiry, with the timeout that ended it", async () => {
      const u = await user();
      const idle = await store.sessions.create(
        newSession(u, { idleExpiresAt: at(10 * MINUTE), absoluteExpiresAt: at(HOUR) }),
      );
      // touch() caps idle at absolute: equal instants mean the absolute timeout ended it.
      const absolute = await store.sessions.create(
        newSession(u, { idleExpiresAt: at(20 * MINUTE), absoluteExpiresAt: at(20 * MINUTE) }),
      );
      const live = await store.sessions.create(
        newSession(u, { idleExpiresAt: at(40 * MINUTE), absoluteExpiresAt: at(HOUR) }),
      );
      const loggedOut = await store.sessions.create(
        newSession(u, { idleExpiresAt: at(5 * MINUTE), absoluteExpiresAt: at(HOUR) }),
      );
      await store.sessions.end(loggedOut.id, at(MINUTE), "logout");
      const mine = (ended: Session[]) =>
        ended.filter((s) => s.userId === u.id).sort((x, y) => x.id.localeCompare(y.id));

      const first = mine(await store.sessions.endExpired(at(30 * MINUTE)));
      assert.deepEqual(
        first,
        [
          { ...idle, endedAt: at(10 * MINUTE), endReason: "idle_timeout" },
          { ...absolute, endedAt: at(20 * MINUTE), endReason: "absolute_timeout" },
        ].sort((x, y) => x.id.localeCompare(y.id)),
      );
      // Reported once: the next sweep finds only what expired since.
      assert.deepEqual(mine(await store.sessions.endExpired(at(30 * MINUTE))), []);
      assert.ok(await store.sessions.getLive(live.id, at(30 * MINUTE)));
      const second = mine(await store.sessions.endExpired(at(40 * MINUTE)));
      assert.deepEqual(second, [{ ...live, endedAt: at(40 * MINUTE), endReason: "idle_timeout" }]);
      assert.equal(await store.sessions.end(live.id, at(41 * MINUTE), "logout"), false);
    });
  });

  describe("pending requests", () => {
    async function pending(fields: Partial<PendingRequest> = {}): Promise<PendingRequest> {
      const a = await account();
      const k = await store.connections.create(newConnection(a.id), T0);
      const r: PendingRequest = {
        id: `_${randomBytes(20).toString("hex")}`,
        connectionId: k.id,
        browserHash: randomBytes(32).toString("hex"),
        returnTo: "/app/inbox",
        createdAt: T0,
        expiresAt: at(10 * MINUTE),
        ...fields,
      };
      await store.pendingRequests.put(r);
      return r;
    }

    it("consumed once, with every field", async () => {
      const r = await pending();
      assert.deepEqual(await store.pendingRequests.consume(r.id, r.browserHash, at(MINUTE)), r);
      assert.equal(await store.pendingRequests.consume(r.id, r.browserHash, at(MINUTE)), undefined);
      const n = await pending({ returnTo: null });
      assert.deepEqual(await store.pendingRequests.consume(n.id, n.browserHash, T0), n);
    });

    it("not by another browser, which leaves it for the right one", async () => {
      const r = await pending();
      const other = randomBytes(32).toString("hex");
      assert.equal(await store.pendingRequests.consume(r.id, other, at(MINUTE)), undefined);
      assert.deepEqual(await store.pendingRequests.consume(r.id, r.browserHash, at(MINUTE)), r);
    });

    it("not at or after expiry", async () => {
      const r = await pending();
      assert.equal(
        await store.pendingRequests.consume(r.id, r.browserHash, at(10 * MINUTE)),
        undefined,
      );
    });

    it("an unknown ID is undefined; a duplicate ID conflicts (pending_request.id)", async () => {
      assert.equal(await store.pendingRequests.consume("_nope", "h", T0), undefined);
      const r = await pending();
      await assert.rejects(store.pendingRequests.put(r), conflict("pending_request.id"));
    });
  });

  describe("tokens", () => {
    async function token(kind = "setup", expiresAt = at(HOUR)) {
      const t = {
        hash: randomBytes(32).toString("hex"),
        kind,
        payload: { userId: "usr_x", nested: { list: [1, "two", null], flag: true } },
        createdAt: T0,
        expiresAt,
      };
      await store.tokens.put(t);
      return t;
    }

    it("peek reads without consuming; consume takes it once", async () => {
      const t = await token();
      assert.deepEqual(await store.tokens.peek(t.hash, "setup", at(1)), t);
      assert.deepEqual(await store.tokens.peek(t.hash, "setup", at(2)), t);
      assert.deepEqual(await store.tokens.consume(t.hash, "setup", at(3)), t);
      assert.equal(await store.tokens.consume(t.hash, "setup", at(4)), undefined);
      assert.equal(await store.tokens.peek(t.hash, "setup", at(4)), undefined);
    });

    it("not for another kind, not at or after expiry", async () => {
      const t = await token("account-chooser", at(MINUTE));
      assert.equal(await store.tokens.peek(t.hash, "setup", T0), undefined);
      assert.equal(await store.tokens.consume(t.hash, "setup", T0), undefined);
      assert.equal(await store.tokens.peek(t.hash, "account-chooser", at(MINUTE)), undefined);
      assert.equal(await store.tokens.consume(t.hash, "account-chooser", at(MINUTE)), undefined);
      assert.deepEqual(await store.tokens.consume(t.hash, "account-chooser", at(MINUTE - 1)), t);
    });

    it("revoke removes it; a duplicate hash conflicts (token.hash)", async () => {
      const t = await token();
      await assert.rejects(store.tokens.put(t), conflict("token.hash"));
      assert.equal(await store.tokens.revoke(t.hash), true);
      assert.equal(await store.tokens.revoke(t.hash), false);
      assert.equal(await store.tokens.peek(t.hash, "setup", T0), undefined);
    });
  });

  describe("replay cache", () => {
    it("true the first time, false while live, true again once expired", async () => {
      const key = unique("assertion");
      assert.equal(await store.replay.consume(key, at(5 * MINUTE), T0), true);
      assert.equal(await store.replay.consume(key, at(5 * MINUTE), at(1)), false);
      assert.equal(await store.replay.consume(key, at(9 * MINUTE), at(5 * MINUTE - 1)), false);
      assert.equal(await store.replay.consume(key, at(10 * MINUTE), at(5 * MINUTE)), true);
      assert.equal(await store.replay.consume(key, at(15 * MINUTE), at(6 * MINUTE)), false);
      assert.equal(await store.replay.consume(unique("other"), at(MINUTE), T0), true);
    });
  });

  describe("counters", () => {
    it("count within the window, restart in the next", async () => {
      const key = unique("login");
      const w = 60;
      const start = new Date(Math.floor(T0.getTime() / (w * SECOND)) * w * SECOND);
      const plus = (ms: number) => new Date(start.getTime() + ms);
      assert.equal(await store.counters.hit(key, w, plus(0)), 1);
      assert.equal(await store.counters.hit(key, w, plus(30 * SECOND)), 2);
      assert.equal(await store.counters.hit(key, w, plus(MINUTE - 1)), 3);
      assert.equal(await store.counters.hit(key, w, plus(MINUTE)), 1);
      assert.equal(await store.counters.hit(key, w, plus(MINUTE + 1)), 2);
      // An instance whose clock lags counts into the current window instead of resetting it.
      assert.equal(await store.counters.hit(key, w, plus(MINUTE - 1)), 3);
      assert.equal(await store.counters.hit(unique("other"), w, plus(MINUTE)), 1);
    });

    it("reset starts again at one", async () => {
      const key = unique("lockout");
      await store.counters.hit(key, 900, T0);
      await store.counters.hit(key, 900, T0);
      await store.counters.reset(key);
      assert.equal(await store.counters.hit(key, 900, T0), 1);
      await store.counters.reset(unique("absent"));
    });
  });

  describe("audit", () => {
    function event(fields: Partial<AuditEvent> = {}): AuditEvent {
      return {
        id: `evt_${randomBytes(13).toString("hex").slice(0, 26)}`,
        at: T0,
        reference: unique("ref"),
        type: "login",
        outcome: "failure",
        reason: "audience_mismatch",
        accountId: null,
        userId: null,
        connectionId: null,
        actor: "idp",
        ip: "127.0.0.1",
        detail: { expected: "https://sp", received: "https://other", n: 2, nested: { a: [1] } },
        ...fields,
      };
    }

    it("append then query returns every field, newest first", async () => {
      const a = await account();
      const e1 = event({ accountId: a.id, at: at(1), userId: "usr_1", connectionId: "con_1" });
      const e2 = event({
        accountId: a.id,
        at: at(2),
        outcome: "success",
        reason: null,
        ip: null,
        detail: {},
        type: "admin.account.update",
        actor: "admin-api",
      });
      const e3 = event({ accountId: a.id, at: at(3) });
      for (const e of [e2, e3, e1]) await store.audit.append(e);
      assert.deepEqual(await store.audit.query({ accountId: a.id }), [e3, e2, e1]);
      assert.ok(Object.isFrozen((await store.audit.query({ accountId: a.id }))[0]?.detail));
    });

    it("filters by account, reference and type; pages with limit and before", async () => {
      const a = await account();
      const b = await account();
      const events = Array.from({ length: 5 }, (_, i) =>
        event({ accountId: a.id, at: at(i * SECOND), type: i % 2 === 0 ? "login" : "logout" }),
      );
      const elsewhere = event({ accountId: b.id, at: at(10 * SECOND) });
      for (const e of [...events, elsewhere]) await store.audit.append(e);
      const newestFirst = [...events].reverse();
      assert.deepEqual(await store.audit.query({ accountId: a.id }), newestFirst);
      assert.deepEqual(await store.audit.query({ reference: elsewhere.reference }), [elsewhere]);
      assert.deepEqual(
        (await store.audit.query({ accountId: a.id, type: "logout" })).map((e) => e.id),
        [events[3]!.id, events[1]!.id],
      );
      const page1 = await store.audit.query({ accountId: a.id, limit: 2 });
      assert.deepEqual(page1, newestFirst.slice(0, 2));
      const page2 = await store.audit.query({ accountId: a.id, limit: 2, before: page1[1]!.at });
      assert.deepEqual(page2, newestFirst.slice(2, 4));
      const page3 = await store.audit.query({ accountId: a.id, limit: 2, before: page2[1]!.at });
      assert.deepEqual(page3, newestFirst.slice(4));
      assert.deepEqual(await store.audit.query({ accountId: a.id, limit: 0 }), []);
    });

    it("a duplicate event ID conflicts (audit.id)", async () => {
      const e = event();
      await store.audit.append(e);
      await assert.rejects(store.audit.append(e), conflict("audit.id"));
    });
  });

  describe("sweep", () => {
    it("deletes expired single-use records and keeps live ones", async () => {
      const a = await account();
      const k = await store.connections.create(newConnection(a.id), T0);
      const req = (expiresAt: Date): PendingRequest => ({
        id: `_${randomBytes(20).toString("hex")}`,
        connectionId: k.id,
        browserHash: "b",
        returnTo: null,
        createdAt: T0,
        expiresAt,
      });
      const oldReq = req(at(MINUTE));
      const liveReq = req(at(HOUR));
      await store.pendingRequests.put(oldReq);
      await store.pendingRequests.put(liveReq);
      const tok = (expiresAt: Date) => ({
        hash: randomBytes(32).toString("hex"),
        kind: "setup",
        payload: {},
        createdAt: T0,
        expiresAt,
      });
      const oldTok = tok(at(MINUTE));
      const liveTok = tok(at(HOUR));
      await store.tokens.put(oldTok);
      await store.tokens.put(liveTok);
      const oldKey = unique("replay");
      const liveKey = unique("replay");
      await store.replay.consume(oldKey, at(MINUTE), T0);
      await store.replay.consume(liveKey, at(HOUR), T0);
      const counter = unique("counter");
      await store.counters.hit(counter, 60, T0);

      await store.sweep(at(2 * MINUTE));

      // Read "before" the sweep's time: only a deleted row can explain a miss.
      assert.equal(await store.pendingRequests.consume(oldReq.id, "b", T0), undefined);
      assert.deepEqual(await store.pendingRequests.consume(liveReq.id, "b", T0), liveReq);
      assert.equal(await store.tokens.peek(oldTok.hash, "setup", T0), undefined);
      assert.deepEqual(await store.tokens.peek(liveTok.hash, "setup", T0), liveTok);
      assert.equal(await store.replay.consume(oldKey, at(MINUTE), T0), true);
      assert.equal(await store.replay.consume(liveKey, at(HOUR), T0), false);
      assert.equal(await store.counters.hit(counter, 60, T0), 1);
    });

    it("deletes sessions ended or expired more than a day ago, keeps recent ones", async () => {
      const u = await store.users.create(newUser((await account()).id), T0);
      const endedLongAgo = await store.sessions.create(newSession(u));
      await store.sessions.end(endedLongAgo.id, at(MINUTE), "logout");
      const expiredLongAgo = await store.sessions.create(
        newSession(u, { idleExpiresAt: at(MINUTE) }),
      );
      const lasting = { idleExpiresAt: at(3 * DAY), absoluteExpiresAt: at(3 * DAY) };
      const endedRecently = await store.sessions.create(newSession(u, lasting));
      await store.sessions.end(endedRecently.id, at(DAY + HOUR), "logout");
      const live = await store.sessions.create(newSession(u, lasting));

      await store.sweep(at(2 * DAY));

      // A deleted session's ID is free again; a kept one still conflicts.
      await store.sessions.create(newSession(u, { id: endedLongAgo.id }));
      await store.sessions.create(newSession(u, { id: expiredLongAgo.id }));
      await assert.rejects(
        store.sessions.create(newSession(u, { id: endedRecently.id })),
        conflict("session.id"),
      );
      assert.deepEqual(await store.sessions.getLive(live.id, at(2 * DAY)), live);
    });
  });

  describe("oidc", () => {
    it("upserts, finds by id, uid and user code, and replaces on a second upsert", async () => {
      const id = unique("code");
      const uid = unique("uid");
      await store.oidc.upsert("AuthorizationCode", id, { a: 1, nested: { b: [1, 2] } }, at(HOUR), {
        grantId: unique("grant"),
        uid,
        userCode: "ABCD-EFGH",
      });
      const found = await store.oidc.find("AuthorizationCode", id, T0);
      assert.deepEqual(found, {
        payload: { a: 1, nested: { b: [1, 2] } },
        expiresAt: at(HOUR),
        consumedAt: null,
      });
      assert.deepEqual(await store.oidc.findByUid("AuthorizationCode", uid, T0), found);
      assert.equal(await store.oidc.find("AccessToken", id, T0), undefined, "per model");
      await store.oidc.upsert("AuthorizationCode", id, { a: 2 }, null, {});
      assert.deepEqual(await store.oidc.find("AuthorizationCode", id, at(10 * DAY)), {
        payload: { a: 2 },
        expiresAt: null,
        consumedAt: null,
      });
      assert.equal(await store.oidc.findByUid("AuthorizationCode", uid, T0), undefined);
    });

    it("finds by user code within the model", async () => {
      const id = unique("device");
      const code = unique("UC");
      await store.oidc.upsert("DeviceCode", id, { d: true }, at(HOUR), { userCode: code });
      assert.deepEqual((await store.oidc.findByUserCode("DeviceCode", code, T0))?.payload, {
        d: true,
      });
      assert.equal(await store.oidc.findByUserCode("Session", code, T0), undefined);
    });

    it("does not return expired records", async () => {
      const id = unique("tok");
      const uid = unique("uid");
      await store.oidc.upsert("Session", id, {}, at(MINUTE), { uid });
      assert.notEqual(await store.oidc.find("Session", id, at(MINUTE - 1)), undefined);
      assert.equal(await store.oidc.find("Session", id, at(MINUTE)), undefined);
      assert.equal(await store.oidc.findByUid("Session", uid, at(MINUTE)), undefined);
    });

    it("consumes once and keeps the record, marked", async () => {
      const id = unique("code");
      await store.oidc.upsert("AuthorizationCode", id, {}, at(HOUR), {});
      assert.equal(await store.oidc.consume("AuthorizationCode", id, at(SECOND)), true);
      assert.equal(await store.oidc.consume("AuthorizationCode", id, at(2 * SECOND)), false);
      assert.deepEqual(
        (await store.oidc.find("AuthorizationCode", id, at(3 * SECOND)))?.consumedAt,
        at(SECOND),
      );
      assert.equal(await store.oidc.consume("AuthorizationCode", unique("none"), T0), false);
    });

    it("destroys one record and revokes everything of a grant", async () => {
      const grantId = unique("grant");
      const [a, b, other] = [unique("a"), unique("b"), unique("o")];
      await store.oidc.upsert("AccessToken", a, {}, at(HOUR), { grantId });
      await store.oidc.upsert("RefreshToken", b, {}, at(HOUR), { grantId });
      await store.oidc.upsert("AccessToken", other, {}, at(HOUR), { grantId: unique("g2") });
      await store.oidc.revokeByGrantId(grantId);
      assert.equal(await store.oidc.find("AccessToken", a, T0), undefined);
      assert.equal(await store.oidc.find("RefreshToken", b, T0), undefined);
      assert.notEqual(await store.oidc.find("AccessToken", other, T0), undefined);
      await store.oidc.destroy("AccessToken", other);
      assert.equal(await store.oidc.find("AccessToken", other, T0), undefined);
    });

    it("sweep removes expired records only", async () => {
      const [gone, kept, forever] = [unique("g"), unique("k"), unique("f")];
      await store.oidc.upsert("Grant", gone, {}, at(MINUTE), {});
      await store.oidc.upsert("Grant", kept, {}, at(HOUR), {});
      await store.oidc.upsert("Grant", forever, {}, null, {});
      await store.sweep(at(2 * MINUTE));
      assert.equal(await store.oidc.find("Grant", gone, T0), undefined);
      assert.notEqual(await store.oidc.find("Grant", kept, T0), undefined);
      assert.notEqual(await store.oidc.find("Grant", forever, T0), undefined);
    });

    it("lists signing keys newest first and removes one", async () => {
      const before = (await store.oidc.listKeys()).map((k) => k.kid);
      const old = { kid: unique("kid"), jwk: { kty: "RSA", n: "x" }, createdAt: at(-DAY) };
      const young = { kid: unique("kid"), jwk: { kty: "EC", x: "y" }, createdAt: at(DAY * 400) };
      await store.oidc.addKey(old);
      await store.oidc.addKey(young);
      const keys = await store.oidc.listKeys();
      assert.deepEqual(keys[0], young);
      assert.ok(keys.findIndex((k) => k.kid === old.kid) > 0);
      assert.equal(keys.length, before.length + 2);
      assert.equal(await store.oidc.removeKey(young.kid), true);
      assert.equal(await store.oidc.removeKey(young.kid), false);
      assert.equal((await store.oidc.listKeys()).length, before.length + 1);
      await store.oidc.removeKey(old.kid);
    });

    it("creates, reads, lists and removes clients", async () => {
      const clientId = unique("client");
      const metadata = { client_id: clientId, redirect_uris: ["https://app.example/cb"] };
      await store.oidc.createClient({ clientId, metadata, createdAt: T0 });
      assert.deepEqual(await store.oidc.getClient(clientId), { clientId, metadata, createdAt: T0 });
      assert.ok((await store.oidc.listClients()).some((c) => c.clientId === clientId));
      await assert.rejects(store.oidc.createClient({ clientId, metadata, createdAt: T0 }));
      assert.equal(await store.oidc.removeClient(clientId), true);
      assert.equal(await store.oidc.getClient(clientId), undefined);
      assert.equal(await store.oidc.removeClient(clientId), false);
    });
  });

  describe("single use across instances", () => {
    let second: Store;
    before(async () => {
      second = await open();
    });
    after(async () => {
      await second.close();
    });

    /** 20 concurrent calls, alternating between the two instances. */
    function race<T>(call: (s: Store) => Promise<T>): Promise<T[]> {
      return Promise.all(Array.from({ length: 20 }, (_, i) => call(i % 2 === 0 ? store : second)));
    }

    it("a pending request is consumed by exactly one of 20 concurrent callers", async () => {
      const a = await account();
      const k = await store.connections.create(newConnection(a.id), T0);
      const r: PendingRequest = {
        id: `_${randomBytes(20).toString("hex")}`,
        connectionId: k.id,
        browserHash: "b",
        returnTo: null,
        createdAt: T0,
        expiresAt: at(HOUR),
      };
      await store.pendingRequests.put(r);
      const results = await race((s) => s.pendingRequests.consume(r.id, "b", at(1)));
      assert.equal(results.filter((x) => x !== undefined).length, 1);
    });

    it("a token is consumed by exactly one of 20 concurrent callers", async () => {
      const hash = randomBytes(32).toString("hex");
      await second.tokens.put({
        hash,
        kind: "setup",
        payload: {},
        createdAt: T0,
        expiresAt: at(HOUR),
      });
      const results = await race((s) => s.tokens.consume(hash, "setup", at(1)));
      assert.equal(results.filter((x) => x !== undefined).length, 1);
    });

    it("a replay key is accepted by exactly one of 20 concurrent callers", async () => {
      const key = unique("assertion");
      const results = await race((s) => s.replay.consume(key, at(HOUR), T0));
      assert.equal(results.filter((x) => x).length, 1);
    });

    it("an expired replay key is taken over by exactly one of 20 concurrent callers", async () => {
      const key = unique("assertion");
      assert.equal(await store.replay.consume(key, at(MINUTE), T0), true);
      const results = await race((s) => s.replay.consume(key, at(HOUR), at(2 * MINUTE)));
      assert.equal(results.filter((x) => x).length, 1);
    });

    it("an authorization code is consumed by exactly one of 20 concurrent callers", async () => {
      const id = unique("code");
      await second.oidc.upsert("AuthorizationCode", id, {}, at(HOUR), {});
      const results = await race((s) => s.oidc.consume("AuthorizationCode", id, at(1)));
      assert.equal(results.filter((x) => x).length, 1);
    });

    it("20 concurrent hits count to 20, each count returned once", async () => {
      const key = unique("counter");
      const results = await race((s) => s.counters.hit(key, 3600, T0));
      assert.deepEqual(
        results.sort((x, y) => x - y),
        Array.from({ length: 20 }, (_, i) => i + 1),
      );
    });
  });
}

// The test gate (issue 4): Login with SAML cannot be switched on for a role, nor SSO enforced,
// while the account's active connection has not passed Test SSO since its last change; and
// enforcing needs a break-glass admin first. The operator at the shell (actor "cli") and accounts
// with no active connection are exempt; switching SSO off is never held back. The break-glass
// rule has no exemption: no account is created enforced, and while SSO is enforced its last
// enabled break-glass admin stays one.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Actor,
  AdminError,
  addUser,
  connectionTested,
  createAccount,
  createConnection,
  importUsersCsv,
  setConnectionActive,
  updateAccount,
  updateConnection,
  updateUser,
} from "../../src/domain/admin.ts";
import type { AccountSettings, Connection, Role, User } from "../../src/domain/model.ts";
import type { Store } from "../../src/domain/store.ts";
import { recordTestSuccess } from "../../src/domain/test-sso.ts";
import { onEachBackend } from "./backends.ts";
import {
  ALL_ON,
  accountWithEntra,
  CLI,
  certificate as cert,
  ENTRA_CONNECTION,
  T0,
  type World,
} from "./support.ts";

const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);
const API: Actor = { actor: "admin-api", ip: "198.51.100.7" };
const OFF: Record<Role, boolean> = { admin: false, supervisor: false, agent: false, user: false };
const ENTRA = ENTRA_CONNECTION;

/**
 * An account (settings as given), a break-glass admin, and an untested active connection. SSO
 * is enforced as the operator does it: after the break-glass admin exists (actor cli, at T0).
 */
async function world(store: Store, settings: Partial<AccountSettings> = {}): Promise<World> {
  const { ssoEnforced = false, ...created } = settings;
  const w = await accountWithEntra(store, created);
  await addUser(
    store,
    w.account.id,
    { username: "root", email: "root@contoso.com", role: "admin", breakGlass: true },
    CLI,
    T0,
  );
  if (!ssoEnforced) return w;
  const account = await updateAccount(store, w.account.id, { settings: { ssoEnforced } }, CLI, T0);
  return { ...w, account };
}

async function tested(w: World, minutes: number): Promise<Connection> {
  return recordTestSuccess(w.store, w.connection, "admin-page", null, {}, at(minutes));
}

function update(w: World, settings: Partial<AccountSettings>, who = API, minutes = 10) {
  return updateAccount(w.store, w.account.id, { settings }, who, at(minutes));
}

/** Asserts the refusal, and that the account and its audit trail are unchanged. */
async function refused(
  w: World,
  run: () => Promise<unknown>,
  field: string,
  status: 400 | 409,
  message: RegExp,
): Promise<void> {
  const before = await w.store.accounts.get(w.account.id);
  const trail = await w.store.audit.query({ type: "admin.account.update" });
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof AdminError, String(e));
    assert.equal(e.field, field, e.message);
    assert.equal(e.status, status, e.message);
    assert.match(e.message, message);
    return true;
  });
  assert.deepEqual(await w.store.accounts.get(w.account.id), before);
  assert.deepEqual(await w.store.audit.query({ type: "admin.account.update" }), trail);
}

onEachBackend((withStore) => {
  describe("switching Login with SAML on", () => {
    it("is refused (409, settings.samlLogin) while the active connection is untested", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        assert.equal(connectionTested(w.connection), false);
        await refused(
          w,
          () => update(w, { samlLogin: { ...OFF, agent: true } }),
          "settings.samlLogin",
          409,
          /Login with SAML cannot be switched on \(agent\).*"Entra" yet\. Run Test SSO first/,
        );
      }));

    it("names every role being switched on", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: { ...OFF, user: true } });
        await refused(
          w,
          () => update(w, { samlLogin: ALL_ON }),
          "settings.samlLogin",
          409,
          /switched on \(admin, supervisor, agent\)/,
        );
      }));

    for (const actor of ["admin-api", "admin-page", "setup-link:0123456789ab"]) {
      it(`holds ${actor} to the gate`, () =>
        withStore(async ({ store }) => {
          const w = await world(store);
          await refused(
            w,
            () => update(w, { samlLogin: ALL_ON }, { actor }),
            "settings.samlLogin",
            409,
            /Run Test SSO first/,
          );
        }));
    }

    it("is allowed once Test SSO succeeded, and audited", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        await tested(w, 5);
        const updated = await update(w, { samlLogin: ALL_ON });
        assert.deepEqual(updated.settings.samlLogin, ALL_ON);
        const [e, ...more] = await store.audit.query({ type: "admin.account.update" });
        assert.deepEqual(more, []);
        assert.equal(e!.actor, "admin-api");
        assert.deepEqual((e!.detail.after as AccountSettings).samlLogin, ALL_ON);
      }));

    it("is refused again after updateConnection (it clears testedAt)", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        await tested(w, 5);
        const { connection } = await updateConnection(
          store,
          w.connection.id,
          { ...ENTRA, certificates: [cert("idp-rsa"), cert("idp2-rsa")] },
          API,
          at(6),
        );
        assert.equal(connection.testedAt, null);
        assert.equal(connectionTested(connection), false);
        await refused(
          w,
          () => update(w, { samlLogin: ALL_ON }),
          "settings.samlLogin",
          409,
          /no test sign-in has succeeded through "Entra" yet/,
        );
        // A new test opens the gate again.
        await recordTestSuccess(store, connection, "admin-page", null, {}, at(7));
        assert.deepEqual((await update(w, { samlLogin: ALL_ON })).settings.samlLogin, ALL_ON);
      }));

    it("is refused after any later change to the connection (deactivated and reactivated)", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        await tested(w, 5);
        await setConnectionActive(store, w.connection.id, false, API, at(6));
        const back = await setConnectionActive(store, w.connection.id, true, API, at(7));
        assert.notEqual(back.testedAt, null);
        assert.equal(connectionTested(back), false);
        await refused(
          w,
          () => update(w, { samlLogin: ALL_ON }),
          "settings.samlLogin",
          409,
          /since the connection last changed/,
        );
      }));

    it("exempts the operator at the shell (actor cli)", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        const updated = await update(w, { samlLogin: ALL_ON, ssoEnforced: true }, CLI);
        assert.deepEqual(updated.settings.samlLogin, ALL_ON);
        assert.equal(updated.settings.ssoEnforced, true);
      }));

    it("exempts an account with no connection", () =>
      withStore(async ({ store }) => {
        const account = await createAccount(store, { name: "fabrikam" }, CLI, T0);
        const updated = await updateAccount(
          store,
          account.id,
          { settings: { samlLogin: ALL_ON } },
          API,
          at(1),
        );
        assert.deepEqual(updated.settings.samlLogin, ALL_ON);
      }));

    it("exempts an account whose only connection is inactive", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        await setConnectionActive(store, w.connection.id, false, API, at(1));
        assert.deepEqual((await update(w, { samlLogin: ALL_ON })).settings.samlLogin, ALL_ON);
      }));

    it("checks the active connection, not an untested inactive one beside it", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        const { connection: old } = await createConnection(
          store,
          w.account.id,
          { ...ENTRA, name: "Old IdP", spEntityId: "https://gatehouse.example.com/sp/old" },
          CLI,
          at(1),
        );
        await setConnectionActive(store, old.id, false, CLI, at(2));
        await tested(w, 3);
        assert.deepEqual((await update(w, { samlLogin: ALL_ON })).settings.samlLogin, ALL_ON);
      }));

    it("checks the tested connection's replacement when it becomes the active one", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        await tested(w, 1);
        await setConnectionActive(store, w.connection.id, false, API, at(2));
        const { connection: next } = await createConnection(
          store,
          w.account.id,
          { ...ENTRA, name: "New IdP", spEntityId: "https://gatehouse.example.com/sp/new" },
          API,
          at(3),
        );
        await refused(
          w,
          () => update(w, { samlLogin: ALL_ON }),
          "settings.samlLogin",
          409,
          /"New IdP" yet/,
        );
        await recordTestSuccess(store, next, "admin-page", null, {}, at(4));
        assert.deepEqual((await update(w, { samlLogin: ALL_ON })).settings.samlLogin, ALL_ON);
      }));
  });

  describe("what the gate does not hold back", () => {
    it("switching SSO off, for a role or entirely, and un-enforcing it", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON, ssoEnforced: true });
        assert.equal(connectionTested(w.connection), false);
        const partly = await update(w, { samlLogin: { ...ALL_ON, admin: false } }, API, 1);
        assert.equal(partly.settings.samlLogin.admin, false);
        const unenforced = await update(w, { ssoEnforced: false }, API, 2);
        assert.equal(unenforced.settings.ssoEnforced, false);
        const off = await update(w, { samlLogin: OFF }, API, 3);
        assert.deepEqual(off.settings.samlLogin, OFF);
      }));

    it("other settings, and re-sending what is already on (the gate guards the switch)", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON, ssoEnforced: true });
        const updated = await update(w, {
          samlLogin: ALL_ON,
          ssoEnforced: true,
          emailSource: "name",
          jitRole: "user",
        });
        assert.equal(updated.settings.emailSource, "name");
        assert.equal(updated.settings.jitRole, "user");
      }));

    it("a display name change", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        const updated = await updateAccount(
          store,
          w.account.id,
          { displayName: "Contoso Ltd" },
          API,
          at(1),
        );
        assert.equal(updated.displayName, "Contoso Ltd");
      }));
  });

  describe("enforcing SSO", () => {
    it("is refused (409, settings.ssoEnforced) while the active connection is untested", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON });
        await refused(
          w,
          () => update(w, { ssoEnforced: true }),
          "settings.ssoEnforced",
          409,
          /^SSO cannot be enforced: no test sign-in has succeeded through "Entra" yet/,
        );
      }));

    it("switched on together with Login with SAML: the refusal names samlLogin", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        await refused(
          w,
          () => update(w, { samlLogin: ALL_ON, ssoEnforced: true }),
          "settings.samlLogin",
          409,
          /Login with SAML cannot be switched on/,
        );
      }));

    it("is allowed once Test SSO succeeded", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON });
        await tested(w, 5);
        assert.equal((await update(w, { ssoEnforced: true })).settings.ssoEnforced, true);
      }));

    it("is refused again after updateConnection", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON });
        await tested(w, 5);
        await updateConnection(store, w.connection.id, ENTRA, API, at(6));
        await refused(
          w,
          () => update(w, { ssoEnforced: true }),
          "settings.ssoEnforced",
          409,
          /SSO cannot be enforced/,
        );
      }));

    // The break-glass rule: enforcing turns password login off, so one admin must keep it.
    it("needs an enabled break-glass admin first (400), even from the shell and once tested", () =>
      withStore(async ({ store }) => {
        // No break-glass admin here.
        const w = await accountWithEntra(store, { samlLogin: ALL_ON }, "fabrikam");
        const { account } = w;
        await tested(w, 1);
        // An ordinary admin, a break-glass admin who is disabled: neither counts.
        await addUser(
          store,
          account.id,
          { username: "boss", email: "boss@fabrikam.com", role: "admin" },
          CLI,
          T0,
        );
        await addUser(
          store,
          account.id,
          {
            username: "gone",
            email: "gone@fabrikam.com",
            role: "admin",
            breakGlass: true,
            disabled: true,
          },
          CLI,
          T0,
        );
        for (const who of [API, CLI]) {
          await refused(
            w,
            () => update(w, { ssoEnforced: true }, who),
            "settings.ssoEnforced",
            400,
            /Mark at least one admin as break-glass first/,
          );
        }
        await addUser(
          store,
          account.id,
          { username: "root", email: "root@fabrikam.com", role: "admin", breakGlass: true },
          CLI,
          T0,
        );
        assert.equal((await update(w, { ssoEnforced: true })).settings.ssoEnforced, true);
      }));

    it("asks for the break-glass admin before the test (the refusal an admin can act on first)", () =>
      withStore(async ({ store }) => {
        // No break-glass admin here.
        const w = await accountWithEntra(store, { samlLogin: ALL_ON }, "fabrikam");
        await refused(
          w,
          () => update(w, { ssoEnforced: true }),
          "settings.ssoEnforced",
          400,
          /break-glass/,
        );
      }));

    it("does not ask again once enforced", () =>
      withStore(async ({ store }) => {
        // Enforced with no break-glass admin: an account from before the rule, as stored.
        const created = await createAccount(
          store,
          { name: "fabrikam", settings: { samlLogin: ALL_ON } },
          CLI,
          T0,
        );
        const account = await store.accounts.update(
          created.id,
          { settings: { ...created.settings, ssoEnforced: true } },
          T0,
        );
        assert.deepEqual(await store.users.list(account.id), []);
        const updated = await updateAccount(
          store,
          account.id,
          { settings: { ssoEnforced: true, emailSource: "nameid" } },
          API,
          at(1),
        );
        assert.equal(updated.settings.emailSource, "nameid");
      }));
  });

  describe("creating an account with SSO enforced", () => {
    for (const who of [API, CLI]) {
      it(`is refused (400, settings.ssoEnforced) for ${who.actor}: it has no break-glass admin yet`, () =>
        withStore(async ({ store }) => {
          await assert.rejects(
            () =>
              createAccount(
                store,
                { name: "fabrikam", settings: { samlLogin: ALL_ON, ssoEnforced: true } },
                who,
                T0,
              ),
            (e: unknown) => {
              assert.ok(e instanceof AdminError, String(e));
              assert.equal(e.field, "settings.ssoEnforced");
              assert.equal(e.status, 400);
              assert.match(
                e.message,
                /Create the account, add an admin marked break-glass, then enforce SSO\.$/,
              );
              return true;
            },
          );
          assert.equal(await store.accounts.byName("fabrikam"), undefined);
          assert.deepEqual(await store.audit.query({ type: "admin.account.create" }), []);
        }));
    }

    it("works in the order the refusal gives: create, add the break-glass admin, enforce", () =>
      withStore(async ({ store }) => {
        const account = await createAccount(
          store,
          { name: "fabrikam", settings: { samlLogin: ALL_ON, ssoEnforced: false } },
          API,
          T0,
        );
        assert.equal(account.settings.ssoEnforced, false);
        await addUser(
          store,
          account.id,
          { username: "root", email: "root@fabrikam.com", role: "admin", breakGlass: true },
          API,
          at(1),
        );
        const enforced = await updateAccount(
          store,
          account.id,
          { settings: { ssoEnforced: true } },
          API,
          at(2),
        );
        assert.equal(enforced.settings.ssoEnforced, true);
      }));
  });

  // While SSO is enforced only enabled break-glass admins sign in with a password: the last one
  // stays one. updateUser is the only path that changes disabled, breakGlass or role.
  describe("keeping the last break-glass admin while SSO is enforced", () => {
    const LOSSES: readonly [string, Partial<Parameters<typeof updateUser>[2]>][] = [
      ["disabled", { disabled: true }],
      ["breakGlass", { breakGlass: false }],
      ["role", { role: "supervisor" }],
      ["role", { role: "user" }],
    ];

    async function root(w: World): Promise<User> {
      return (await w.store.users.byUsername(w.account.id, "root"))!;
    }

    /** A break-glass admin who is disabled: not one who can sign in. */
    function disabledBreakGlass(w: World): Promise<User> {
      return addUser(
        w.store,
        w.account.id,
        {
          username: "gone",
          email: "gone@contoso.com",
          role: "admin",
          breakGlass: true,
          disabled: true,
        },
        CLI,
        at(1),
      );
    }

    /** Asserts the refusal, and that the user and the user audit trail are unchanged. */
    async function kept(
      w: World,
      patch: Parameters<typeof updateUser>[2],
      field: string,
      who: Actor = API,
    ): Promise<void> {
      const before = await root(w);
      const trail = await w.store.audit.query({ type: "admin.user.update" });
      await assert.rejects(
        () => updateUser(w.store, before.id, patch, who, at(10)),
        (e: unknown) => {
          assert.ok(e instanceof AdminError, String(e));
          assert.equal(e.field, field, e.message);
          assert.equal(e.status, 409, e.message);
          assert.match(e.message, /^"root" is this account's last enabled break-glass admin/);
          assert.match(e.message, /Add another break-glass admin, or stop enforcing SSO, first\.$/);
          return true;
        },
      );
      assert.deepEqual(await root(w), before);
      assert.deepEqual(await w.store.audit.query({ type: "admin.user.update" }), trail);
    }

    for (const [field, patch] of LOSSES) {
      it(`refuses ${JSON.stringify(patch)} (409, ${field}), from the shell too`, () =>
        withStore(async ({ store }) => {
          const w = await world(store, { samlLogin: ALL_ON, ssoEnforced: true });
          await kept(w, patch, field);
          await kept(w, patch, field, CLI);
        }));
    }

    it("refuses a patch that changes all three, naming one of them", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON, ssoEnforced: true });
        await kept(w, { role: "agent", breakGlass: false, disabled: true }, "disabled");
        await kept(w, { role: "agent", breakGlass: false }, "breakGlass");
      }));

    it("does not end the admin's sessions when refusing to disable them", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON, ssoEnforced: true });
        const admin = await root(w);
        await store.sessions.create({
          id: "a".repeat(64),
          userId: admin.id,
          accountId: w.account.id,
          connectionId: null,
          method: "password",
          mfa: false,
          nameId: null,
          nameIdFormat: null,
          sessionIndex: null,
          createdAt: at(1),
          lastSeenAt: at(1),
          idleExpiresAt: at(60),
          absoluteExpiresAt: at(480),
        });
        await kept(w, { disabled: true }, "disabled");
        assert.equal((await store.sessions.listLive(admin.id, at(10))).length, 1);
      }));

    it("allows other changes to that admin, and re-sending what is already so", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON, ssoEnforced: true });
        const admin = await root(w);
        const updated = await updateUser(
          store,
          admin.id,
          {
            email: "it@contoso.com",
            password: "a-long-enough-password",
            role: "admin",
            breakGlass: true,
            disabled: false,
          },
          API,
          at(10),
        );
        assert.equal(updated.email, "it@contoso.com");
        assert.equal(updated.breakGlass && !updated.disabled && updated.role === "admin", true);
      }));

    for (const [field, patch] of LOSSES) {
      it(`allows ${JSON.stringify(patch)} (${field}) once another enabled break-glass admin exists`, () =>
        withStore(async ({ store }) => {
          const w = await world(store, { samlLogin: ALL_ON, ssoEnforced: true });
          // A disabled break-glass admin and an ordinary admin do not count.
          await disabledBreakGlass(w);
          await addUser(
            store,
            w.account.id,
            { username: "boss", email: "boss@contoso.com", role: "admin" },
            CLI,
            at(1),
          );
          await kept(w, patch, field);
          const spare = await addUser(
            store,
            w.account.id,
            { username: "spare", email: "spare@contoso.com", role: "admin", breakGlass: true },
            CLI,
            at(2),
          );
          await updateUser(store, (await root(w)).id, patch, API, at(10));
          // Now the spare is the last one.
          await assert.rejects(
            () => updateUser(store, spare.id, patch, API, at(11)),
            (e: unknown) => e instanceof AdminError && /^"spare" is/.test(e.message),
          );
        }));

      it(`allows ${JSON.stringify(patch)} (${field}) while SSO is not enforced`, () =>
        withStore(async ({ store }) => {
          const w = await world(store, { samlLogin: ALL_ON });
          const updated = await updateUser(store, (await root(w)).id, patch, API, at(10));
          assert.equal(updated.role === "admin" && updated.breakGlass && !updated.disabled, false);
        }));
    }

    it("is unaffected by changes to users who are not enabled break-glass admins", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON, ssoEnforced: true });
        const gone = await disabledBreakGlass(w);
        const updated = await updateUser(
          store,
          gone.id,
          { breakGlass: false, role: "agent" },
          API,
          at(10),
        );
        assert.equal(updated.role, "agent");
      }));

    it("cannot be worked around by the CSV import: it only adds users", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON, ssoEnforced: true });
        const before = await root(w);
        const result = await importUsersCsv(
          store,
          w.account.id,
          "username,email,role,break_glass\nroot,root@contoso.com,user,false\n",
          API,
          at(10),
        );
        assert.equal(result.created, 0);
        assert.deepEqual(result.errors, [
          { line: 2, message: 'The username "root" is taken in this account.' },
        ]);
        assert.deepEqual(await root(w), before);
      }));
  });
});

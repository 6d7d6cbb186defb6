// Test SSO, the domain half: what a login would do (planMatch, which writes nothing), which claim
// carries the address the app knows people by (Aircall's UPN-versus-mail case), the success that
// marks a connection tested, and the latest failure the doctor explains.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { addUser, connectionTested, createConnection } from "../../src/domain/admin.ts";
import { audit } from "../../src/domain/audit.ts";
import {
  CLAIM_NAME,
  CLAIM_OBJECTID,
  CLAIM_TENANTID,
  type Claims,
  type MatchPlan,
  matchUsers,
} from "../../src/domain/matching.ts";
import type { Role, User } from "../../src/domain/model.ts";
import {
  CLAIM_EMAILADDRESS,
  describePlan,
  latestFailure,
  previewTestLogin,
  recordTestSuccess,
} from "../../src/domain/test-sso.ts";
import { type Backend, onEachBackend } from "./backends.ts";
import {
  ALL_ON,
  accountWithEntra,
  CLI,
  ENTRA_CONNECTION,
  T0,
  TENANT,
  type World,
} from "./support.ts";

const at = (ms: number) => new Date(T0.getTime() + ms);
const EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const WORK_EMAIL = "http://schemas.contoso.com/claims/workemail";
const world = accountWithEntra;

function user(w: World, username: string, email: string, role: Role = "user"): Promise<User> {
  return addUser(w.store, w.account.id, { username, email, role }, CLI, T0);
}

/**
 * Claims as Entra sends them by default: the NameID and the name claim carry the UPN, the
 * emailaddress claim carries user.mail (which may differ), tenant and object ID identify.
 */
function entraClaims(o: {
  upn: string;
  mail?: string;
  oid?: string;
  extra?: Claims["attributes"];
}): Claims {
  const attributes: Record<string, readonly string[]> = {
    [CLAIM_NAME]: [o.upn],
    [CLAIM_TENANTID]: [TENANT],
    [CLAIM_OBJECTID]: [o.oid ?? "5f0c7d1e-3b2a-4c9d-8e7f-6a5b4c3d2e1f"],
    ...o.extra,
  };
  if (o.mail !== undefined) attributes[CLAIM_EMAILADDRESS] = [o.mail];
  return { nameId: o.upn, nameIdFormat: EMAIL_FORMAT, attributes, email: o.mail ?? o.upn };
}

/** Claims with no emailaddress claim, and a NameID that is no address (a persistent ID). */
function claimsWithoutMail(upn: string): Claims {
  return {
    nameId: "AAAAAAAAAAAAAAAAAAAAAEx1Y2lkX0lk",
    nameIdFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    attributes: { [CLAIM_NAME]: [upn] },
    email: undefined,
  };
}

function previewOf(w: World, claims: Claims, now = T0) {
  return previewTestLogin(w.store, w.account, w.connection, claims, now);
}

async function counts(rows: Backend["rows"]) {
  return {
    users: (await rows("users")).length,
    bindings: (await rows("identity_bindings")).length,
    audit: (await rows("audit_events")).length,
  };
}

onEachBackend((withStore) => {
  describe("previewTestLogin: which claim carries the address", () => {
    it("UPN in the store, mail in the emailaddress claim: refused, and the name claim suggested", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON });
        await user(w, "alice", "alice@contoso.com");
        const preview = await previewOf(
          w,
          entraClaims({ upn: "alice@contoso.com", mail: "alice.smith@contoso.com" }),
        );
        assert.equal(preview.plan.kind, "refused");
        assert.equal(preview.plan.kind === "refused" && preview.plan.reason, "no_matching_user");
        assert.equal(preview.email, "alice.smith@contoso.com");
        assert.match(preview.emailSource, /^emailaddress claim/);
        assert.equal(preview.assumedAllRoles, false);
        assert.deepEqual(
          preview.candidates.map((c) => [c.source, c.label, c.value, c.users]),
          [
            ["emailaddress", "emailaddress claim", "alice.smith@contoso.com", []],
            ["name", "name claim (UPN)", "alice@contoso.com", ["alice"]],
            ["nameid", "NameID", "alice@contoso.com", ["alice"]],
          ],
        );
        const s = preview.suggestion ?? "";
        assert.match(s, /carries alice\.smith@contoso\.com, which no user has/);
        assert.match(s, /name claim \(UPN\) alice@contoso\.com matches alice/);
        // Both fixes: read the email from "name" here, or send the UPN as emailaddress in Entra.
        assert.match(s, /"name"/);
        assert.match(s, /General Settings/);
        assert.match(s, /Attributes & Claims/);
        assert.match(s, /user\.userprincipalname/);
      }));

    it("no suggestion when the configured claim matches", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON, emailSource: "name" });
        const alice = await user(w, "alice", "alice@contoso.com");
        const preview = await previewOf(
          w,
          entraClaims({ upn: "alice@contoso.com", mail: "alice.smith@contoso.com" }),
        );
        assert.equal(preview.plan.kind, "single");
        assert.equal(preview.plan.kind === "single" && preview.plan.user.id, alice.id);
        assert.equal(preview.email, "alice@contoso.com");
        assert.equal(preview.emailSource, "name claim (UPN)");
        assert.equal(preview.suggestion, undefined);
        // The candidates are still shown, the emailaddress one matching nobody.
        assert.deepEqual(preview.candidates[0]!.users, []);
      }));

    it("no suggestion when the default emailaddress claim matches", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON });
        await user(w, "alice", "alice@contoso.com");
        const preview = await previewOf(
          w,
          entraClaims({ upn: "alice@contoso.com", mail: "alice@contoso.com" }),
        );
        assert.equal(preview.plan.kind, "single");
        assert.equal(preview.suggestion, undefined);
      }));

    it("with just-in-time creation on, the mismatch would create a second user: suggested too", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON, jitRole: "user" });
        await user(w, "alice", "alice@contoso.com");
        const preview = await previewOf(
          w,
          entraClaims({ upn: "alice@contoso.com", mail: "alice.smith@contoso.com" }),
        );
        assert.equal(preview.plan.kind, "jit");
        assert.match(
          preview.suggestion ?? "",
          /name claim \(UPN\) alice@contoso\.com matches alice/,
        );
      }));

    it("no suggestion when no claim matches anyone", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON });
        await user(w, "bob", "bob@contoso.com");
        const preview = await previewOf(
          w,
          entraClaims({ upn: "alice@contoso.com", mail: "alice.smith@contoso.com" }),
        );
        assert.equal(preview.plan.kind === "refused" && preview.plan.reason, "no_matching_user");
        assert.ok(preview.candidates.every((c) => c.users.length === 0));
        assert.equal(preview.suggestion, undefined);
      }));

    it("the email claim not received: email_claim_missing, and the name claim suggested", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON });
        await user(w, "alice", "alice@contoso.com");
        const preview = await previewOf(w, claimsWithoutMail("alice@contoso.com"));
        assert.equal(preview.plan.kind === "refused" && preview.plan.reason, "email_claim_missing");
        assert.equal(preview.email, undefined);
        assert.match(preview.suggestion ?? "", /^The configured email claim was not received, but/);
        assert.match(preview.suggestion ?? "", /"name"/);
      }));

    it("an address in a custom claim is offered as attribute:<uri>, without the UPN advice", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON });
        await user(w, "alice", "alice@contoso.com");
        const preview = await previewOf(
          w,
          entraClaims({
            upn: "alice@contoso.onmicrosoft.com",
            mail: "alice.smith@contoso.com",
            extra: { [WORK_EMAIL]: ["alice@contoso.com"], "http://x.test/dept": ["Sales"] },
          }),
        );
        // Claims that hold no address are not candidates.
        assert.deepEqual(
          preview.candidates.map((c) => c.source),
          ["emailaddress", "name", "nameid", `attribute:${WORK_EMAIL}`],
        );
        const s = preview.suggestion ?? "";
        assert.ok(s.includes(`"attribute:${WORK_EMAIL}"`), s);
        assert.match(s, /workemail alice@contoso\.com matches alice/);
        assert.ok(!s.includes("userprincipalname"), s);
      }));

    it("matches candidates case-insensitively when the account does", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: ALL_ON });
        await user(w, "alice", "Alice@Contoso.com");
        const preview = await previewOf(
          w,
          entraClaims({ upn: "alice@contoso.com", mail: "alice.smith@contoso.com" }),
        );
        assert.deepEqual(preview.candidates[1]!.users, ["alice"]);
      }));
  });

  describe("previewTestLogin: before SSO is switched on", () => {
    it("an account with Login with SAML off for every role is previewed as if all were on", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        const alice = await user(w, "alice", "alice@contoso.com", "agent");
        const preview = await previewOf(
          w,
          entraClaims({ upn: "alice@contoso.com", mail: "alice@contoso.com" }),
        );
        assert.equal(preview.assumedAllRoles, true);
        assert.equal(preview.plan.kind === "single" && preview.plan.user.id, alice.id);
        // The account itself is untouched.
        const stored = await store.accounts.get(w.account.id);
        assert.deepEqual(stored?.settings.samlLogin, w.account.settings.samlLogin);
      }));

    it("an account with SSO on for some roles is previewed as it is: other roles refused", () =>
      withStore(async ({ store }) => {
        const w = await world(store, { samlLogin: { ...ALL_ON, admin: false } });
        await user(w, "root", "root@contoso.com", "admin");
        const preview = await previewOf(
          w,
          entraClaims({ upn: "root@contoso.com", mail: "root@contoso.com" }),
        );
        assert.equal(preview.assumedAllRoles, false);
        assert.equal(preview.plan.kind === "refused" && preview.plan.reason, "role_not_enabled");
      }));
  });

  describe("planMatch writes nothing; matchUsers applies the same plan", () => {
    it("a first sign-in by email would bind the object ID: the preview does not, the login does", () =>
      withStore(async ({ store, rows }) => {
        const w = await world(store, { samlLogin: ALL_ON });
        const alice = await user(w, "alice", "alice@contoso.com");
        const claims = entraClaims({ upn: "alice@contoso.com", mail: "alice@contoso.com" });
        const before = await counts(rows);
        const preview = await previewOf(w, claims);
        assert.equal(preview.plan.kind, "single");
        const subject = `entra:${TENANT}/5f0c7d1e-3b2a-4c9d-8e7f-6a5b4c3d2e1f`;
        assert.equal(preview.plan.kind === "single" && preview.plan.bind, subject);
        assert.deepEqual(await counts(rows), before);
        assert.equal(await store.bindings.find(w.connection.id, subject), undefined);

        const outcome = await matchUsers(store, w.account, w.connection, claims, T0);
        assert.equal(outcome.kind === "single" && outcome.user.id, alice.id);
        assert.equal((await store.bindings.find(w.connection.id, subject))?.userId, alice.id);
      }));

    it("with just-in-time creation on, an unknown person: the preview creates no user, the login does", () =>
      withStore(async ({ store, rows }) => {
        const w = await world(store, { samlLogin: ALL_ON, jitRole: "agent" });
        await user(w, "alice", "alice@contoso.com");
        const claims = entraClaims({
          upn: "new.hire@contoso.com",
          mail: "new.hire@contoso.com",
          oid: "11111111-2222-3333-4444-555555555555",
        });
        const before = await counts(rows);
        const preview = await previewOf(w, claims);
        assert.deepEqual(preview.plan, {
          kind: "jit",
          email: "new.hire@contoso.com",
          role: "agent",
          bind: `entra:${TENANT}/11111111-2222-3333-4444-555555555555`,
        });
        assert.deepEqual(await counts(rows), before);
        assert.deepEqual(await store.users.byEmail(w.account.id, "new.hire@contoso.com", true), []);

        const outcome = await matchUsers(store, w.account, w.connection, claims, T0);
        assert.equal(outcome.kind === "single" && outcome.via, "jit");
        const after = await counts(rows);
        assert.equal(after.users, before.users + 1);
        assert.equal(after.bindings, before.bindings + 1);
      }));

    it("a known binding would have its last use rewritten: the preview leaves it", () =>
      withStore(async ({ store, rows }) => {
        const w = await world(store, { samlLogin: ALL_ON });
        const alice = await user(w, "alice", "alice@contoso.com");
        const subject = `entra:${TENANT}/5f0c7d1e-3b2a-4c9d-8e7f-6a5b4c3d2e1f`;
        const binding = await store.bindings.create(
          {
            userId: alice.id,
            connectionId: w.connection.id,
            subject,
          },
          T0,
        );
        // The person's mail changed since: the binding still recognises them.
        const claims = entraClaims({ upn: "alice@contoso.com", mail: "alice.new@contoso.com" });
        const later = at(3_600_000);
        const before = await rows("identity_bindings");
        const preview = await previewOf(w, claims, later);
        assert.equal(preview.plan.kind === "single" && preview.plan.via, "binding");
        assert.equal(preview.plan.kind === "single" && preview.plan.touch, binding.id);
        assert.deepEqual(await rows("identity_bindings"), before);

        await matchUsers(store, w.account, w.connection, claims, later);
        const [touched] = await store.bindings.listForUser(alice.id);
        assert.deepEqual(touched?.lastUsedAt, later);
      }));
  });

  describe("recordTestSuccess", () => {
    it("marks the connection tested as of now and audits sso.test success", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        assert.equal(w.connection.testedAt, null);
        assert.equal(connectionTested(w.connection), false);
        const now = at(60_000);
        const detail = { nameId: "alice@contoso.com", outcome: "single" };
        const updated = await recordTestSuccess(
          store,
          w.connection,
          "setup-link:0123456789ab",
          "203.0.113.9",
          detail,
          now,
        );
        assert.deepEqual(updated.testedAt, now);
        assert.equal(connectionTested(updated), true);
        const stored = await store.connections.get(w.connection.id);
        assert.deepEqual(stored?.testedAt, now);
        assert.equal(connectionTested(stored!), true);

        const [e, ...more] = await store.audit.query({ type: "sso.test" });
        assert.deepEqual(more, []);
        assert.equal(e!.outcome, "success");
        assert.equal(e!.accountId, w.account.id);
        assert.equal(e!.connectionId, w.connection.id);
        assert.equal(e!.actor, "setup-link:0123456789ab");
        assert.equal(e!.ip, "203.0.113.9");
        assert.deepEqual(e!.detail, detail);
        assert.deepEqual(e!.at, now);
      }));
  });

  describe("latestFailure", () => {
    async function event(
      w: World,
      type: "login.sso" | "sso.test",
      outcome: "success" | "failure",
      ms: number,
      connectionId = w.connection.id,
    ) {
      return audit(
        w.store,
        {
          type,
          outcome,
          reason: outcome === "failure" ? "audience_invalid" : null,
          accountId: w.account.id,
          connectionId,
          actor: "idp",
        },
        at(ms),
      );
    }

    it("is the newest failure, real or test, while no success came after it", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        assert.equal(await latestFailure(store, w.connection), undefined);
        await event(w, "login.sso", "failure", 1000);
        const newest = await event(w, "sso.test", "failure", 2000);
        assert.equal((await latestFailure(store, w.connection))?.id, newest.id);
        const real = await event(w, "login.sso", "failure", 3000);
        assert.equal((await latestFailure(store, w.connection))?.id, real.id);
      }));

    it("is nothing once a success (a test or a real sign-in) is newer", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        await event(w, "login.sso", "failure", 1000);
        await recordTestSuccess(store, w.connection, "admin-page", null, {}, at(2000));
        assert.equal(await latestFailure(store, w.connection), undefined);
        const again = await event(w, "login.sso", "failure", 3000);
        assert.equal((await latestFailure(store, w.connection))?.id, again.id);
        await event(w, "login.sso", "success", 4000);
        assert.equal(await latestFailure(store, w.connection), undefined);
      }));

    it("ignores other connections of the account", () =>
      withStore(async ({ store }) => {
        const w = await world(store);
        const { connection: other } = await createConnection(
          store,
          w.account.id,
          {
            ...ENTRA_CONNECTION,
            name: "Old IdP",
            idpEntityId: "https://idp.example.com",
            ssoUrl: "https://idp.example.com/sso",
            spEntityId: "https://gatehouse.example.com/sp/contoso-old",
          },
          CLI,
          T0,
        );
        const mine = await event(w, "login.sso", "failure", 1000);
        await event(w, "login.sso", "failure", 2000, other.id);
        assert.equal((await latestFailure(store, w.connection))?.id, mine.id);
        await event(w, "login.sso", "success", 3000, other.id);
        assert.equal((await latestFailure(store, w.connection))?.id, mine.id);
      }));
  });
});

describe("describePlan says what the real login would do", () => {
  const alice: User = {
    id: "usr_1",
    accountId: "acc_1",
    username: "alice",
    email: "alice@contoso.com",
    ssoId: null,
    role: "agent",
    passwordHash: null,
    totpSecret: null,
    breakGlass: false,
    mustChangePassword: false,
    disabled: false,
    createdAt: T0,
    updatedAt: T0,
  };
  const bob: User = { ...alice, id: "usr_2", username: "bob", role: "supervisor" };

  it("single, by email, first time: signs in and remembers the object ID", () => {
    const text = describePlan({
      kind: "single",
      user: alice,
      via: "email",
      bind: "entra:t/o",
      touch: undefined,
    });
    assert.equal(
      text,
      "Sign in as alice (agent); the IdP's object ID would be remembered for this user.",
    );
  });

  it("single, by email, nothing to remember", () => {
    const plan: MatchPlan = {
      kind: "single",
      user: alice,
      via: "sso_id",
      bind: undefined,
      touch: undefined,
    };
    assert.equal(describePlan(plan), "Sign in as alice (agent).");
  });

  it("single, through a binding: recognised by the object ID", () => {
    const text = describePlan({
      kind: "single",
      user: alice,
      via: "binding",
      bind: undefined,
      touch: "bnd_1",
    });
    assert.match(text, /^Sign in as alice \(agent\), recognised by the IdP's object ID/);
  });

  it("jit: creates the user with the role", () => {
    assert.equal(
      describePlan({ kind: "jit", email: "new@contoso.com", role: "user", bind: undefined }),
      "Create a new user new@contoso.com with role user (just-in-time creation) and sign them in.",
    );
  });

  it("choose: the profile chooser with each user", () => {
    assert.equal(
      describePlan({ kind: "choose", users: [alice, bob] }),
      "Show the profile chooser with alice (agent), bob (supervisor).",
    );
  });

  const refusals: [Extract<MatchPlan, { kind: "refused" }>["reason"], RegExp][] = [
    [
      "email_claim_missing",
      /not configured for SSO.*claim the email is read from was not received/,
    ],
    ["no_matching_user", /not configured for SSO.*no user of this account has that email/],
    ["duplicate_users", /multiple user names.*multi-login is off/],
    ["user_disabled", /the user is disabled/],
    ["role_not_enabled", /Login with SAML is off for this user's role/],
    ["multi_login_claim_missing", /multi-login claim was not received/],
  ];
  for (const [reason, text] of refusals) {
    it(`refused, ${reason}`, () => {
      const said = describePlan({ kind: "refused", reason, detail: {} });
      assert.match(said, /^Refuse the sign-in/);
      assert.match(said, text);
    });
  }
});

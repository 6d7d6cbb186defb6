/**
 * Demo mode: the accounts, users and connection that let a newcomer try every login flow of
 * Gatehouse against the built-in mock IdP (an Entra look-alike mounted at <publicUrl>/mock-idp),
 * and the list of what to try. Only the CLI mounts the mock IdP, and only in demo mode.
 *
 * The layout, one case each (the README walks through them in this order):
 *
 *   demo           "Demo Company": Login with SAML for every role, IdP-initiated allowed
 *     alice        alice@demo.test, user          normal SSO login
 *     bob          bob@demo.test, agent           "Login with SAML" button, My Apps tile
 *     carol-admin  carol@demo.test, admin   ┐     the same email twice and multi-login off:
 *     carol-agent  carol@demo.test, agent   ┘     Netcore's duplicate error
 *     dave         dave@demo.test, user, password DAVE_PASSWORD: password login
 *     grace        grace@demo.test, user         her UPN differs from her mail (Aircall's case)
 *   demo-multi     "Demo Multi-login": multi-login on (the email is the shared claim)
 *     carol-admin, carol-agent                     the profile chooser
 *   demo-enforced  "Demo Enforced SSO": SSO enforced
 *     frank        frank@demo.test, user, has a password that is refused
 *     breakglass   admin@demo.test, break-glass admin, password BREAKGLASS_PASSWORD
 *   demo-setup     "Demo Setup": no connection yet, SSO off; `gatehouse start` prints a setup
 *                  link for it, so a newcomer plays the customer's IT admin (metadata, check,
 *                  Test SSO, turn SSO on) against the mock IdP, whose app for it already has
 *                  the account's default Identifier and Reply URL
 *     judy         judy@demo.test, user (only in this account, so discovery finds it alone)
 *     grace        ggordon@demo.onmicrosoft.com, admin: known here by her UPN, so Test SSO
 *                  suggests reading the email from the name claim
 *
 * At the mock IdP every user's password is MOCK_IDP_PASSWORD; erin@demo.test exists there but
 * not in Gatehouse ("This email is not configured for SSO."), and heidi@demo.test is not
 * assigned to the applications (AADSTS50105: "Login failed due to incorrect credentials.").
 * carol@demo.test is in two accounts, so "Log in with SSO" asks which one.
 *
 * The demo IdP's signing key: an RSA-2048 key and a self-signed certificate made once with
 * `openssl req -x509` (node:crypto makes keys but not X.509 certificates) and kept in the data
 * directory (demo-idp.key, demo-idp.crt), so connections stay valid across restarts. Without
 * openssl, the committed test key (test/fixtures/keys/idp-rsa.*) is used, with a warning: it is
 * public, which a demo can live with and nothing else can.
 */

import { execFileSync } from "node:child_process";
import { createHash, createPrivateKey, type KeyObject } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Actor,
  addUser,
  createAccount,
  createConnection,
  updateAccount,
} from "../domain/admin.ts";
import type { Account, AccountSettings, Role } from "../domain/model.ts";
import { createSetupLink, SETUP_LINK_MAX_HOURS } from "../domain/setup-links.ts";
import type { Store } from "../domain/store.ts";
import type { RoutePlugin } from "../http/app.ts";
import {
  appIdOf,
  type MockIdpApp,
  type MockIdpOptions,
  type MockIdpUser,
  mockIdpPlugin,
  mockIdpUrls,
} from "../mock-idp/server.ts";
import { readCertificate } from "../saml/certs.ts";

/** The mock IdP's tenant: fixed, so the demo connection survives restarts. */
export const DEMO_TENANT_ID = "d3e0c0de-5a31-4c8e-9d2f-6a7b8c9d0e1f";
export const MOCK_IDP_BASE_PATH = "/mock-idp";
/** Every mock IdP user's password (also listed on the mock's sign-in page). */
export const MOCK_IDP_PASSWORD = "demo";
/** Gatehouse passwords of the password-login cases. */
export const DAVE_PASSWORD = "dave-demo-password";
export const BREAKGLASS_PASSWORD = "breakglass-demo-password";
export const FRANK_PASSWORD = "frank-demo-password";

/** The account whose "Login with SAML" button the login page shows in demo mode (AppDeps.defaultAccountName). */
export const DEMO_DEFAULT_ACCOUNT = "demo";

const ACS_PATH = "/api/auth/saml/callback";
const SLO_PATH = "/api/auth/saml/logout/callback";
const WHO: Actor = { actor: "demo-seed" };
const ALL_ROLES: Record<Role, boolean> = { admin: true, supervisor: true, agent: true, user: true };

interface DemoAccount {
  readonly name: string;
  readonly displayName: string;
  /** The settings the account is created with. */
  readonly settings: Omit<Partial<AccountSettings>, "ssoEnforced">;
  /** Enforced once the users (its break-glass admin among them) exist, as an admin would. */
  readonly ssoEnforced?: boolean;
  /**
   * The ACS the connection uses: the shared XCALLY path, or the per-connection one. The three
   * connections share one IdP (one Issuer), so IdP-initiated logins to the shared path could
   * not tell them apart; only the main account uses it.
   */
  readonly sharedAcs: boolean;
  /** False: no connection is made; the setup link makes it (the mock IdP knows the app). */
  readonly connected?: boolean;
  readonly users: readonly DemoUser[];
}

interface DemoUser {
  readonly username: string;
  readonly email: string;
  readonly role: Role;
  readonly password?: string;
  readonly breakGlass?: boolean;
}

const carol: readonly DemoUser[] = [
  { username: "carol-admin", email: "carol@demo.test", role: "admin" },
  { username: "carol-agent", email: "carol@demo.test", role: "agent" },
];

export const DEMO_ACCOUNTS: readonly DemoAccount[] = [
  {
    name: "demo",
    displayName: "Demo Company",
    settings: { samlLogin: ALL_ROLES, allowIdpInitiated: true },
    sharedAcs: true,
    users: [
      { username: "alice", email: "alice@demo.test", role: "user" },
      { username: "bob", email: "bob@demo.test", role: "agent" },
      ...carol,
      { username: "dave", email: "dave@demo.test", role: "user", password: DAVE_PASSWORD },
      { username: "grace", email: "grace@demo.test", role: "user" },
    ],
  },
  {
    name: "demo-multi",
    displayName: "Demo Multi-login",
    settings: { samlLogin: ALL_ROLES, allowIdpInitiated: true, multiLogin: true },
    sharedAcs: false,
    users: carol,
  },
  {
    name: "demo-enforced",
    displayName: "Demo Enforced SSO",
    settings: { samlLogin: ALL_ROLES, allowIdpInitiated: true },
    ssoEnforced: true,
    sharedAcs: false,
    users: [
      { username: "frank", email: "frank@demo.test", role: "user", password: FRANK_PASSWORD },
      {
        username: "breakglass",
        email: "admin@demo.test",
        role: "admin",
        password: BREAKGLASS_PASSWORD,
        breakGlass: true,
      },
    ],
  },
  {
    name: "demo-setup",
    displayName: "Demo Setup",
    settings: {},
    sharedAcs: true,
    connected: false,
    users: [
      { username: "judy", email: "judy@demo.test", role: "user" },
      { username: "grace", email: "ggordon@demo.onmicrosoft.com", role: "admin" },
    ],
  },
];

/** The account `gatehouse start` prints a setup link for. */
export const DEMO_SETUP_ACCOUNT = "demo-setup";

/** The people at the mock IdP (Entra users of the demo tenant). */
export const DEMO_IDP_USERS: readonly MockIdpUser[] = [
  idpUser("alice", "Alice", "Archer"),
  idpUser("bob", "Bob", "Baker"),
  idpUser("carol", "Carol", "Cooper"),
  idpUser("dave", "Dave", "Dalton"),
  idpUser("erin", "Erin", "Ellis"),
  idpUser("frank", "Frank", "Fischer"),
  // Aircall's case: the sign-in name (UPN) is not the mail address Gatehouse knows.
  { ...idpUser("grace", "Grace", "Gordon"), upn: "ggordon@demo.onmicrosoft.com" },
  { ...idpUser("heidi", "Heidi", "Hayes"), notAssigned: true },
  idpUser("admin", "Break-glass", "Admin"),
  idpUser("judy", "Judy", "Jensen"),
];

function idpUser(local: string, givenName: string, surname: string): MockIdpUser {
  const h = createHash("sha256").update(`demo-user:${local}`).digest("hex");
  return {
    upn: `${local}@demo.test`,
    mail: `${local}@demo.test`,
    objectId: `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`,
    givenName,
    surname,
    displayName: `${givenName} ${surname}`,
    password: MOCK_IDP_PASSWORD,
  };
}

export interface DemoIdpKey {
  readonly privateKey: KeyObject;
  /** Base64 DER. */
  readonly certificate: string;
}

export interface SeedDemoOptions {
  /** Gatehouse's external base URL, no trailing slash (the mock IdP is mounted under it). */
  readonly publicUrl: string;
  readonly now: () => Date;
  /** Where demo-idp.key/.crt are kept (default ./data). Ignored when idpKey is given. */
  readonly dataDir?: string;
  /** The IdP signing key to use instead of the one kept in dataDir (tests). */
  readonly idpKey?: DemoIdpKey;
  readonly warn?: (message: string) => void;
}

export interface DemoSeed {
  readonly mockIdpOptions: MockIdpOptions;
  /** What to try, for `gatehouse start` to print. */
  readonly summary: string;
  readonly accounts: Readonly<Record<string, Account>>;
}

/**
 * Creates whatever of the demo is missing (accounts, users, connections), and points existing
 * demo connections at the current public URL and IdP certificate. Running it again changes
 * nothing else: users and settings an admin changed are left alone.
 */
export async function seedDemo(store: Store, options: SeedDemoOptions): Promise<DemoSeed> {
  const publicUrl = options.publicUrl.replace(/\/+$/, "");
  const warn = options.warn ?? ((m: string) => console.warn(m));
  const key = options.idpKey ?? loadDemoIdpKey(options.dataDir ?? "data", warn);
  const idp = mockIdpUrls({ tenantId: DEMO_TENANT_ID, basePath: MOCK_IDP_BASE_PATH, publicUrl });
  const accounts: Record<string, Account> = {};
  const apps: MockIdpApp[] = [];

  for (const spec of DEMO_ACCOUNTS) {
    const now = options.now();
    const found = await store.accounts.byName(spec.name);
    let account =
      found ??
      (await createAccount(
        store,
        { name: spec.name, displayName: spec.displayName, settings: spec.settings },
        WHO,
        now,
      ));
    await addDemoUsers(store, account, spec.users, now);
    // Only on creation (a second run changes nothing), and before the connection exists: the
    // test gate exempts an account without one, and the demo connection is never tested.
    if (found === undefined && spec.ssoEnforced === true)
      account = await updateAccount(
        store,
        account.id,
        { settings: { ssoEnforced: true } },
        WHO,
        now,
      );
    accounts[spec.name] = account;

    if (spec.connected === false) {
      // The values the setup page shows for an account without a connection (defaultSpValues
      // in src/http/routes/admin-shared.ts): the IT admin "pasted" them into the mock IdP.
      apps.push({
        spEntityId: `${publicUrl}/saml/${spec.name}`,
        acsUrl: `${publicUrl}${ACS_PATH}`,
        sloUrl: `${publicUrl}${SLO_PATH}`,
        name: spec.displayName,
      });
      continue;
    }

    const spEntityId = `${publicUrl}/sp/${spec.name}`;
    const wanted = {
      idpEntityId: idp.entityId,
      ssoUrl: idp.saml2,
      sloUrl: idp.saml2,
      certificates: [key.certificate],
    };
    const existing = (await store.connections.list(account.id)).find((c) => c.name === "Demo IdP");
    let connection =
      existing ??
      (
        await createConnection(
          store,
          account.id,
          { name: "Demo IdP", spEntityId, acsUrl: `${publicUrl}${ACS_PATH}`, ...wanted },
          WHO,
          now,
        )
      ).connection;
    const acsUrl = spec.sharedAcs
      ? `${publicUrl}${ACS_PATH}`
      : `${publicUrl}${ACS_PATH}/${connection.id}`;
    if (
      connection.acsUrl !== acsUrl ||
      connection.spEntityId !== spEntityId ||
      connection.ssoUrl !== wanted.ssoUrl ||
      connection.sloUrl !== wanted.sloUrl ||
      connection.idpEntityId !== wanted.idpEntityId ||
      !connection.certificates.includes(key.certificate)
    ) {
      connection = await store.connections.update(
        connection.id,
        { ...wanted, acsUrl, spEntityId, active: true, testedAt: null },
        now,
      );
    }
    apps.push({
      spEntityId,
      acsUrl,
      sloUrl: `${publicUrl}${SLO_PATH}`,
      name: spec.displayName,
    });
  }

  const mockIdpOptions: MockIdpOptions = {
    tenantId: DEMO_TENANT_ID,
    basePath: MOCK_IDP_BASE_PATH,
    publicUrl,
    signingKey: key.privateKey,
    signingCertificate: key.certificate,
    users: DEMO_IDP_USERS,
    apps,
    now: options.now,
    showDemoUsers: true,
  };
  const setupApp = apps[DEMO_ACCOUNTS.findIndex((a) => a.name === DEMO_SETUP_ACCOUNT)]!;
  const summary = demoSummary(publicUrl, idp.myApps, idp.metadata(appIdOf(setupApp)));
  return { mockIdpOptions, summary, accounts };
}

async function addDemoUsers(
  store: Store,
  account: Account,
  users: readonly DemoUser[],
  now: Date,
): Promise<void> {
  for (const u of users) {
    if ((await store.users.byUsername(account.id, u.username)) !== undefined) continue;
    await addUser(
      store,
      account.id,
      {
        username: u.username,
        email: u.email,
        role: u.role,
        ...(u.password === undefined ? {} : { password: u.password }),
        ...(u.breakGlass === undefined ? {} : { breakGlass: u.breakGlass }),
      },
      WHO,
      now,
    );
  }
}

/**
 * A fresh setup link for the demo-setup account (a week), for `gatehouse start` to print: the
 * token is shown once, so each start makes one; the old ones expire on their own.
 */
export async function demoSetupLink(store: Store, publicUrl: string, now: Date): Promise<string> {
  const { token } = await createSetupLink(
    store,
    DEMO_SETUP_ACCOUNT,
    { expiresInHours: SETUP_LINK_MAX_HOURS },
    WHO,
    now,
  );
  return `${publicUrl.replace(/\/+$/, "")}/setup/${token}`;
}

/** Mounts the mock IdP; the CLI passes it to buildApp in demo mode only. */
export function demoRoutes(mockIdpOptions: MockIdpOptions): RoutePlugin {
  return async (app) => {
    // Registered, not called: its hooks and error handler stay inside its own context.
    await app.register(mockIdpPlugin, mockIdpOptions);
  };
}

/**
 * The demo IdP's key pair from `dir`, made with openssl on first use. Falls back to the public
 * test key when openssl is missing.
 */
export function loadDemoIdpKey(dir: string, warn: (message: string) => void): DemoIdpKey {
  const keyPath = join(dir, "demo-idp.key");
  const crtPath = join(dir, "demo-idp.crt");
  if (!existsSync(keyPath) || !existsSync(crtPath)) {
    mkdirSync(dir, { recursive: true });
    try {
      execFileSync(
        "openssl",
        [
          "req",
          "-x509",
          "-newkey",
          "rsa:2048",
          "-sha256",
          "-nodes",
          "-days",
          "3650",
          "-subj",
          "/CN=Gatehouse demo IdP",
          "-keyout",
          keyPath,
          "-out",
          crtPath,
        ],
        { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 },
      );
      chmodSync(keyPath, 0o600);
    } catch (e) {
      const fixtures = join(import.meta.dirname, "../../test/fixtures/keys");
      warn(
        `Could not make the demo IdP key with openssl (${(e as Error).message.split("\n")[0]}); ` +
          `using the public test key ${join(fixtures, "idp-rsa.key")}. Demo use only.`,
      );
      return readKeyPair(join(fixtures, "idp-rsa.key"), join(fixtures, "idp-rsa.crt"));
    }
  }
  return readKeyPair(keyPath, crtPath);
}

function readKeyPair(keyPath: string, crtPath: string): DemoIdpKey {
  return {
    privateKey: createPrivateKey(readFileSync(keyPath)),
    certificate: readCertificate(readFileSync(crtPath, "utf8"), crtPath).base64,
  };
}

function demoSummary(publicUrl: string, myApps: string, idpMetadata: string): string {
  return [
    "Demo mode: a demo account and a mock identity provider (an Entra ID look-alike).",
    "Never expose demo mode to a network: its passwords are printed here.",
    "",
    `  Sign in:        ${publicUrl}/login`,
    `  Mock IdP apps:  ${myApps}`,
    `  Mock IdP password for every user: ${MOCK_IDP_PASSWORD}`,
    "",
    "Try:",
    '  "Log in with SSO", alice@demo.test           signed in through the mock IdP',
    '  "Login with SAML", sign in as bob@demo.test  the XCALLY button (account "demo")',
    "  Password login: dave / " + `${DAVE_PASSWORD}, account demo`,
    `  Enforced SSO:   frank / ${FRANK_PASSWORD}, account demo-enforced (refused);`,
    `                  breakglass / ${BREAKGLASS_PASSWORD} (break-glass admin, allowed)`,
    '  "Log in with SSO", carol@demo.test           asks for the account:',
    "                  demo        -> two users share the email: the duplicate error",
    "                  demo-multi  -> multi-login: choose carol-admin or carol-agent",
    '  "Log in with SSO", erin@demo.test            "This email is not configured for SSO."',
    "  At the mock IdP, sign in as erin instead     the same error, after the IdP",
    "  grace@demo.test                              her UPN differs from her mail: matched by mail",
    "  heidi@demo.test                              not assigned to the app at the IdP",
    "  My Apps, a tile                              IdP-initiated login",
    "",
    "Set up SSO as a customer's IT admin would (account demo-setup, the link below):",
    `  download the mock IdP's metadata at ${idpMetadata}`,
    "  and upload it in step 5; test as grace (UPN differs from mail), then as judy.",
  ].join("\n");
}

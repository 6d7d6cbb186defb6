/**
 * What admins do, in one place for the admin API, the admin pages and the CLI: accounts and
 * their General Settings, connections (from Federation Metadata or typed fields), users (one by
 * one or from CSV), identity bindings. Every change is audited with its actor.
 */

import { readCertificate } from "../saml/certs.ts";
import { readIdpMetadata } from "../saml/metadata.ts";
import { audit } from "./audit.ts";
import {
  type Account,
  type AccountSettings,
  type Connection,
  DEFAULT_ACCOUNT_SETTINGS,
  type EmailSource,
  ROLES,
  type Role,
  type User,
} from "./model.ts";
import { hashPassword } from "./passwords.ts";
import type { ConnectionPatch, Store, UserPatch } from "./store.ts";

/** A refusal of an admin operation: `field` names the input at fault. */
export class AdminError extends Error {
  override readonly name = "AdminError";
  readonly field: string;
  readonly status: 400 | 404 | 409;
  constructor(field: string, message: string, status: 400 | 404 | 409 = 400) {
    super(message);
    this.field = field;
    this.status = status;
  }
}

export interface Actor {
  /** "admin-api", "admin-page", "cli", "system". */
  readonly actor: string;
  readonly ip?: string | null;
}

const ACCOUNT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;

export async function createAccount(
  store: Store,
  input: { name: string; displayName?: string; settings?: Partial<AccountSettings> },
  who: Actor,
  now: Date,
): Promise<Account> {
  const name = input.name.trim();
  if (!ACCOUNT_NAME.test(name)) {
    throw new AdminError(
      "name",
      "Account names are 1-63 letters, digits, dots, dashes or underscores, starting with a letter or digit.",
    );
  }
  if ((await store.accounts.byName(name)) !== undefined)
    throw new AdminError("name", `An account named "${name}" already exists.`, 409);
  const settings = mergeSettings(DEFAULT_ACCOUNT_SETTINGS, input.settings ?? {});
  // The break-glass rule of updateAccount, which a new account cannot meet: it has no users yet.
  if (settings.ssoEnforced) {
    throw new AdminError(
      "settings.ssoEnforced",
      "A new account cannot start with SSO enforced: enforcing turns password login off, and it has no break-glass admin yet. Create the account, add an admin marked break-glass, then enforce SSO.",
    );
  }
  const account = await store.accounts.create(
    { name, displayName: input.displayName?.trim() || name, settings },
    now,
  );
  await audit(
    store,
    {
      type: "admin.account.create",
      outcome: "success",
      accountId: account.id,
      actor: who.actor,
      ip: who.ip ?? null,
      detail: { name },
    },
    now,
  );
  return account;
}

export async function updateAccount(
  store: Store,
  id: string,
  patch: { displayName?: string; settings?: Partial<AccountSettings> },
  who: Actor,
  now: Date,
): Promise<Account> {
  const account = await requireAccount(store, id);
  const settings =
    patch.settings === undefined ? undefined : mergeSettings(account.settings, patch.settings);
  if (settings?.ssoEnforced === true && !account.settings.ssoEnforced) {
    const admins = (await store.users.list(account.id)).filter(keepsBreakGlass);
    if (admins.length === 0) {
      throw new AdminError(
        "settings.ssoEnforced",
        "Enforcing SSO turns password login off. Mark at least one admin as break-glass first, so someone can still sign in if the IdP fails.",
      );
    }
  }
  if (settings !== undefined) await requireTestedConnection(store, account, settings, who);
  const updated = await store.accounts.update(
    id,
    {
      ...(patch.displayName === undefined ? {} : { displayName: patch.displayName.trim() }),
      ...(settings === undefined ? {} : { settings }),
    },
    now,
  );
  await audit(
    store,
    {
      type: "admin.account.update",
      outcome: "success",
      accountId: id,
      actor: who.actor,
      ip: who.ip ?? null,
      detail: { before: account.settings, after: updated.settings, displayName: patch.displayName },
    },
    now,
  );
  return updated;
}

/**
 * True when a test login succeeded through the connection since it last changed (Test SSO sets
 * testedAt and updatedAt together; any later change moves updatedAt past it).
 */
export function connectionTested(c: Connection): boolean {
  return c.testedAt !== null && c.updatedAt.getTime() <= c.testedAt.getTime();
}

/**
 * The test gate: Login with SAML cannot be switched on for a role, nor SSO enforced, while the
 * account's active connection has not passed Test SSO since its last change. The rule, and its
 * two deliberate limits:
 * - It guards the switch, not the state: replacing the IdP side of a live connection (a
 *   certificate rotation) clears testedAt but does not turn SSO off; the connection page then
 *   asks for a new test and the doctor says why.
 * - An account with no active connection may have Login with SAML on (createAccount allows it
 *   too): nothing can sign in through SAML until a connection exists. This is how the operator's
 *   single-server setup (XCALLY's .env and initialize, `gatehouse init`) and the demo seed work,
 *   and the operator at the server's shell (actor "cli") is not held to the gate: the gate
 *   protects the admin API, the admin pages and setup links.
 */
async function requireTestedConnection(
  store: Store,
  account: Account,
  next: AccountSettings,
  who: Actor,
): Promise<void> {
  if (who.actor === "cli") return;
  const switchedOn = ROLES.filter((r) => next.samlLogin[r] && !account.settings.samlLogin[r]);
  const enforcing = next.ssoEnforced && !account.settings.ssoEnforced;
  if (switchedOn.length === 0 && !enforcing) return;
  const connection = (await store.connections.list(account.id)).find((c) => c.active);
  if (connection === undefined || connectionTested(connection)) return;
  const what =
    switchedOn.length > 0
      ? `Login with SAML cannot be switched on (${switchedOn.join(", ")})`
      : "SSO cannot be enforced";
  const since = connection.testedAt === null ? "yet" : "since the connection last changed";
  throw new AdminError(
    enforcing && switchedOn.length === 0 ? "settings.ssoEnforced" : "settings.samlLogin",
    `${what}: no test sign-in has succeeded through "${connection.name}" ${since}. Run Test SSO first (the connection page's "Test sign-in", or step 6 of the setup link), then try again.`,
    409,
  );
}

/** Validates a partial settings object from the outside world and merges it over `base`. */
export function mergeSettings(
  base: AccountSettings,
  patch: Partial<AccountSettings> | Record<string, unknown>,
): AccountSettings {
  const p = patch as Record<string, unknown>;
  const known = new Set(Object.keys(DEFAULT_ACCOUNT_SETTINGS));
  for (const k of Object.keys(p))
    if (!known.has(k)) throw new AdminError(`settings.${k}`, `Unknown setting "${k}".`);
  const bool = (k: string): boolean | undefined => {
    if (p[k] === undefined) return undefined;
    if (typeof p[k] !== "boolean")
      throw new AdminError(`settings.${k}`, `${k} must be true or false.`);
    return p[k] as boolean;
  };
  let samlLogin = base.samlLogin;
  if (p.samlLogin !== undefined) {
    const s = p.samlLogin as Record<string, unknown>;
    if (typeof s !== "object" || s === null)
      throw new AdminError("settings.samlLogin", "samlLogin maps each role to true or false.");
    const next: Record<Role, boolean> = { ...base.samlLogin };
    for (const [role, v] of Object.entries(s)) {
      if (!ROLES.includes(role as Role))
        throw new AdminError(
          `settings.samlLogin.${role}`,
          `Unknown role "${role}" (roles: ${ROLES.join(", ")}).`,
        );
      if (typeof v !== "boolean")
        throw new AdminError(`settings.samlLogin.${role}`, "Each role maps to true or false.");
      next[role as Role] = v;
    }
    samlLogin = next;
  }
  let emailSource = base.emailSource;
  if (p.emailSource !== undefined) {
    const v = p.emailSource;
    if (
      typeof v !== "string" ||
      !(
        v === "emailaddress" ||
        v === "nameid" ||
        v === "name" ||
        (v.startsWith("attribute:") && v.length > 10)
      )
    ) {
      throw new AdminError(
        "settings.emailSource",
        'emailSource is "emailaddress", "nameid", "name" or "attribute:<claim URI>".',
      );
    }
    emailSource = v as EmailSource;
  }
  let jitRole = base.jitRole;
  if (p.jitRole !== undefined) {
    if (p.jitRole !== null && !ROLES.includes(p.jitRole as Role))
      throw new AdminError(
        "settings.jitRole",
        `jitRole is null (off) or a role: ${ROLES.join(", ")}.`,
      );
    jitRole = p.jitRole as Role | null;
  }
  let multiLoginClaim = base.multiLoginClaim;
  if (p.multiLoginClaim !== undefined) {
    if (
      p.multiLoginClaim !== null &&
      (typeof p.multiLoginClaim !== "string" || p.multiLoginClaim.trim() === "")
    ) {
      throw new AdminError(
        "settings.multiLoginClaim",
        "multiLoginClaim is null (match on the email) or a claim name.",
      );
    }
    multiLoginClaim = p.multiLoginClaim === null ? null : (p.multiLoginClaim as string).trim();
  }
  return Object.freeze({
    samlLogin: Object.freeze(samlLogin),
    ssoEnforced: bool("ssoEnforced") ?? base.ssoEnforced,
    multiLogin: bool("multiLogin") ?? base.multiLogin,
    multiLoginClaim,
    emailSource,
    emailCaseInsensitive: bool("emailCaseInsensitive") ?? base.emailCaseInsensitive,
    jitRole,
    allowIdpInitiated: bool("allowIdpInitiated") ?? base.allowIdpInitiated,
  });
}

export interface ConnectionInput {
  readonly name?: string;
  /** Federation Metadata XML (file contents). */
  readonly metadataXml?: string;
  /** Where that XML was fetched from, kept to refresh it. */
  readonly metadataUrl?: string;
  readonly idpEntityId?: string;
  readonly ssoUrl?: string;
  readonly sloUrl?: string | null;
  /** PEM or one-line Base64, as pasted. */
  readonly certificates?: readonly string[];
  readonly spEntityId: string;
  readonly acsUrl: string;
  readonly allowSha1?: boolean;
  readonly signRequests?: boolean;
  readonly requireSignedAssertion?: boolean;
  readonly requireSignedResponse?: boolean;
}

/** Typed fields, or Federation Metadata XML (fields given beside it win). */
export function connectionFields(
  input: ConnectionInput,
  now: Date,
): Omit<ConnectionPatch, "active"> & { warnings: string[] } {
  const warnings: string[] = [];
  let idpEntityId = input.idpEntityId;
  let ssoUrl = input.ssoUrl;
  let sloUrl = input.sloUrl;
  let certificates = input.certificates?.map(
    (c, i) => readCertificate(c, `certificates[${i}]`).base64,
  );
  if (input.metadataXml !== undefined) {
    const meta = readIdpMetadata(input.metadataXml, { now });
    idpEntityId ??= meta.entityId;
    ssoUrl ??= meta.ssoRedirectUrl;
    sloUrl ??= meta.sloRedirectUrl ?? null;
    // Expired ones too: Entra keeps signing with an expired active certificate (ENTRA.md).
    certificates ??= [...meta.certificates, ...meta.expiredCertificates].map((c) => c.base64);
    warnings.push(...meta.warnings);
  }
  if (idpEntityId === undefined || idpEntityId.trim() === "")
    throw new AdminError(
      "idpEntityId",
      "The IdP entity ID is required (Entra: Microsoft Entra Identifier).",
    );
  if (ssoUrl === undefined || !isHttpUrl(ssoUrl))
    throw new AdminError(
      "ssoUrl",
      "The IdP login URL is required, an absolute http(s) URL (Entra: Login URL).",
    );
  if (sloUrl !== undefined && sloUrl !== null && !isHttpUrl(sloUrl))
    throw new AdminError(
      "sloUrl",
      "The IdP logout URL must be an absolute http(s) URL (Entra: Logout URL).",
    );
  if (certificates === undefined || certificates.length === 0)
    throw new AdminError(
      "certificates",
      "At least one IdP signing certificate is required (Entra: Certificate (Base64)).",
    );
  if (!isHttpUrl(input.acsUrl))
    throw new AdminError("acsUrl", "The ACS (Reply) URL must be an absolute http(s) URL.");
  if (input.spEntityId.trim() === "")
    throw new AdminError("spEntityId", "The SP entity ID (Identifier) is required.");
  return {
    ...(input.name === undefined ? {} : { name: input.name }),
    idpEntityId: idpEntityId.trim(),
    ssoUrl,
    sloUrl: sloUrl ?? null,
    certificates: [...new Set(certificates)],
    spEntityId: input.spEntityId.trim(),
    acsUrl: input.acsUrl,
    allowSha1: input.allowSha1 ?? false,
    signRequests: input.signRequests ?? false,
    requireSignedAssertion: input.requireSignedAssertion ?? false,
    requireSignedResponse: input.requireSignedResponse ?? false,
    metadataUrl: input.metadataUrl ?? null,
    warnings,
  };
}

export async function createConnection(
  store: Store,
  accountId: string,
  input: ConnectionInput,
  who: Actor,
  now: Date,
  /** A setup link's replacement for a live connection is created inactive (a draft). */
  options: { active?: boolean } = {},
): Promise<{ connection: Connection; warnings: string[] }> {
  // An account may be named by id or name; everything below uses the id.
  accountId = (await requireAccount(store, accountId)).id;
  const { warnings, ...fields } = connectionFields(input, now);
  const connection = await store.connections.create(
    {
      accountId,
      name: input.name?.trim() || "Entra ID",
      active: options.active ?? true,
      idpEntityId: fields.idpEntityId!,
      ssoUrl: fields.ssoUrl!,
      sloUrl: fields.sloUrl ?? null,
      certificates: fields.certificates!,
      spEntityId: fields.spEntityId!,
      acsUrl: fields.acsUrl!,
      allowSha1: fields.allowSha1 ?? false,
      signRequests: fields.signRequests ?? false,
      requireSignedAssertion: fields.requireSignedAssertion ?? false,
      requireSignedResponse: fields.requireSignedResponse ?? false,
      metadataUrl: fields.metadataUrl ?? null,
    },
    now,
  );
  await audit(
    store,
    {
      type: "admin.connection.create",
      outcome: "success",
      accountId,
      connectionId: connection.id,
      actor: who.actor,
      ip: who.ip ?? null,
      detail: { idpEntityId: connection.idpEntityId, active: connection.active, warnings },
    },
    now,
  );
  return { connection, warnings };
}

/** Replaces a connection's IdP side (new metadata, new certificate); clears its test status. */
export async function updateConnection(
  store: Store,
  id: string,
  input: ConnectionInput,
  who: Actor,
  now: Date,
): Promise<{ connection: Connection; warnings: string[] }> {
  const existing = await requireConnection(store, id);
  const { warnings, ...fields } = connectionFields(input, now);
  const connection = await store.connections.update(id, { ...fields, testedAt: null }, now);
  await audit(
    store,
    {
      type: "admin.connection.update",
      outcome: "success",
      accountId: existing.accountId,
      connectionId: id,
      actor: who.actor,
      ip: who.ip ?? null,
      detail: { warnings },
    },
    now,
  );
  return { connection, warnings };
}

export async function setConnectionActive(
  store: Store,
  id: string,
  active: boolean,
  who: Actor,
  now: Date,
): Promise<Connection> {
  const existing = await requireConnection(store, id);
  const connection = await store.connections.update(id, { active }, now);
  await audit(
    store,
    {
      type: active ? "admin.connection.activate" : "admin.connection.deactivate",
      outcome: "success",
      accountId: existing.accountId,
      connectionId: id,
      actor: who.actor,
      ip: who.ip ?? null,
    },
    now,
  );
  return connection;
}

export interface UserInput {
  readonly username: string;
  readonly email: string;
  readonly role?: Role;
  readonly ssoId?: string | null;
  readonly password?: string;
  readonly breakGlass?: boolean;
  readonly disabled?: boolean;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;

export async function addUser(
  store: Store,
  accountId: string,
  input: UserInput,
  who: Actor,
  now: Date,
): Promise<User> {
  accountId = (await requireAccount(store, accountId)).id;
  const username = input.username.trim();
  if (username === "" || username.length > 200)
    throw new AdminError("username", "A username is required (at most 200 characters).");
  if (!EMAIL.test(input.email.trim()))
    throw new AdminError("email", `"${input.email}" is not an email address.`);
  const role = input.role ?? "user";
  if (!ROLES.includes(role))
    throw new AdminError("role", `Unknown role "${role}" (roles: ${ROLES.join(", ")}).`);
  if (input.breakGlass === true && role !== "admin")
    throw new AdminError("breakGlass", "Only admins can be break-glass accounts.");
  if (input.password !== undefined && input.password.length < 12)
    throw new AdminError("password", "Passwords are at least 12 characters.");
  if ((await store.users.byUsername(accountId, username)) !== undefined)
    throw new AdminError("username", `The username "${username}" is taken in this account.`, 409);
  const user = await store.users.create(
    {
      accountId,
      username,
      email: input.email.trim(),
      ssoId: input.ssoId?.trim() || null,
      role,
      passwordHash: input.password === undefined ? null : await hashPassword(input.password),
      totpSecret: null,
      breakGlass: input.breakGlass ?? false,
      mustChangePassword: false,
      disabled: input.disabled ?? false,
    },
    now,
  );
  await audit(
    store,
    {
      type: "admin.user.create",
      outcome: "success",
      accountId,
      userId: user.id,
      actor: who.actor,
      ip: who.ip ?? null,
      detail: { username, role },
    },
    now,
  );
  return user;
}

export async function updateUser(
  store: Store,
  id: string,
  patch: Partial<UserInput>,
  who: Actor,
  now: Date,
): Promise<User> {
  const user = await store.users.get(id);
  if (user === undefined) throw new AdminError("id", "No such user.", 404);
  const next: UserPatch = {};
  const p = next as { -readonly [K in keyof UserPatch]: UserPatch[K] };
  if (patch.email !== undefined) {
    if (!EMAIL.test(patch.email.trim()))
      throw new AdminError("email", `"${patch.email}" is not an email address.`);
    p.email = patch.email.trim();
  }
  if (patch.role !== undefined) {
    if (!ROLES.includes(patch.role)) throw new AdminError("role", `Unknown role "${patch.role}".`);
    p.role = patch.role;
  }
  if (patch.ssoId !== undefined) p.ssoId = patch.ssoId?.trim() || null;
  if (patch.breakGlass !== undefined) {
    if (patch.breakGlass && (patch.role ?? user.role) !== "admin")
      throw new AdminError("breakGlass", "Only admins can be break-glass accounts.");
    p.breakGlass = patch.breakGlass;
  }
  if (patch.disabled !== undefined) p.disabled = patch.disabled;
  await requireBreakGlassKept(store, user, next);
  if (patch.password !== undefined) {
    if (patch.password.length < 12)
      throw new AdminError("password", "Passwords are at least 12 characters.");
    p.passwordHash = await hashPassword(patch.password);
  }
  if (patch.username !== undefined && patch.username.trim() !== user.username) {
    const taken = await store.users.byUsername(user.accountId, patch.username.trim());
    if (taken !== undefined)
      throw new AdminError(
        "username",
        `The username "${patch.username}" is taken in this account.`,
        409,
      );
    p.username = patch.username.trim();
  }
  const updated = await store.users.update(id, next, now);
  if (patch.disabled === true && !user.disabled)
    await store.sessions.endForUser(id, now, "user_disabled");
  await audit(
    store,
    {
      type: "admin.user.update",
      outcome: "success",
      accountId: user.accountId,
      userId: id,
      actor: who.actor,
      ip: who.ip ?? null,
      detail: {
        fields: Object.keys(next)
          .filter((k) => k !== "passwordHash")
          .concat(p.passwordHash ? ["password"] : []),
      },
    },
    now,
  );
  return updated;
}

/** An admin who can still sign in with a password while SSO is enforced (password-login.ts). */
function keepsBreakGlass(u: Pick<User, "role" | "breakGlass" | "disabled">): boolean {
  return u.role === "admin" && u.breakGlass && !u.disabled;
}

/**
 * The other half of updateAccount's break-glass rule: while SSO is enforced, the account's last
 * enabled break-glass admin cannot be disabled, unmarked or moved to another role, since nobody
 * could then sign in if the IdP failed. updateUser is the only path that changes these three
 * (users are never deleted; the CSV import only adds). Two requests each removing one of the
 * last two admins at the same instant can both pass: the store has no transaction to hold.
 */
async function requireBreakGlassKept(store: Store, user: User, next: UserPatch): Promise<void> {
  const after = { ...user, ...next };
  if (!keepsBreakGlass(user) || keepsBreakGlass(after)) return;
  const account = await store.accounts.get(user.accountId);
  if (account === undefined || !account.settings.ssoEnforced) return;
  const others = (await store.users.list(user.accountId)).filter(
    (u) => u.id !== user.id && keepsBreakGlass(u),
  );
  if (others.length > 0) return;
  const field = after.disabled ? "disabled" : !after.breakGlass ? "breakGlass" : "role";
  throw new AdminError(
    field,
    `"${user.username}" is this account's last enabled break-glass admin, the only one who can still sign in with a password while SSO is enforced. Add another break-glass admin, or stop enforcing SSO, first.`,
    409,
  );
}

export interface CsvImportResult {
  readonly created: number;
  readonly errors: readonly { line: number; message: string }[];
}

/**
 * Imports users from CSV with a header line naming the columns: username, email, and optionally
 * role, sso_id, break_glass. All or nothing per line: a bad line is reported, the others imported.
 */
export async function importUsersCsv(
  store: Store,
  accountId: string,
  csv: string,
  who: Actor,
  now: Date,
): Promise<CsvImportResult> {
  accountId = (await requireAccount(store, accountId)).id;
  const lines = csv
    .replace(/^\uFEFF/, "")
    .split(/\r?\n/)
    .filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new AdminError("csv", "The CSV is empty.");
  const header = parseCsvLine(lines[0]!).map((h) => h.trim().toLowerCase());
  for (const required of ["username", "email"])
    if (!header.includes(required))
      throw new AdminError("csv", `The header line must name a "${required}" column.`);
  const errors: { line: number; message: string }[] = [];
  let created = 0;
  for (let i = 1; i < lines.length; i++) {
    const cells = parseCsvLine(lines[i]!);
    const get = (name: string): string | undefined => {
      const idx = header.indexOf(name);
      return idx < 0 ? undefined : cells[idx]?.trim();
    };
    try {
      await addUser(
        store,
        accountId,
        {
          username: get("username") ?? "",
          email: get("email") ?? "",
          role: (get("role") || "user") as Role,
          ssoId: get("sso_id") || null,
          breakGlass: /^(1|true|yes)$/i.test(get("break_glass") ?? ""),
        },
        who,
        now,
      );
      created++;
    } catch (e) {
      if (!(e instanceof AdminError)) throw e;
      errors.push({ line: i + 1, message: e.message });
    }
  }
  return { created, errors };
}

/** RFC 4180 fields: commas, double quotes around fields, "" for a quote inside. */
export function parseCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"' && cur === "") quoted = true;
    else if (c === ",") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export async function requireAccount(store: Store, id: string): Promise<Account> {
  const account = (await store.accounts.get(id)) ?? (await store.accounts.byName(id));
  if (account === undefined) throw new AdminError("account", `No account "${id}".`, 404);
  return account;
}

export async function requireConnection(store: Store, id: string): Promise<Connection> {
  const c = await store.connections.get(id);
  if (c === undefined) throw new AdminError("connection", `No connection "${id}".`, 404);
  return c;
}

function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === "https:" || u.protocol === "http:") && u.hash === "";
  } catch {
    return false;
  }
}

/** Forgets an identity binding: the user's next SSO login matches by email again. */
export async function removeBinding(
  store: Store,
  id: string,
  who: Actor,
  now: Date,
): Promise<void> {
  if (!(await store.bindings.remove(id)))
    throw new AdminError("binding", `No identity binding "${id}".`, 404);
  await audit(
    store,
    {
      type: "admin.binding.remove",
      outcome: "success",
      actor: who.actor,
      ip: who.ip ?? null,
      detail: { bindingId: id },
    },
    now,
  );
}

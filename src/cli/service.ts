/**
 * What the service commands share: the configuration loaded (or every problem printed), the
 * store opened from it, the single-server shortcut (XCALLY's .env, applied by `init` and at
 * `start`), the values an IT admin pastes into Entra, and admin refusals turned into one line.
 */

import { createPrivateKey } from "node:crypto";
import { relative } from "node:path";
import { ConfigError, loadConfig, redactUrl } from "../config/load.ts";
import type { Config, SamlShortcut } from "../config/schema.ts";
import {
  type Actor,
  AdminError,
  createAccount,
  createConnection,
  mergeSettings,
  updateAccount,
  updateConnection,
} from "../domain/admin.ts";
import type { Account, AccountSettings, Connection } from "../domain/model.ts";
import type { Store } from "../domain/store.ts";
import type { AppDeps } from "../http/deps.ts";
import { readCertificate } from "../saml/certs.ts";
import { SamlError } from "../saml/errors.ts";
import { openPostgresStore } from "../store/postgres.ts";
import { openSqliteStore } from "../store/sqlite.ts";
import { type CliIo, EXIT_REFUSED, EXIT_USAGE, UsageError } from "./command.ts";

/** Who the CLI is in audit events. */
export const CLI_ACTOR: Actor = { actor: "cli" };

/** The connection `gatehouse init` owns in the default account (found again by this name). */
export const SINGLE_SERVER_CONNECTION = "Single-server (.env)";

const DAY_MS = 86_400_000;
const CLAIM_EMAILADDRESS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress";

/** A refusal already explained on stderr: the command exits with `code`. */
export class Refusal extends Error {
  override readonly name = "Refusal";
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/** Loads the configuration from the process environment and ./.env; every problem printed. */
export function configOrExit(io: CliIo, exitCode = EXIT_USAGE): Config {
  try {
    return loadConfig(process.env, { cwd: process.cwd(), now: io.now() });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    io.stderr(configProblems(e.problems));
    throw new Refusal(exitCode);
  }
}

/** "The configuration has 2 problems:\n  1. ...\n  2. ...": numbered, one a line. */
export function configProblems(problems: readonly string[]): string {
  const n = problems.length;
  return `The configuration has ${n} problem${n === 1 ? "" : "s"}:\n${problems
    .map((p, i) => `  ${i + 1}. ${p}`)
    .join("\n")}\n`;
}

export async function openStore(config: Config): Promise<Store> {
  return config.database.kind === "sqlite"
    ? openSqliteStore(config.database.path)
    : openPostgresStore(config.database.url);
}

/** Where the data is, for people: a relative SQLite path, or the PostgreSQL URL without password. */
export function describeStore(config: Config): string {
  if (config.database.kind === "postgres") return `PostgreSQL ${redactUrl(config.database.url)}`;
  const path = config.database.path;
  const rel = path === ":memory:" ? path : relative(process.cwd(), path);
  return `SQLite ${rel.startsWith("..") || rel === "" ? path : `./${rel}`}`;
}

export function describeMail(config: Config): string {
  if (config.mail.smtpUrl !== undefined) return `SMTP ${redactUrl(config.mail.smtpUrl)}`;
  const rel = relative(process.cwd(), config.mail.outboxDir);
  return `files in ${rel.startsWith("..") || rel === "" ? config.mail.outboxDir : `./${rel}`} (set SMTP_URL to send)`;
}

/** Opens the store, runs `body`, closes the store whatever happens. */
export async function withStore<T>(config: Config, body: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(config);
  try {
    return await body(store);
  } finally {
    await store.close();
  }
}

/**
 * Runs an admin operation: an AdminError (or a SAML refusal of a certificate or metadata) is
 * one line naming the option at fault, exit 1; a Refusal exits with its code; UsageErrors pass.
 */
export async function adminCommand(
  command: string,
  io: CliIo,
  options: Readonly<Record<string, string>>,
  body: () => Promise<number>,
): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof Refusal) return e.code;
    if (e instanceof AdminError) {
      const option = optionFor(e.field, options);
      io.stderr(`gatehouse ${command}: ${option === undefined ? "" : `${option}: `}${e.message}\n`);
      return EXIT_REFUSED;
    }
    if (e instanceof SamlError) {
      const option = optionFor(e.detail.field ?? "", options);
      io.stderr(
        `gatehouse ${command}: ${option === undefined ? "" : `${option}: `}${e.message}. ${e.fix}\n`,
      );
      return EXIT_REFUSED;
    }
    throw e;
  }
}

/** The command-line option an AdminError's field came from ("settings.ssoEnforced" → --sso-enforced). */
function optionFor(field: string, options: Readonly<Record<string, string>>): string | undefined {
  const key = field.replace(/^settings\./, "").replace(/\[\d+\]$/, "");
  return options[field] ?? options[key] ?? (field === "" ? undefined : field);
}

// --- values for Entra ------------------------------------------------------------------------

export interface EntraValues {
  /** Basic SAML Configuration: Identifier (Entity ID). */
  readonly identifier: string;
  /** Reply URL (Assertion Consumer Service URL). */
  readonly replyUrl: string;
  readonly signOnUrl: string;
  readonly logoutUrl: string;
  /** Our SP metadata (Entra: "Upload metadata file"); undefined before a connection exists. */
  readonly metadataUrl?: string;
}

export function entraValues(config: Config, connection?: Connection): EntraValues {
  return {
    identifier: connection?.spEntityId ?? config.spEntityId,
    replyUrl: connection?.acsUrl ?? config.acsUrl,
    signOnUrl: config.loginUrl,
    logoutUrl: config.sloUrl,
    ...(connection === undefined
      ? {}
      : { metadataUrl: `${config.publicUrl}/api/auth/saml/metadata/${connection.id}` }),
  };
}

export function formatEntraValues(v: EntraValues, metadataHint?: string): string {
  return [
    "Paste into Entra (Enterprise application > Single sign-on > Basic SAML Configuration):",
    `  Identifier (Entity ID):  ${v.identifier}`,
    `  Reply URL (ACS):         ${v.replyUrl}`,
    `  Sign on URL:             ${v.signOnUrl}`,
    `  Logout URL:              ${v.logoutUrl}`,
    `  SP metadata URL:         ${v.metadataUrl ?? metadataHint ?? "(once a connection exists: gatehouse connection show ID)"}`,
    "",
  ].join("\n");
}

// --- certificates ----------------------------------------------------------------------------

export interface CertificateLine {
  readonly fingerprint256: string;
  readonly subject: string;
  readonly notAfter: string;
  readonly daysLeft: number;
}

export function certificateLine(certificate: string, now: Date, source: string): CertificateLine {
  const c = readCertificate(certificate, source);
  return {
    fingerprint256: c.fingerprint256,
    subject: c.subject,
    notAfter: c.notAfter.toISOString(),
    daysLeft: Math.floor((c.notAfter.getTime() - now.getTime()) / DAY_MS),
  };
}

/**
 * Entra mails admins 60, 30 and 7 days before a SAML certificate expires; we warn at the same
 * marks (and after expiry: Entra keeps signing with an expired active certificate).
 */
export function expiryWarning(what: string, notAfter: Date, now: Date): string | undefined {
  const days = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  if (days < 0)
    return `${what} expired on ${notAfter.toISOString().slice(0, 10)}: rotate it in the IdP, then update Gatehouse.`;
  const mark = [7, 30, 60].find((m) => days < m);
  if (mark === undefined) return undefined;
  return `${what} expires in ${days} day${days === 1 ? "" : "s"} (${notAfter.toISOString().slice(0, 10)}, within ${mark} days): create the new certificate in the IdP and add it here before then.`;
}

// --- the single-server shortcut (XCALLY) -----------------------------------------------------

export interface SingleServerResult {
  readonly account: Account;
  readonly connection: Connection;
  /** What changed, one line each; empty when everything was already as configured. */
  readonly changes: readonly string[];
  readonly notes: readonly string[];
}

/**
 * Creates or updates the default account and its single-server connection from the SAML_*
 * variables, so that running it twice changes nothing the second time. `reactivate`: turn the
 * connection back on if an admin deactivated it (`init` does; `start` leaves it off and says so).
 */
export async function applySingleServer(
  store: Store,
  config: Config,
  saml: SamlShortcut,
  now: Date,
  options: { reactivate: boolean; samlLogin?: Partial<AccountSettings["samlLogin"]> },
): Promise<SingleServerResult> {
  const changes: string[] = [];
  const notes: string[] = [];
  const name = config.defaultAccount;
  let account = await store.accounts.byName(name);
  if (account === undefined) {
    account = await createAccount(store, { name, displayName: name }, CLI_ACTOR, now);
    changes.push(`created account "${name}"`);
  }

  const wanted: Partial<AccountSettings> = {};
  if (saml.multiUserField !== undefined) {
    // The email claim as the shared field means "users sharing one email": no SSO ID needed.
    const claim = isEmailClaim(saml.multiUserField) ? null : saml.multiUserField;
    if (!account.settings.multiLogin) Object.assign(wanted, { multiLogin: true });
    if (account.settings.multiLoginClaim !== claim)
      Object.assign(wanted, { multiLoginClaim: claim });
    if (claim === null)
      notes.push(
        `Multi-login matches users by their email (SAML_MULTI_USER_FIELD is the email claim).`,
      );
    else
      notes.push(
        `Multi-login matches the claim ${claim} against each user's SSO ID (gatehouse user set ${name} USERNAME --sso-id VALUE).`,
      );
  }
  if (options.samlLogin !== undefined) {
    const merged = mergeSettings(account.settings, { samlLogin: options.samlLogin });
    if (JSON.stringify(merged.samlLogin) !== JSON.stringify(account.settings.samlLogin))
      Object.assign(wanted, { samlLogin: options.samlLogin });
  }
  if (Object.keys(wanted).length > 0) {
    account = await updateAccount(store, account.id, { settings: wanted }, CLI_ACTOR, now);
    changes.push(`updated the settings of "${name}": ${Object.keys(wanted).join(", ")}`);
  }

  const fields = {
    name: SINGLE_SERVER_CONNECTION,
    idpEntityId: saml.idpEntityId,
    ssoUrl: saml.entryPoint,
    sloUrl: saml.logoutUrl ?? null,
    certificates: [saml.certificate.base64],
    spEntityId: config.spEntityId,
    acsUrl: config.acsUrl,
  };
  const existing = (await store.connections.list(account.id)).find(
    (c) => c.name === SINGLE_SERVER_CONNECTION,
  );
  let connection: Connection;
  if (existing === undefined) {
    connection = (await createConnection(store, account.id, fields, CLI_ACTOR, now)).connection;
    changes.push(`created connection ${connection.id} to ${saml.idpEntityId}`);
  } else {
    connection = existing;
    const differing: string[] = (
      ["idpEntityId", "ssoUrl", "sloUrl", "spEntityId", "acsUrl"] as const
    ).filter((k) => existing[k] !== fields[k]);
    if (existing.certificates.length !== 1 || existing.certificates[0] !== saml.certificate.base64)
      differing.push("certificates");
    if (differing.length > 0) {
      connection = (
        await updateConnection(
          store,
          existing.id,
          {
            ...fields,
            allowSha1: existing.allowSha1,
            signRequests: existing.signRequests,
            requireSignedAssertion: existing.requireSignedAssertion,
            requireSignedResponse: existing.requireSignedResponse,
          },
          CLI_ACTOR,
          now,
        )
      ).connection;
      changes.push(`updated connection ${connection.id}: ${differing.join(", ")}`);
    }
    if (!connection.active) {
      if (options.reactivate) {
        connection = await store.connections.update(connection.id, { active: true }, now);
        changes.push(`reactivated connection ${connection.id}`);
      } else {
        notes.push(
          `Connection ${connection.id} is deactivated; \`gatehouse init\` turns it back on.`,
        );
      }
    }
  }
  if (!Object.values(account.settings.samlLogin).some((v) => v)) {
    notes.push(
      `Login with SAML is off for every role of "${name}" (XCALLY: Settings > General). Turn it on: gatehouse account set ${name} --saml-login admin,supervisor,agent,user`,
    );
  }
  return { account, connection, changes, notes };
}

function isEmailClaim(claim: string): boolean {
  return (
    claim === CLAIM_EMAILADDRESS || claim.toLowerCase() === "email" || claim === "emailaddress"
  );
}

/** The AppDeps of a running server, from the configuration. */
export function appDeps(
  config: Config,
  store: Store,
  mailer: AppDeps["mailer"],
  defaultAccountName: string,
): AppDeps {
  return {
    store,
    mailer,
    publicUrl: config.publicUrl,
    adminToken: config.adminToken,
    sessions: {
      idleMinutes: config.session.idleMinutes,
      absoluteHours: config.session.absoluteHours,
    },
    loginRequestTtlMinutes: config.loginRequestTtlMinutes,
    clockSkewSeconds: config.clockSkewSeconds,
    ...(config.spKey === undefined
      ? {}
      : {
          spKey: {
            privateKey: createPrivateKey(config.spKey.privateKeyPem),
            certificate: config.spKey.certificate.base64,
          },
        }),
    defaultAccountName,
    now: () => new Date(),
    logger: config.logLevel === "silent" ? false : { level: config.logLevel },
    trustProxy: config.trustProxy,
  };
}

// --- small helpers for option values ---------------------------------------------------------

/** on/off, true/false, yes/no. */
export function onOff(value: string, option: string): boolean {
  const v = value.toLowerCase();
  if (["on", "true", "yes", "1"].includes(v)) return true;
  if (["off", "false", "no", "0"].includes(v)) return false;
  throw new UsageError(`${option} ${JSON.stringify(value)}: use on or off`);
}

/** A positive whole number. */
export function positiveInt(value: string, option: string, max: number): number {
  const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1 || n > max)
    throw new UsageError(`${option} ${JSON.stringify(value)}: a whole number from 1 to ${max}`);
  return n;
}

/** Rows as aligned columns (the first row is the header). */
export function table(rows: readonly (readonly string[])[]): string {
  if (rows.length === 0) return "";
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return `${rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")}\n`;
}

export function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** `gatehouse account create|list|show|set|rollback`: accounts and their General Settings. */

import { createAccount, requireAccount, updateAccount } from "../../domain/admin.ts";
import { type Account, type AccountSettings, ROLES, type Role } from "../../domain/model.ts";
import { rollbackSso } from "../../domain/rollback.ts";
import type { Store } from "../../domain/store.ts";
import { createMailer } from "../../mail/mailer.ts";
import { type CliIo, EXIT_OK, EXIT_REFUSED, parseCommandLine, UsageError } from "../command.ts";
import {
  adminCommand,
  CLI_ACTOR,
  configOrExit,
  json,
  onOff,
  table,
  withStore,
} from "../service.ts";

export const usage = `Usage: gatehouse account <create|list|show|set|rollback> ...

  gatehouse account create NAME [--display-name TEXT] [SETTINGS] [--json]
  gatehouse account list [--json]
  gatehouse account show NAME [--json]
  gatehouse account set NAME [--display-name TEXT] [SETTINGS] [--json]
  gatehouse account rollback NAME --yes [--only USERNAME,...] [--json]

SETTINGS (an account's General Settings):
  --saml-login ROLES            Login with SAML for these roles only: a comma-separated list of
                                admin, supervisor, agent, user; or "all" or "none"
  --sso-enforced on|off         password and 2FA login off, except break-glass admins
                                (with set, once the account has a break-glass admin)
  --multi-login on|off          one IdP identity may sign in as several users, who pick one
  --multi-login-claim CLAIM|none  the claim those users share (matched to their SSO ID);
                                none: their email
  --email-source SOURCE         emailaddress, nameid, name (Entra's UPN), or attribute:CLAIM
  --email-case-insensitive on|off
  --jit-role ROLE|off           create unknown users at first login with this role
  --allow-idp-initiated on|off  accept logins started at the IdP (My Apps, Entra's Test)

rollback turns SSO off for the account (Login with SAML off, enforcement off, connections
deactivated) and mails every enabled user a temporary password to change at the next login.
--only redoes it for the users whose mail failed.

NAME is the account name (or its id). Changes are audited with actor "cli".
exit 0 done, 1 refused (the message names the option), 2 usage
`;

const SETTINGS = {
  "display-name": { type: "string" },
  "saml-login": { type: "string" },
  "sso-enforced": { type: "string" },
  "multi-login": { type: "string" },
  "multi-login-claim": { type: "string" },
  "email-source": { type: "string" },
  "email-case-insensitive": { type: "string" },
  "jit-role": { type: "string" },
  "allow-idp-initiated": { type: "string" },
  json: { type: "boolean" },
} as const;

/** AdminError fields → the options that set them. */
const FIELDS: Record<string, string> = {
  name: "NAME",
  account: "NAME",
  accountId: "NAME",
  displayName: "--display-name",
  samlLogin: "--saml-login",
  ssoEnforced: "--sso-enforced",
  multiLogin: "--multi-login",
  multiLoginClaim: "--multi-login-claim",
  emailSource: "--email-source",
  emailCaseInsensitive: "--email-case-insensitive",
  jitRole: "--jit-role",
  allowIdpInitiated: "--allow-idp-initiated",
};

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "create":
    case "set":
      return createOrSet(sub, rest, io);
    case "list":
      return list(rest, io);
    case "show":
      return show(rest, io);
    case "rollback":
      return rollback(rest, io);
    default:
      throw new UsageError(
        sub === undefined
          ? "which one: create, list, show, set or rollback?"
          : `unknown subcommand '${sub}' (create, list, show, set, rollback)`,
      );
  }
}

async function createOrSet(sub: "create" | "set", args: readonly string[], io: CliIo) {
  const { values, positionals } = parseCommandLine(args, SETTINGS);
  const name = onePositional(positionals, "NAME");
  const settings = settingsFrom(values);
  const displayName = values["display-name"];
  if (sub === "set" && displayName === undefined && Object.keys(settings).length === 0)
    throw new UsageError("nothing to set: give --display-name or a setting (see --help)");
  return adminCommand(`account ${sub}`, io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const now = io.now();
      const account =
        sub === "create"
          ? await createAccount(
              store,
              { name, ...(displayName === undefined ? {} : { displayName }), settings },
              CLI_ACTOR,
              now,
            )
          : await updateAccount(
              store,
              (await requireAccount(store, name)).id,
              { ...(displayName === undefined ? {} : { displayName }), settings },
              CLI_ACTOR,
              now,
            );
      io.stdout(
        values.json === true
          ? json(account)
          : `${sub === "create" ? "Created" : "Updated"} account ${account.name} (${account.id}).\n${describe(account)}`,
      );
      return EXIT_OK;
    });
  });
}

async function list(args: readonly string[], io: CliIo) {
  const { values, positionals } = parseCommandLine(args, { json: { type: "boolean" } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  return adminCommand("account list", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const rows = await Promise.all(
        (await store.accounts.list()).map(async (a) => ({
          account: a,
          connections: (await store.connections.list(a.id)).filter((c) => c.active).length,
          users: (await store.users.list(a.id)).length,
        })),
      );
      if (values.json === true) {
        io.stdout(
          json(
            rows.map((r) => ({
              ...r.account,
              activeConnections: r.connections,
              users: r.users,
            })),
          ),
        );
        return EXIT_OK;
      }
      if (rows.length === 0) {
        io.stdout("No accounts yet. Create one: gatehouse account create NAME\n");
        return EXIT_OK;
      }
      io.stdout(
        table([
          [
            "NAME",
            "DISPLAY NAME",
            "LOGIN WITH SAML",
            "SSO ENFORCED",
            "MULTI-LOGIN",
            "CONNECTIONS",
            "USERS",
          ],
          ...rows.map((r) => [
            r.account.name,
            r.account.displayName,
            rolesText(r.account.settings),
            r.account.settings.ssoEnforced ? "yes" : "no",
            r.account.settings.multiLogin ? "yes" : "no",
            String(r.connections),
            String(r.users),
          ]),
        ]),
      );
      return EXIT_OK;
    });
  });
}

async function show(args: readonly string[], io: CliIo) {
  const { values, positionals } = parseCommandLine(args, { json: { type: "boolean" } });
  const name = onePositional(positionals, "NAME");
  return adminCommand("account show", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const account = await requireAccount(store, name);
      io.stdout(
        values.json === true
          ? json(account)
          : `${account.name} (${account.id})\n${describe(account)}`,
      );
      return EXIT_OK;
    });
  });
}

async function rollback(args: readonly string[], io: CliIo) {
  const { values, positionals } = parseCommandLine(args, {
    yes: { type: "boolean" },
    only: { type: "string" },
    json: { type: "boolean" },
  });
  const name = onePositional(positionals, "NAME");
  if (values.yes !== true)
    throw new UsageError(
      `--yes is required: rollback turns SSO off for ${name} and mails every user a temporary password`,
    );
  return adminCommand("account rollback", io, FIELDS, async () => {
    const config = configOrExit(io);
    const mailer = createMailer(config.mail, { now: io.now });
    try {
      return await withStore(config, async (store) => {
        const account = await requireAccount(store, name);
        const onlyUserIds =
          values.only === undefined ? undefined : await userIds(store, account, values.only);
        const result = await rollbackSso(
          store,
          mailer,
          account.id,
          CLI_ACTOR,
          io.now(),
          config.loginUrl,
          onlyUserIds === undefined ? {} : { onlyUserIds },
        );
        if (values.json === true) io.stdout(json(result));
        else {
          io.stdout(
            `SSO is off for ${account.name}: Login with SAML off, enforcement off, ${result.connectionsDeactivated} connection(s) deactivated.\n`,
          );
          if (result.users.length > 0)
            io.stdout(
              table([
                ["USERNAME", "EMAIL", "OUTCOME", "ERROR"],
                ...result.users.map((u) => [u.username, u.email, u.outcome, u.error ?? ""]),
              ]),
            );
          if (!result.complete) {
            const failed = result.users.filter((u) => u.outcome !== "mailed");
            io.stdout(
              `Not complete: run again for the rest: gatehouse account rollback ${account.name} --yes --only ${failed.map((u) => u.username).join(",")}\n`,
            );
          }
        }
        return result.complete ? EXIT_OK : EXIT_REFUSED;
      });
    } finally {
      mailer.close();
    }
  });
}

async function userIds(store: Store, account: Account, usernames: string): Promise<string[]> {
  const ids: string[] = [];
  for (const username of usernames.split(",").map((u) => u.trim())) {
    if (username === "") continue;
    const user = await store.users.byUsername(account.id, username);
    if (user === undefined)
      throw new UsageError(`--only: no user "${username}" in account ${account.name}`);
    ids.push(user.id);
  }
  return ids;
}

type SettingValues = { [K in keyof typeof SETTINGS]?: string | boolean };

/** The settings the options give (only those given: the rest stay as they are). */
function settingsFrom(values: SettingValues): Partial<AccountSettings> {
  const s: Record<string, unknown> = {};
  const str = (k: keyof typeof SETTINGS) => values[k] as string | undefined;
  const loginRoles = str("saml-login");
  if (loginRoles !== undefined) {
    const roles = parseRoles(loginRoles);
    s.samlLogin = Object.fromEntries(ROLES.map((r) => [r, roles.includes(r)]));
  }
  const flags: [keyof typeof SETTINGS, keyof AccountSettings][] = [
    ["sso-enforced", "ssoEnforced"],
    ["multi-login", "multiLogin"],
    ["email-case-insensitive", "emailCaseInsensitive"],
    ["allow-idp-initiated", "allowIdpInitiated"],
  ];
  for (const [option, key] of flags) {
    const v = str(option);
    if (v !== undefined) s[key] = onOff(v, `--${option}`);
  }
  const claim = str("multi-login-claim");
  if (claim !== undefined) s.multiLoginClaim = claim === "none" ? null : claim;
  const source = str("email-source");
  if (source !== undefined) s.emailSource = source;
  const jit = str("jit-role");
  if (jit !== undefined) s.jitRole = jit === "off" || jit === "none" ? null : jit;
  return s as Partial<AccountSettings>;
}

/** "admin,agent" → the roles; "all" and "none" too. Unknown roles are a usage error. */
export function parseRoles(value: string): Role[] {
  const v = value.trim().toLowerCase();
  if (v === "all") return [...ROLES];
  if (v === "none" || v === "") return [];
  const roles = v.split(",").map((r) => r.trim());
  for (const r of roles)
    if (!ROLES.includes(r as Role))
      throw new UsageError(
        `--saml-login: unknown role '${r}' (roles: ${ROLES.join(", ")}, or all, none)`,
      );
  return roles as Role[];
}

function rolesText(s: AccountSettings): string {
  const on = ROLES.filter((r) => s.samlLogin[r]);
  return on.length === 0 ? "off" : on.length === ROLES.length ? "all roles" : on.join(",");
}

function describe(a: Account): string {
  const s = a.settings;
  return [
    `  Display name:          ${a.displayName}`,
    `  Login with SAML:       ${rolesText(s)}`,
    `  SSO enforced:          ${s.ssoEnforced ? "yes" : "no"}`,
    `  Multi-login:           ${s.multiLogin ? `yes, by ${s.multiLoginClaim ?? "email"}` : "no"}`,
    `  Email from:            ${s.emailSource}${s.emailCaseInsensitive ? " (case ignored)" : " (case-sensitive)"}`,
    `  Just-in-time users:    ${s.jitRole ?? "off"}`,
    `  IdP-initiated login:   ${s.allowIdpInitiated ? "allowed" : "refused"}`,
    "",
  ].join("\n");
}

export function onePositional(positionals: readonly string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`${what} is missing`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  return positionals[0]!;
}

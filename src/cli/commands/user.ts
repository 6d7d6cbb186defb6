/** `gatehouse user add|list|set|import`: an account's app users. */

import {
  addUser,
  importUsersCsv,
  requireAccount,
  type UserInput,
  updateUser,
} from "../../domain/admin.ts";
import { ROLES, type Role, type User } from "../../domain/model.ts";
import { publicUser } from "../../http/routes/admin-shared.ts";
import {
  type CliIo,
  EXIT_OK,
  EXIT_REFUSED,
  parseCommandLine,
  readOptionFile,
  UsageError,
} from "../command.ts";
import {
  adminCommand,
  CLI_ACTOR,
  configOrExit,
  json,
  onOff,
  table,
  withStore,
} from "../service.ts";

export const usage = `Usage: gatehouse user <add|list|set|import> ...

  gatehouse user add ACCOUNT USERNAME --email EMAIL [--role ROLE] [--sso-id VALUE]
                     [--break-glass] [--disabled] [--password-stdin] [--json]
  gatehouse user list ACCOUNT [--json]
  gatehouse user set ACCOUNT USERNAME [--email EMAIL] [--role ROLE] [--sso-id VALUE|none]
                     [--username NEW] [--break-glass on|off] [--disabled on|off]
                     [--password-stdin] [--json]
  gatehouse user import ACCOUNT --csv FILE [--json]

ROLE is admin, supervisor, agent or user (default user). --sso-id is the value of the
multi-login claim this user shares with the person's other profiles. --password-stdin reads a
password (12 characters or more) from the first line of standard input, never from the command
line. --break-glass: an admin who may still use password login when SSO is enforced. Disabling a
user ends their sessions.

import reads a CSV whose header names the columns: username, email, and optionally role, sso_id,
break_glass. Bad lines are reported by number; the others are imported.

exit 0 done, 1 refused (the message names the option; import: some lines refused), 2 usage
`;

const FIELDS: Record<string, string> = {
  account: "ACCOUNT",
  id: "USERNAME",
  username: "USERNAME",
  email: "--email",
  role: "--role",
  ssoId: "--sso-id",
  breakGlass: "--break-glass",
  password: "--password-stdin",
  csv: "--csv",
};

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "add":
      return add(rest, io);
    case "list":
      return list(rest, io);
    case "set":
      return set(rest, io);
    case "import":
      return importCsv(rest, io);
    default:
      throw new UsageError(
        sub === undefined
          ? "which one: add, list, set or import?"
          : `unknown subcommand '${sub}' (add, list, set, import)`,
      );
  }
}

function accountAndUsername(positionals: readonly string[]): [string, string] {
  if (positionals.length < 2)
    throw new UsageError(positionals.length === 0 ? "ACCOUNT is missing" : "USERNAME is missing");
  if (positionals.length > 2) throw new UsageError(`unexpected argument '${positionals[2]}'`);
  return [positionals[0]!, positionals[1]!];
}

function role(value: string | undefined): Role | undefined {
  if (value === undefined) return undefined;
  if (!ROLES.includes(value as Role))
    throw new UsageError(`--role: unknown role '${value}' (roles: ${ROLES.join(", ")})`);
  return value as Role;
}

async function passwordFromStdin(io: CliIo): Promise<string> {
  if (io.stdin.isTTY === true) io.stderr("Password (then Enter and Ctrl-D): ");
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  const line = Buffer.concat(chunks).toString("utf8").split(/\r?\n/)[0] ?? "";
  if (line === "") throw new UsageError("--password-stdin: standard input is empty");
  return line;
}

async function add(args: readonly string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseCommandLine(args, {
    email: { type: "string" },
    role: { type: "string" },
    "sso-id": { type: "string" },
    "break-glass": { type: "boolean" },
    disabled: { type: "boolean" },
    "password-stdin": { type: "boolean" },
    json: { type: "boolean" },
  });
  const [accountName, username] = accountAndUsername(positionals);
  if (v.email === undefined) throw new UsageError("--email is required");
  const r = role(v.role);
  const password = v["password-stdin"] === true ? await passwordFromStdin(io) : undefined;
  return adminCommand("user add", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const account = await requireAccount(store, accountName);
      const input: UserInput = {
        username,
        email: v.email!,
        ...(r === undefined ? {} : { role: r }),
        ...(v["sso-id"] === undefined ? {} : { ssoId: v["sso-id"] }),
        ...(v["break-glass"] === undefined ? {} : { breakGlass: v["break-glass"] }),
        ...(v.disabled === undefined ? {} : { disabled: v.disabled }),
        ...(password === undefined ? {} : { password }),
      };
      const user = await addUser(store, account.id, input, CLI_ACTOR, io.now());
      io.stdout(
        v.json === true
          ? json(publicUser(user))
          : `Added ${user.username} (${user.id}) to ${account.name}: ${describe(user)}\n`,
      );
      return EXIT_OK;
    });
  });
}

async function list(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { json: { type: "boolean" } });
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0 ? "ACCOUNT is missing" : `unexpected argument '${positionals[1]}'`,
    );
  return adminCommand("user list", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const account = await requireAccount(store, positionals[0]!);
      const users = await store.users.list(account.id);
      if (values.json === true) {
        io.stdout(json(users.map(publicUser)));
        return EXIT_OK;
      }
      if (users.length === 0) {
        io.stdout(
          `Account ${account.name} has no users. Add one: gatehouse user add ${account.name} USERNAME --email EMAIL\n`,
        );
        return EXIT_OK;
      }
      io.stdout(
        table([
          ["USERNAME", "EMAIL", "ROLE", "SSO ID", "PASSWORD", "FLAGS"],
          ...users.map((u) => [
            u.username,
            u.email,
            u.role,
            u.ssoId ?? "",
            u.passwordHash === null ? "no" : "yes",
            flags(u),
          ]),
        ]),
      );
      return EXIT_OK;
    });
  });
}

async function set(args: readonly string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseCommandLine(args, {
    email: { type: "string" },
    role: { type: "string" },
    "sso-id": { type: "string" },
    username: { type: "string" },
    "break-glass": { type: "string" },
    disabled: { type: "string" },
    "password-stdin": { type: "boolean" },
    json: { type: "boolean" },
  });
  const [accountName, username] = accountAndUsername(positionals);
  const r = role(v.role);
  const patch: { -readonly [K in keyof UserInput]?: UserInput[K] } = {
    ...(v.email === undefined ? {} : { email: v.email }),
    ...(r === undefined ? {} : { role: r }),
    ...(v["sso-id"] === undefined ? {} : { ssoId: v["sso-id"] === "none" ? null : v["sso-id"] }),
    ...(v.username === undefined ? {} : { username: v.username }),
    ...(v["break-glass"] === undefined
      ? {}
      : { breakGlass: onOff(v["break-glass"], "--break-glass") }),
    ...(v.disabled === undefined ? {} : { disabled: onOff(v.disabled, "--disabled") }),
  };
  if (v["password-stdin"] === true) patch.password = await passwordFromStdin(io);
  if (Object.keys(patch).length === 0)
    throw new UsageError("nothing to set: give at least one option (see --help)");
  return adminCommand("user set", io, { ...FIELDS, username: "--username" }, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const account = await requireAccount(store, accountName);
      const user = await store.users.byUsername(account.id, username);
      if (user === undefined) {
        io.stderr(
          `gatehouse user set: USERNAME: no user "${username}" in account ${account.name}.\n`,
        );
        return EXIT_REFUSED;
      }
      const updated = await updateUser(store, user.id, patch, CLI_ACTOR, io.now());
      io.stdout(
        v.json === true
          ? json(publicUser(updated))
          : `Updated ${updated.username} (${updated.id}) in ${account.name}: ${describe(updated)}\n`,
      );
      return EXIT_OK;
    });
  });
}

async function importCsv(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, {
    csv: { type: "string" },
    json: { type: "boolean" },
  });
  if (positionals.length !== 1)
    throw new UsageError(
      positionals.length === 0 ? "ACCOUNT is missing" : `unexpected argument '${positionals[1]}'`,
    );
  if (values.csv === undefined) throw new UsageError("--csv FILE is required");
  const csv = (await readOptionFile(values.csv, "--csv")).toString("utf8");
  return adminCommand("user import", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const account = await requireAccount(store, positionals[0]!);
      const result = await importUsersCsv(store, account.id, csv, CLI_ACTOR, io.now());
      if (values.json === true) io.stdout(json(result));
      else {
        io.stdout(
          `Imported ${result.created} user${result.created === 1 ? "" : "s"} into ${account.name}.\n`,
        );
        for (const e of result.errors) io.stdout(`  line ${e.line}: ${e.message}\n`);
        if (result.errors.length > 0)
          io.stdout(
            `${result.errors.length} line${result.errors.length === 1 ? "" : "s"} refused; fix them and import those lines again.\n`,
          );
      }
      return result.errors.length === 0 ? EXIT_OK : EXIT_REFUSED;
    });
  });
}

function flags(u: User): string {
  return [
    u.breakGlass ? "break-glass" : undefined,
    u.disabled ? "disabled" : undefined,
    u.mustChangePassword ? "must-change-password" : undefined,
    u.totpSecret !== null ? "totp" : undefined,
  ]
    .filter((x) => x !== undefined)
    .join(",");
}

function describe(u: User): string {
  const f = flags(u);
  return `${u.email}, ${u.role}${u.ssoId === null ? "" : `, SSO ID ${u.ssoId}`}${f === "" ? "" : `, ${f}`}`;
}

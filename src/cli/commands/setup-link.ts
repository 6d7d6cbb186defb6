/**
 * `gatehouse setup-link create|list|revoke`: the one-URL way for a customer's IT admin to connect
 * their IdP to an account alone (src/domain/setup-links.ts), as the admin API and pages do it.
 */

import { requireAccount } from "../../domain/admin.ts";
import {
  createSetupLink,
  listSetupLinks,
  revokeSetupLink,
  SETUP_LINK_DEFAULT_HOURS,
  SETUP_LINK_MAX_HOURS,
} from "../../domain/setup-links.ts";
import { type CliIo, EXIT_OK, fromNow, parseCommandLine, UsageError } from "../command.ts";
import { adminCommand, CLI_ACTOR, configOrExit, json, table, withStore } from "../service.ts";
import { onePositional } from "./account.ts";

export const usage = `Usage: gatehouse setup-link <create|list|revoke> ...

  gatehouse setup-link create ACCOUNT [--hours N] [--json]
  gatehouse setup-link list ACCOUNT [--json]
  gatehouse setup-link revoke ACCOUNT LINK_ID

A setup link is a URL (PUBLIC_URL/setup/TOKEN) you hand to a customer's IT admin: it lets them
connect their IdP to ACCOUNT, test it and turn SSO on, without a Gatehouse login. Whoever holds
it can do so until it expires (--hours: ${SETUP_LINK_DEFAULT_HOURS} by default, ${SETUP_LINK_MAX_HOURS} at most) or is revoked.
create prints the URL once: only its SHA-256, the LINK_ID that list shows, is kept.

ACCOUNT is the account name (or its id). Changes are audited with actor "cli".
exit 0 done, 1 refused (the message names the option), 2 usage
`;

/** AdminError fields → the options that set them. */
const FIELDS: Record<string, string> = {
  account: "ACCOUNT",
  expiresInHours: "--hours",
  linkId: "LINK_ID",
};

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "create":
      return create(rest, io);
    case "list":
      return list(rest, io);
    case "revoke":
      return revoke(rest, io);
    default:
      throw new UsageError(
        sub === undefined
          ? "which one: create, list or revoke?"
          : `unknown subcommand '${sub}' (create, list, revoke)`,
      );
  }
}

async function create(args: readonly string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseCommandLine(args, {
    hours: { type: "string" },
    json: { type: "boolean" },
  });
  const accountName = onePositional(positionals, "ACCOUNT");
  // Anything but digits is NaN, so that every bad --hours gets the domain's one refusal.
  const hours =
    v.hours === undefined ? undefined : /^\d+$/.test(v.hours) ? Number(v.hours) : Number.NaN;
  return adminCommand("setup-link create", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const now = io.now();
      const account = await requireAccount(store, accountName);
      const { token, link } = await createSetupLink(
        store,
        account.id,
        hours === undefined ? {} : { expiresInHours: hours },
        CLI_ACTOR,
        now,
      );
      // The same URL the admin API returns (ctx.url: PUBLIC_URL followed by the path).
      const url = `${config.publicUrl}/setup/${token}`;
      if (v.json === true) {
        io.stdout(json({ link, url }));
        return EXIT_OK;
      }
      io.stdout(
        [
          `Created a setup link for account ${account.name}:`,
          "",
          `  ${url}`,
          "",
          `Shown only once (Gatehouse keeps only its hash): send it to the customer's IT admin now.`,
          `It expires at ${link.expiresAt.toISOString()} (${fromNow(link.expiresAt, now)}).`,
          `Link ID: ${link.id}`,
          `Revoke it: gatehouse setup-link revoke ${account.name} ${link.id}`,
          "",
        ].join("\n"),
      );
      return EXIT_OK;
    });
  });
}

async function list(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { json: { type: "boolean" } });
  const accountName = onePositional(positionals, "ACCOUNT");
  return adminCommand("setup-link list", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const account = await requireAccount(store, accountName);
      const links = await listSetupLinks(store, account.id, io.now());
      if (values.json === true) {
        io.stdout(json(links));
        return EXIT_OK;
      }
      if (links.length === 0) {
        io.stdout(
          `Account ${account.name} has no setup link. Create one: gatehouse setup-link create ${account.name}\n`,
        );
        return EXIT_OK;
      }
      // The full ID: it is what revoke takes.
      io.stdout(
        table([
          ["ID", "CREATED BY", "CREATED", "EXPIRES", "STATUS"],
          ...links.map((l) => [
            l.id,
            l.createdBy,
            l.createdAt.toISOString(),
            l.expiresAt.toISOString(),
            l.status,
          ]),
        ]),
      );
      return EXIT_OK;
    });
  });
}

async function revoke(args: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parseCommandLine(args, {});
  if (positionals.length < 2)
    throw new UsageError(positionals.length === 0 ? "ACCOUNT is missing" : "LINK_ID is missing");
  if (positionals.length > 2) throw new UsageError(`unexpected argument '${positionals[2]}'`);
  const [accountName, linkId] = positionals as [string, string];
  return adminCommand("setup-link revoke", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const account = await requireAccount(store, accountName);
      await revokeSetupLink(store, account.id, linkId, CLI_ACTOR, io.now());
      io.stdout(`Revoked setup link ${linkId} of account ${account.name}: it opens nothing now.\n`);
      return EXIT_OK;
    });
  });
}

/** `gatehouse audit tail`: the login attempts and admin changes, with their typed reasons. */

import { requireAccount } from "../../domain/admin.ts";
import type { AuditEvent } from "../../domain/model.ts";
import { type CliIo, EXIT_OK, parseCommandLine, UsageError } from "../command.ts";
import { adminCommand, configOrExit, positiveInt, withStore } from "../service.ts";

export const usage = `Usage: gatehouse audit tail [--account NAME] [--type TYPE] [--reference REF]
                            [--limit N] [--follow] [--json]

Prints the latest audit events, oldest first: when, type, outcome, the typed reason, account,
actor, the reference ID users see on error pages, and the detail (expected vs received, the
AADSTS message, which claim was read).

  --account NAME    only this account's events
  --type TYPE       only events of this type (e.g. login.sso, admin.account.update)
  --reference REF   the event behind a reference ID shown on an error page
  --limit N         how many (default 20, at most 1000)
  --follow          keep printing new events as they happen (every second; Ctrl-C stops)
  --json            one JSON object per line

exit 0 printed, 1 no such account, 2 usage
`;

const OPTIONS = {
  account: { type: "string" },
  type: { type: "string" },
  reference: { type: "string" },
  limit: { type: "string" },
  follow: { type: "boolean" },
  json: { type: "boolean" },
} as const;

const POLL_MS = 1000;

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== "tail")
    throw new UsageError(
      sub === undefined ? "which one: tail?" : `unknown subcommand '${sub}' (tail)`,
    );
  const { values: v, positionals } = parseCommandLine(rest, OPTIONS);
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const limit = v.limit === undefined ? 20 : positiveInt(v.limit, "--limit", 1000);
  return adminCommand("audit tail", io, { account: "--account" }, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const accountId =
        v.account === undefined ? undefined : (await requireAccount(store, v.account)).id;
      const names = new Map((await store.accounts.list()).map((a) => [a.id, a.name]));
      const query = (n: number) =>
        store.audit.query({
          ...(accountId === undefined ? {} : { accountId }),
          ...(v.type === undefined ? {} : { type: v.type }),
          ...(v.reference === undefined ? {} : { reference: v.reference }),
          limit: n,
        });
      const print = (e: AuditEvent) =>
        io.stdout(v.json === true ? `${JSON.stringify(e)}\n` : `${formatEvent(e, names)}\n`);

      const seen = new Set<string>();
      for (const e of (await query(limit)).reverse()) {
        seen.add(e.id);
        print(e);
      }
      if (v.follow !== true) return EXIT_OK;

      let stopped = false;
      const stop = () => {
        stopped = true;
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      try {
        while (!stopped) {
          await new Promise((resolve) => setTimeout(resolve, POLL_MS));
          if (stopped) break;
          // New accounts may appear while following.
          for (const a of await store.accounts.list()) names.set(a.id, a.name);
          const fresh = (await query(200)).filter((e) => !seen.has(e.id)).reverse();
          for (const e of fresh) {
            seen.add(e.id);
            print(e);
          }
          // Bounded memory when following for days: only recent ids can come back.
          if (seen.size > 10_000) {
            const keep = [...seen].slice(-1000);
            seen.clear();
            for (const id of keep) seen.add(id);
          }
        }
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
      return EXIT_OK;
    });
  });
}

export function formatEvent(e: AuditEvent, accountNames: ReadonlyMap<string, string>): string {
  const account = e.accountId === null ? "-" : (accountNames.get(e.accountId) ?? e.accountId);
  const detail = Object.keys(e.detail).length === 0 ? "" : `  ${JSON.stringify(e.detail)}`;
  return [
    e.at.toISOString(),
    e.type,
    e.outcome,
    e.reason ?? "-",
    `account=${account}`,
    `actor=${e.actor}`,
    `ref=${e.reference}`,
  ]
    .join("  ")
    .concat(e.userId === null ? "" : `  user=${e.userId}`, detail);
}

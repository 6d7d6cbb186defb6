/**
 * `gatehouse check-config`: every configuration problem at once, then what to paste into Entra
 * and what deserves a look (certificates near expiry, demo mode on what looks like a server).
 */

import { existsSync } from "node:fs";
import { ConfigError, loadConfig } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import type { Connection } from "../../domain/model.ts";
import { type CliIo, EXIT_OK, EXIT_REFUSED, parseCommandLine } from "../command.ts";
import {
  certificateLine,
  configProblems,
  describeMail,
  describeStore,
  type EntraValues,
  entraValues,
  expiryWarning,
  formatEntraValues,
  json,
  openStore,
  SINGLE_SERVER_CONNECTION,
} from "../service.ts";

export const usage = `Usage: gatehouse check-config [--json]

Validates the configuration (the environment and ./.env) and lists every problem at once. When
it is usable, prints what to paste into Entra (Identifier, Reply URL, Sign on URL, Logout URL,
SP metadata URL) and warnings: certificates expiring within 60, 30 or 7 days (Entra's own
reminders), demo mode where it looks like production, settings that look misspelt. Reads the
store only if it already exists (to find the single-server connection).

  --json   the same as one JSON object

exit 0 usable (warnings allowed), 1 not usable
`;

const OPTIONS = { json: { type: "boolean" } } as const;

interface Report {
  readonly ok: boolean;
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
  readonly mode?: string;
  readonly publicUrl?: string;
  readonly store?: string;
  readonly mail?: string;
  readonly entra?: EntraValues;
}

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine(args, OPTIONS);
  const report = await check(io.now());
  if (values.json === true) {
    io.stdout(json(report));
    return report.ok ? EXIT_OK : EXIT_REFUSED;
  }
  if (!report.ok) {
    io.stdout(configProblems(report.problems));
    return EXIT_REFUSED;
  }
  const out = [
    "The configuration is usable.",
    `  Mode:        ${report.mode}`,
    `  Public URL:  ${report.publicUrl}`,
    `  Store:       ${report.store}`,
    `  Mail:        ${report.mail}`,
    "",
    formatEntraValues(report.entra!, "after 'gatehouse init' (or 'gatehouse connection show ID')"),
  ];
  if (report.warnings.length > 0) {
    out.push(
      `Warnings (${report.warnings.length}):`,
      ...report.warnings.map((w) => `  - ${w}`),
      "",
    );
  }
  io.stdout(out.join("\n"));
  return EXIT_OK;
}

async function check(now: Date): Promise<Report> {
  let config: Config;
  try {
    config = loadConfig(process.env, { cwd: process.cwd(), now });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { ok: false, problems: e.problems, warnings: [] };
  }
  const warnings = [...config.warnings];
  const problems: string[] = [];

  if (config.saml !== undefined) {
    const w = expiryWarning(
      "SAML_CERT (the IdP's signing certificate)",
      new Date(config.saml.certificate.notAfter),
      now,
    );
    // An expired one is already among the configuration's own warnings.
    if (w !== undefined && Date.parse(config.saml.certificate.notAfter) > now.getTime())
      warnings.push(w);
  }
  if (config.spKey !== undefined) {
    const notAfter = new Date(config.spKey.certificate.notAfter);
    const w = expiryWarning("SP_CERT (our signing/encryption certificate)", notAfter, now);
    if (w !== undefined && notAfter.getTime() > now.getTime()) warnings.push(w);
  }
  if (config.mode === "demo") {
    const signs = productionSigns(config);
    if (signs.length > 0)
      warnings.push(
        `Demo mode, but this looks like a production setup (${signs.join(", ")}): demo mode mounts a mock IdP that signs anyone in and prints its passwords. Set GATEHOUSE_MODE=production (or NODE_ENV=production).`,
      );
  }

  // A missing SQLite file is a fresh install: nothing to read, and nothing to create here.
  let connection: Connection | undefined;
  const storeExists =
    config.database.kind === "postgres" ||
    (config.database.path !== ":memory:" && existsSync(config.database.path));
  if (storeExists) {
    try {
      const store = await openStore(config);
      try {
        connection = await singleServerConnection(store, config);
        for (const c of await store.connections.listActive()) {
          for (const [i, cert] of c.certificates.entries()) {
            const warning = certificateWarning(c, i, cert, now);
            if (warning !== undefined) warnings.push(warning);
          }
        }
      } finally {
        await store.close();
      }
    } catch (e) {
      problems.push(
        `DATABASE_URL: the store cannot be opened (${(e as Error).message}). Check the path, or the PostgreSQL host, port, user and password.`,
      );
    }
  }

  return {
    ok: problems.length === 0,
    problems,
    warnings,
    mode: config.mode,
    publicUrl: config.publicUrl,
    store: describeStore(config),
    mail: describeMail(config),
    entra: entraValues(config, connection),
  };
}

async function singleServerConnection(
  store: Awaited<ReturnType<typeof openStore>>,
  config: Config,
): Promise<Connection | undefined> {
  const account = await store.accounts.byName(config.defaultAccount);
  if (account === undefined) return undefined;
  return (await store.connections.list(account.id)).find(
    (c) => c.name === SINGLE_SERVER_CONNECTION,
  );
}

function certificateWarning(
  c: Connection,
  index: number,
  certificate: string,
  now: Date,
): string | undefined {
  const what = `Connection ${c.id} ("${c.name}") certificate ${index + 1}`;
  try {
    return expiryWarning(what, new Date(certificateLine(certificate, now, what).notAfter), now);
  } catch {
    return `${what} cannot be read; import the connection's certificate again.`;
  }
}

/** What makes a demo-mode setup look like a real server. */
function productionSigns(config: Config): string[] {
  const signs: string[] = [];
  if (config.domain !== undefined) signs.push(`DOMAIN=${config.domain}`);
  else if (!/^http:\/\/(?:localhost|127\.0\.0\.1|\[::1\])(?::\d+)?$/.test(config.publicUrl))
    signs.push(`PUBLIC_URL=${config.publicUrl}`);
  if (config.host !== "127.0.0.1" && config.host !== "localhost" && config.host !== "::1")
    signs.push(`HOST=${config.host}`);
  if (config.database.kind === "postgres") signs.push("PostgreSQL");
  if (config.mail.smtpUrl !== undefined) signs.push("SMTP_URL");
  if (config.saml !== undefined) signs.push("SAML_ENTRYPOINT");
  return signs;
}

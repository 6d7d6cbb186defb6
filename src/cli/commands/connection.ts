/**
 * `gatehouse connection import|list|show|activate|deactivate`: an account's links to its IdP,
 * from Federation Metadata (file or URL) or typed fields.
 */

import {
  type ConnectionInput,
  createConnection,
  requireAccount,
  requireConnection,
  setConnectionActive,
  updateConnection,
} from "../../domain/admin.ts";
import type { Connection } from "../../domain/model.ts";
import { fetchMetadata, withSamlFields } from "../../http/routes/admin-shared.ts";
import { type CliIo, EXIT_OK, parseCommandLine, readOptionFile, UsageError } from "../command.ts";
import {
  adminCommand,
  CLI_ACTOR,
  certificateLine,
  configOrExit,
  entraValues,
  formatEntraValues,
  json,
  table,
  withStore,
} from "../service.ts";
import { onePositional } from "./account.ts";

export const usage = `Usage: gatehouse connection <import|list|show|activate|deactivate> ...

  gatehouse connection import ACCOUNT --metadata FILE [OPTIONS]
  gatehouse connection import ACCOUNT --metadata-url URL [OPTIONS]
  gatehouse connection import ACCOUNT --idp-entity-id ID --sso-url URL [--slo-url URL]
                                      --cert FILE [--cert FILE...] [OPTIONS]
  gatehouse connection list ACCOUNT [--json]
  gatehouse connection show ID [--json]
  gatehouse connection activate ID
  gatehouse connection deactivate ID

import creates a connection for ACCOUNT from Entra's Federation Metadata XML (a file, or its
App Federation Metadata Url: https, 1 MiB and 5 s at most) or from typed fields; typed fields
given beside metadata win. With --replace ID it replaces that connection's IdP side instead
(new metadata, rotated certificate) and clears its test status.

OPTIONS:
  --name TEXT                  a name for the connection (default "Entra ID")
  --sp-entity-id URI           our Identifier for this connection (default PUBLIC_URL/saml/ACCOUNT)
  --acs-url URL                our Reply URL (default PUBLIC_URL/api/auth/saml/callback)
  --replace ID                 update connection ID instead of creating one
  --sign-requests              sign AuthnRequests with SP_KEY
  --require-signed-assertion   refuse responses whose Assertion is not signed
  --require-signed-response    refuse responses whose Response is not signed
  --allow-sha1                 accept SHA-1 signatures (old ADFS; refused by default)
  --json                       the connection as JSON

show prints the IdP side, every certificate with its SHA-256 fingerprint and days left, and the
values to paste into Entra. deactivate keeps the connection but stops its logins.
exit 0 done, 1 refused (the message names the option), 2 usage or unreadable file
`;

const IMPORT_OPTIONS = {
  metadata: { type: "string" },
  "metadata-url": { type: "string" },
  "idp-entity-id": { type: "string" },
  "sso-url": { type: "string" },
  "slo-url": { type: "string" },
  cert: { type: "string", multiple: true },
  name: { type: "string" },
  "sp-entity-id": { type: "string" },
  "acs-url": { type: "string" },
  replace: { type: "string" },
  "sign-requests": { type: "boolean" },
  "require-signed-assertion": { type: "boolean" },
  "require-signed-response": { type: "boolean" },
  "allow-sha1": { type: "boolean" },
  json: { type: "boolean" },
} as const;

/** AdminError fields → the options that set them. */
const FIELDS: Record<string, string> = {
  account: "ACCOUNT",
  connection: "ID",
  metadataXml: "--metadata",
  metadataUrl: "--metadata-url",
  idpEntityId: "--idp-entity-id",
  ssoUrl: "--sso-url",
  sloUrl: "--slo-url",
  certificates: "--cert",
  spEntityId: "--sp-entity-id",
  acsUrl: "--acs-url",
};

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "import":
      return importConnection(rest, io);
    case "list":
      return list(rest, io);
    case "show":
      return show(rest, io);
    case "activate":
    case "deactivate":
      return setActive(rest, io, sub === "activate");
    default:
      throw new UsageError(
        sub === undefined
          ? "which one: import, list, show, activate or deactivate?"
          : `unknown subcommand '${sub}' (import, list, show, activate, deactivate)`,
      );
  }
}

async function importConnection(args: readonly string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseCommandLine(args, IMPORT_OPTIONS);
  const accountName = onePositional(positionals, "ACCOUNT");
  const typed = v["idp-entity-id"] !== undefined || v["sso-url"] !== undefined;
  const sources = [v.metadata, v["metadata-url"]].filter((x) => x !== undefined).length;
  if (sources > 1) throw new UsageError("give --metadata or --metadata-url, not both");
  if (sources === 0 && !typed)
    throw new UsageError(
      "give --metadata FILE, --metadata-url URL, or --idp-entity-id, --sso-url and --cert",
    );
  // Files are read before anything is stored: an unreadable one is a usage error (exit 2).
  const metadataXml =
    v.metadata === undefined
      ? undefined
      : (await readOptionFile(v.metadata, "--metadata")).toString("utf8");
  const certificates =
    v.cert === undefined
      ? undefined
      : await Promise.all(
          v.cert.map(async (f) => (await readOptionFile(f, "--cert")).toString("utf8")),
        );

  return adminCommand("connection import", io, FIELDS, async () => {
    const config = configOrExit(io);
    const source = v["metadata-url"] !== undefined ? "metadataUrl" : "metadataXml";
    return withStore(config, async (store) => {
      const now = io.now();
      const account = await requireAccount(store, accountName);
      const existing =
        v.replace === undefined ? undefined : await requireConnection(store, v.replace);
      if (existing !== undefined && existing.accountId !== account.id)
        throw new UsageError(`--replace ${v.replace}: that connection belongs to another account`);
      const fetched =
        v["metadata-url"] === undefined ? undefined : await fetchMetadata(v["metadata-url"]);
      const input: ConnectionInput = {
        ...(v.name === undefined
          ? existing === undefined
            ? {}
            : { name: existing.name }
          : { name: v.name }),
        ...(metadataXml === undefined && fetched === undefined
          ? {}
          : { metadataXml: (metadataXml ?? fetched)! }),
        ...(v["metadata-url"] === undefined ? {} : { metadataUrl: v["metadata-url"] }),
        ...(v["idp-entity-id"] === undefined ? {} : { idpEntityId: v["idp-entity-id"] }),
        ...(v["sso-url"] === undefined ? {} : { ssoUrl: v["sso-url"] }),
        ...(v["slo-url"] === undefined ? {} : { sloUrl: v["slo-url"] }),
        ...(certificates === undefined ? {} : { certificates }),
        spEntityId:
          v["sp-entity-id"] ?? existing?.spEntityId ?? `${config.publicUrl}/saml/${account.name}`,
        acsUrl: v["acs-url"] ?? existing?.acsUrl ?? config.acsUrl,
        allowSha1: v["allow-sha1"] ?? existing?.allowSha1 ?? false,
        signRequests: v["sign-requests"] ?? existing?.signRequests ?? false,
        requireSignedAssertion:
          v["require-signed-assertion"] ?? existing?.requireSignedAssertion ?? false,
        requireSignedResponse:
          v["require-signed-response"] ?? existing?.requireSignedResponse ?? false,
      };
      const { connection, warnings } = await withSamlFields(source, () =>
        existing === undefined
          ? createConnection(store, account.id, input, CLI_ACTOR, now)
          : updateConnection(store, existing.id, input, CLI_ACTOR, now),
      );
      if (v.json === true) {
        io.stdout(json({ connection, warnings, entra: entraValues(config, connection) }));
        return EXIT_OK;
      }
      io.stdout(
        `${existing === undefined ? "Created" : "Updated"} connection ${connection.id} for account ${account.name}.\n`,
      );
      for (const w of warnings) io.stdout(`Warning: ${w}\n`);
      io.stdout(describe(connection, config, now));
      return EXIT_OK;
    });
  });
}

async function list(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { json: { type: "boolean" } });
  const accountName = onePositional(positionals, "ACCOUNT");
  return adminCommand("connection list", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const account = await requireAccount(store, accountName);
      const connections = await store.connections.list(account.id);
      if (values.json === true) {
        io.stdout(json(connections));
        return EXIT_OK;
      }
      if (connections.length === 0) {
        io.stdout(
          `Account ${account.name} has no connection. Add one: gatehouse connection import ${account.name} --metadata FILE\n`,
        );
        return EXIT_OK;
      }
      const now = io.now();
      io.stdout(
        table([
          ["ID", "NAME", "ACTIVE", "IDP ENTITY ID", "CERTIFICATES"],
          ...connections.map((c) => [
            c.id,
            c.name,
            c.active ? "yes" : "no",
            c.idpEntityId,
            certificatesSummary(c, now),
          ]),
        ]),
      );
      return EXIT_OK;
    });
  });
}

async function show(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { json: { type: "boolean" } });
  const id = onePositional(positionals, "ID");
  return adminCommand("connection show", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const connection = await requireConnection(store, id);
      const account = await store.accounts.get(connection.accountId);
      const now = io.now();
      if (values.json === true) {
        io.stdout(
          json({
            connection,
            account: account?.name ?? null,
            certificates: connection.certificates.map((c, i) =>
              certificateLine(c, now, `certificates[${i}]`),
            ),
            entra: entraValues(config, connection),
          }),
        );
        return EXIT_OK;
      }
      io.stdout(
        `Connection ${connection.id} ("${connection.name}") of account ${account?.name ?? connection.accountId}\n${describe(connection, config, now)}`,
      );
      return EXIT_OK;
    });
  });
}

async function setActive(args: readonly string[], io: CliIo, active: boolean): Promise<number> {
  const { positionals } = parseCommandLine(args, {});
  const id = onePositional(positionals, "ID");
  const verb = active ? "activate" : "deactivate";
  return adminCommand(`connection ${verb}`, io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const before = await requireConnection(store, id);
      if (before.active === active) {
        io.stdout(`Connection ${id} is already ${active ? "active" : "deactivated"}.\n`);
        return EXIT_OK;
      }
      await setConnectionActive(store, id, active, CLI_ACTOR, io.now());
      io.stdout(
        active
          ? `Connection ${id} is active again.\n`
          : `Connection ${id} is deactivated: its logins are refused; 'gatehouse connection activate ${id}' turns it back on.\n`,
      );
      return EXIT_OK;
    });
  });
}

function certificatesSummary(c: Connection, now: Date): string {
  return c.certificates
    .map((cert, i) => {
      try {
        const line = certificateLine(cert, now, `certificates[${i}]`);
        return line.daysLeft < 0 ? "expired" : `${line.daysLeft} days left`;
      } catch {
        return "unreadable";
      }
    })
    .join(", ");
}

function describe(c: Connection, config: Parameters<typeof entraValues>[0], now: Date): string {
  const lines = [
    `  Active:             ${c.active ? "yes" : "no (deactivated)"}`,
    `  IdP entity ID:      ${c.idpEntityId}`,
    `  IdP login URL:      ${c.ssoUrl}`,
    `  IdP logout URL:     ${c.sloUrl ?? "(none: Single Logout is local only)"}`,
    `  Metadata URL:       ${c.metadataUrl ?? "(uploaded or typed)"}`,
    `  Signatures:         ${
      [
        c.requireSignedAssertion ? "assertion required" : undefined,
        c.requireSignedResponse ? "response required" : undefined,
        c.allowSha1 ? "SHA-1 allowed" : undefined,
        c.signRequests ? "AuthnRequests signed" : undefined,
      ]
        .filter((x) => x !== undefined)
        .join(", ") || "assertion or response, SHA-256 or better"
    }`,
    `  Tested:             ${c.testedAt === null ? "not since the last change" : c.testedAt.toISOString()}`,
    `  Certificates (${c.certificates.length}):`,
  ];
  for (const [i, cert] of c.certificates.entries()) {
    try {
      const l = certificateLine(cert, now, `certificates[${i}]`);
      lines.push(
        `    ${i + 1}. SHA-256 ${l.fingerprint256}`,
        `       ${l.subject}; valid until ${l.notAfter.slice(0, 10)} (${l.daysLeft < 0 ? `expired ${-l.daysLeft} days ago` : `${l.daysLeft} days left`})`,
      );
    } catch (e) {
      lines.push(`    ${i + 1}. unreadable (${(e as Error).message})`);
    }
  }
  lines.push("", formatEntraValues(entraValues(config, c)));
  return lines.join("\n");
}

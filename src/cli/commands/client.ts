/** `gatehouse client add|list|remove`: the apps that sign their users in through Gatehouse (OIDC). */

import { addClient, type ClientView, listClients, removeClient } from "../../domain/oidc.ts";
import { type CliIo, EXIT_OK, parseCommandLine, UsageError } from "../command.ts";
import { adminCommand, CLI_ACTOR, configOrExit, json, table, withStore } from "../service.ts";

export const usage = `Usage: gatehouse client <add|list|remove> ...

  gatehouse client add NAME --redirect-uri URL [--redirect-uri URL ...]
                       [--post-logout-redirect-uri URL ...] [--backchannel-logout-uri URL]
                       [--frontchannel-logout-uri URL] [--public] [--json]
  gatehouse client list [--json]
  gatehouse client remove CLIENT_ID

An app signs its users in with OpenID Connect (authorization code flow with PKCE); its issuer is
PUBLIC_URL/oidc (discovery at PUBLIC_URL/oidc/.well-known/openid-configuration).

--redirect-uri is where the app receives the code, compared exactly (no trailing-slash or case
leniency); https, or http on localhost and 127.0.0.1 only. --post-logout-redirect-uri is where
the app's logout may return to. --backchannel-logout-uri is where Gatehouse POSTs a logout token
whenever the Gatehouse session ends (logout, the IdP's Single Logout, expiry, a disabled user).
--frontchannel-logout-uri is loaded in a hidden iframe, with iss and sid in its query, when the
Gatehouse session ends in the browser (logout here, from an app, or the IdP's Single Logout
arriving in that browser); it must have the scheme, host and port of a --redirect-uri.
A client is confidential (client_secret_basic: a server-side app) unless --public (a browser or
native app: no secret, PKCE only). The secret is shown once, by add; it cannot be shown again.

exit 0 done, 1 refused (the message names the option), 2 usage
`;

const FIELDS: Record<string, string> = {
  name: "NAME",
  clientId: "CLIENT_ID",
  redirectUris: "--redirect-uri",
  postLogoutRedirectUris: "--post-logout-redirect-uri",
  backchannelLogoutUri: "--backchannel-logout-uri",
  frontchannelLogoutUri: "--frontchannel-logout-uri",
};

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "add":
      return add(rest, io);
    case "list":
      return list(rest, io);
    case "remove":
      return remove(rest, io);
    default:
      throw new UsageError(
        sub === undefined
          ? "which one: add, list or remove?"
          : `unknown subcommand '${sub}' (add, list, remove)`,
      );
  }
}

function one(positionals: readonly string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`${what} is missing`);
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`);
  return positionals[0]!;
}

async function add(args: readonly string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseCommandLine(args, {
    "redirect-uri": { type: "string", multiple: true },
    "post-logout-redirect-uri": { type: "string", multiple: true },
    "backchannel-logout-uri": { type: "string" },
    "frontchannel-logout-uri": { type: "string" },
    public: { type: "boolean" },
    json: { type: "boolean" },
  });
  const name = one(positionals, "NAME");
  if (v["redirect-uri"] === undefined) throw new UsageError("--redirect-uri is required");
  return adminCommand("client add", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const { client, clientSecret } = await addClient(
        store,
        {
          name,
          redirectUris: v["redirect-uri"]!,
          postLogoutRedirectUris: v["post-logout-redirect-uri"] ?? [],
          backchannelLogoutUri: v["backchannel-logout-uri"] ?? null,
          frontchannelLogoutUri: v["frontchannel-logout-uri"] ?? null,
          type: v.public === true ? "public" : "confidential",
        },
        CLI_ACTOR,
        io.now(),
      );
      if (v.json === true) {
        io.stdout(json({ client, clientSecret }));
        return EXIT_OK;
      }
      io.stdout(
        [
          `Registered ${client.name}: ${client.type} client ${client.clientId}`,
          `  Issuer:        ${config.publicUrl}/oidc`,
          `  Client ID:     ${client.clientId}`,
          clientSecret === null
            ? "  Client secret: none (public client: PKCE only)"
            : `  Client secret: ${clientSecret}  (shown once; keep it in the app's secrets)`,
          ...describe(client),
          "",
        ].join("\n"),
      );
      return EXIT_OK;
    });
  });
}

async function list(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, { json: { type: "boolean" } });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  return adminCommand("client list", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      const clients = await listClients(store);
      if (values.json === true) {
        io.stdout(json(clients));
        return EXIT_OK;
      }
      if (clients.length === 0) {
        io.stdout(
          "No apps are registered. Add one: gatehouse client add NAME --redirect-uri URL\n",
        );
        return EXIT_OK;
      }
      io.stdout(
        table([
          [
            "CLIENT ID",
            "NAME",
            "TYPE",
            "REDIRECT URIS",
            "BACK-CHANNEL LOGOUT",
            "FRONT-CHANNEL LOGOUT",
          ],
          ...clients.map((c) => [
            c.clientId,
            c.name,
            c.type,
            c.redirectUris.join(" "),
            c.backchannelLogoutUri ?? "",
            c.frontchannelLogoutUri ?? "",
          ]),
        ]),
      );
      return EXIT_OK;
    });
  });
}

async function remove(args: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parseCommandLine(args, {});
  const clientId = one(positionals, "CLIENT_ID");
  return adminCommand("client remove", io, FIELDS, async () => {
    const config = configOrExit(io);
    return withStore(config, async (store) => {
      await removeClient(store, clientId, CLI_ACTOR, io.now());
      io.stdout(`Removed client ${clientId}: the app can no longer sign anyone in.\n`);
      return EXIT_OK;
    });
  });
}

function describe(c: ClientView): string[] {
  return [
    `  Redirect URIs: ${c.redirectUris.join(", ")}`,
    ...(c.postLogoutRedirectUris.length === 0
      ? []
      : [`  After logout:  ${c.postLogoutRedirectUris.join(", ")}`]),
    ...(c.backchannelLogoutUri === null ? [] : [`  Back-channel:  ${c.backchannelLogoutUri}`]),
    ...(c.frontchannelLogoutUri === null
      ? []
      : [
          `  Front-channel: ${c.frontchannelLogoutUri}${c.frontchannelLogoutSessionRequired ? " (with iss and sid)" : ""}`,
        ]),
  ];
}

/**
 * `gatehouse init`: XCALLY's "initialize command". From DOMAIN and the SAML_* variables, creates
 * or updates the default account and its connection; running it again changes nothing.
 */

import { ROLES, type Role } from "../../domain/model.ts";
import { type CliIo, EXIT_OK, EXIT_REFUSED, parseCommandLine } from "../command.ts";
import {
  adminCommand,
  applySingleServer,
  configOrExit,
  entraValues,
  formatEntraValues,
  json,
  withStore,
} from "../service.ts";
import { parseRoles } from "./account.ts";

export const usage = `Usage: gatehouse init [--saml-login ROLES] [--json]

The single-server setup (XCALLY): reads DOMAIN (or PUBLIC_URL), SAML_ENTRYPOINT (Entra: Login
URL), SAML_CERT (Entra: Certificate (Base64)), SAML_ISSUER (our Identifier), SAML_LOGOUT_URL,
SAML_IDP_ENTITY_ID, SAML_MULTI_USER_FIELD and SAML_ACCOUNT from the environment and ./.env, and
creates or updates the default account (SAML_ACCOUNT, default "default") and its connection.
SAML_MULTI_USER_FIELD turns multi-login on with that claim. Idempotent: a second run reports
that nothing changed. Prints what to paste into Entra.

  --saml-login ROLES  also turn Login with SAML on for these roles (comma-separated:
                      admin, supervisor, agent, user, or "all")
  --json              the result as JSON

exit 0 done (or nothing to do), 1 SAML_ENTRYPOINT/SAML_CERT not set or refused, 2 configuration
problems (all listed)
`;

const OPTIONS = { "saml-login": { type: "string" }, json: { type: "boolean" } } as const;

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseCommandLine(args, OPTIONS);
  const roles = values["saml-login"] === undefined ? undefined : parseRoles(values["saml-login"]);
  return adminCommand("init", io, { samlLogin: "--saml-login" }, async () => {
    const config = configOrExit(io);
    if (config.saml === undefined) {
      io.stderr(
        "gatehouse init: SAML_ENTRYPOINT and SAML_CERT are not set; nothing to initialize.\n" +
          "Set them (Entra: Login URL and Certificate (Base64)) in the environment or ./.env,\n" +
          "or add connections with 'gatehouse connection import'.\n",
      );
      return EXIT_REFUSED;
    }
    const saml = config.saml;
    const samlLogin =
      roles === undefined
        ? undefined
        : (Object.fromEntries(ROLES.map((r) => [r, roles.includes(r)])) as Record<Role, boolean>);
    const result = await withStore(config, (store) =>
      applySingleServer(store, config, saml, io.now(), {
        reactivate: true,
        ...(samlLogin === undefined ? {} : { samlLogin }),
      }),
    );
    const entra = entraValues(config, result.connection);
    if (values.json === true) {
      io.stdout(
        json({
          changed: result.changes.length > 0,
          changes: result.changes,
          notes: result.notes,
          account: { id: result.account.id, name: result.account.name },
          connectionId: result.connection.id,
          entra,
        }),
      );
      return EXIT_OK;
    }
    const lines =
      result.changes.length === 0
        ? [
            `Nothing to change: account "${result.account.name}" and connection ${result.connection.id} already match the configuration.`,
          ]
        : result.changes.map((c) => `- ${c}`);
    io.stdout(
      [
        ...lines,
        ...result.notes.map((n) => `Note: ${n}`),
        `IdP: ${saml.idpEntityId}, login URL ${saml.entryPoint}`,
        `Certificate: SHA-256 ${saml.certificate.fingerprint256}, valid until ${saml.certificate.notAfter}`,
        "",
        formatEntraValues(entra),
      ].join("\n"),
    );
    return EXIT_OK;
  });
}

/**
 * The `gatehouse` commands. Adding one is one line here (the module is loaded only when its
 * command runs, so `verify-response` never pays for the web server's dependencies).
 */

import type { CommandModule } from "./command.ts";

export interface CommandEntry {
  /** One line for `gatehouse help`. */
  readonly summary: string;
  readonly load: () => Promise<CommandModule>;
}

export const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  help: {
    summary: "Show the commands, or one command's usage",
    load: () => import("./commands/help.ts"),
  },
  "verify-response": {
    summary: "Validate a captured SAMLResponse offline, as the ACS would",
    load: () => import("./commands/verify-response.ts"),
  },
  inspect: {
    summary: "Decode and pretty-print any SAML message, URL or metadata (no validation)",
    load: () => import("./commands/inspect.ts"),
  },
  start: {
    summary: "Run the web server (demo mode with the mock IdP unless configured otherwise)",
    load: () => import("./commands/start.ts"),
  },
  init: {
    summary: "Single-server setup: create or update the default account's connection from SAML_*",
    load: () => import("./commands/init.ts"),
  },
  "check-config": {
    summary: "List every configuration problem, and what to paste into Entra",
    load: () => import("./commands/check-config.ts"),
  },
  account: {
    summary: "Accounts and their General Settings: create, list, show, set, rollback",
    load: () => import("./commands/account.ts"),
  },
  connection: {
    summary: "IdP connections: import (metadata file/URL or typed), list, show, deactivate",
    load: () => import("./commands/connection.ts"),
  },
  "setup-link": {
    summary: "Links that let a customer's IT admin connect their IdP alone: create, list, revoke",
    load: () => import("./commands/setup-link.ts"),
  },
  user: {
    summary: "Users of an account: add, list, set, import --csv",
    load: () => import("./commands/user.ts"),
  },
  client: {
    summary: "Apps that sign in through Gatehouse (OpenID Connect): add, list, remove",
    load: () => import("./commands/client.ts"),
  },
  audit: {
    summary: "Audit events (login attempts, admin changes): tail [--follow]",
    load: () => import("./commands/audit.ts"),
  },
};

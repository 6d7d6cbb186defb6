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
};

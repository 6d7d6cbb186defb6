/** `gatehouse help [command]` */

import { type CliIo, EXIT_USAGE, parseCommandLine, UsageError } from "../command.ts";
import { findCommand, overview } from "../dispatch.ts";

export const usage =
  "Usage: gatehouse help [command]\n\nShows the commands, or one command's options.\n";

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { positionals } = parseCommandLine(args, {});
  if (positionals.length > 1) throw new UsageError("at most one command name");
  const name = positionals[0];
  if (name === undefined) {
    io.stdout(overview());
    return 0;
  }
  const entry = findCommand(name);
  if (entry === undefined) {
    io.stderr(`gatehouse: unknown command '${name}'\n\n${overview()}`);
    return EXIT_USAGE;
  }
  io.stdout((await entry.load()).usage);
  return 0;
}

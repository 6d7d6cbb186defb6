/** The `gatehouse` dispatcher: picks the command, turns usage errors into exit code 2. */

import { type CliIo, EXIT_USAGE, UsageError } from "./command.ts";
import { COMMANDS, type CommandEntry } from "./commands.ts";

export function overview(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n]!.summary}`);
  return `Usage: gatehouse <command> [options]\n\nCommands:\n${lines.join("\n")}\n\nRun 'gatehouse help <command>' for a command's options.\n`;
}

export function findCommand(name: string): CommandEntry | undefined {
  return Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
}

/** Runs `gatehouse <argv...>` and returns the exit code. */
export async function dispatch(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h") {
    io.stdout(overview());
    return 0;
  }
  const entry = name === undefined ? undefined : findCommand(name);
  if (entry === undefined) {
    io.stderr(
      `${name === undefined ? "gatehouse: no command given" : `gatehouse: unknown command '${name}'`}\n\n${overview()}`,
    );
    return EXIT_USAGE;
  }
  const command = await entry.load();
  if (name !== "help" && (rest.includes("--help") || rest.includes("-h"))) {
    io.stdout(command.usage);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`gatehouse ${name}: ${e.message}\nRun 'gatehouse help ${name}' for usage.\n`);
      return EXIT_USAGE;
    }
    // Neither a verdict nor a usage error: never let it pass for exit 1 ("refused").
    io.stderr(`gatehouse ${name}: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT_USAGE;
  }
}

/**
 * What every `gatehouse` command is: a module exporting its usage text and a `run` that takes
 * the arguments after the command name and returns the exit code. Commands do I/O only through
 * `CliIo`, so the clock and the streams are the dispatcher's (src/cli/main.ts) to give.
 */

import { readFile } from "node:fs/promises";
import { type ParseArgsConfig, parseArgs } from "node:util";

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly stdin: AsyncIterable<Buffer | string> & { readonly isTTY?: boolean };
  /** The real clock (the CLI is the I/O layer; the SAML core gets the time as an argument). */
  readonly now: () => Date;
}

export interface CommandModule {
  /** Shown by `gatehouse help <command>` and `gatehouse <command> --help`. */
  readonly usage: string;
  /** Exit codes: 0 success, 1 a negative verdict (refused), 2 usage error or unreadable input. */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/** A problem with the command line or its files: one line on stderr, exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

export const EXIT_OK = 0;
export const EXIT_REFUSED = 1;
export const EXIT_USAGE = 2;

/** node:util parseArgs, strict, with its errors turned into UsageError. */
export function parseCommandLine<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: readonly string[],
  options: T,
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
      throw new UsageError((e as Error).message);
    }
    throw e;
  }
}

/** Input files larger than this are not SAML (Entra's metadata is a few hundred KB at most). */
const MAX_INPUT_BYTES = 16 * 1024 * 1024;

/** Reads `file` ("-" or undefined: standard input) whole; unreadable input is a UsageError. */
export async function readInput(file: string | undefined, io: CliIo): Promise<Buffer> {
  if (file === undefined || file === "-") {
    if (io.stdin.isTTY === true) {
      io.stderr("(reading the message from standard input; end with Ctrl-D)\n");
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of io.stdin) {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += b.length;
      if (size > MAX_INPUT_BYTES) throw new UsageError("standard input: larger than 16 MiB");
      chunks.push(b);
    }
    return Buffer.concat(chunks);
  }
  return readOptionFile(file, "input");
}

/** Reads a file named by an option (`what` names the option in the error). */
export async function readOptionFile(file: string, what: string): Promise<Buffer> {
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_INPUT_BYTES) throw new UsageError(`${what} ${file}: larger than 16 MiB`);
    return bytes;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as { code?: string }).code ?? "";
    const why =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "is a directory"
          : code === "EACCES"
            ? "permission denied"
            : (e as Error).message;
    throw new UsageError(`${what} ${file}: cannot read (${why})`);
  }
}

// ISO 8601 instant: date, time to the second at least, and a zone (Z or ±hh:mm).
const ISO_INSTANT =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/** Parses an option value as an ISO 8601 instant, strictly (no locale formats, no guessing). */
export function parseIsoInstant(value: string, option: string): Date {
  const m = ISO_INSTANT.exec(value);
  if (m !== null) {
    const [, y, mo, d, h, mi, s, frac, sign, zh, zm] = m;
    const ms = frac === undefined ? 0 : Number(`${frac}00`.slice(0, 3));
    const local = Date.UTC(
      Number(y),
      Number(mo) - 1,
      Number(d),
      Number(h),
      Number(mi),
      Number(s),
      ms,
    );
    const check = new Date(local);
    const offset =
      sign === undefined ? 0 : (sign === "-" ? -1 : 1) * (Number(zh) * 60 + Number(zm));
    if (
      check.getUTCFullYear() === Number(y) &&
      check.getUTCMonth() === Number(mo) - 1 &&
      check.getUTCDate() === Number(d) &&
      Number(h) <= 23 &&
      Number(mi) <= 59 &&
      Number(s) <= 59 &&
      Number(zh ?? 0) <= 23 &&
      Number(zm ?? 0) <= 59
    ) {
      return new Date(local - offset * 60_000);
    }
  }
  throw new UsageError(
    `${option} ${JSON.stringify(value)}: not an ISO 8601 instant (like 2025-01-31T12:00:00Z)`,
  );
}

/** "in 59 min", "5 min ago", "3 days ago": how far `when` is from `now`. */
export function fromNow(when: Date, now: Date): string {
  const delta = when.getTime() - now.getTime();
  const abs = Math.abs(delta);
  const units: [number, string][] = [
    [365.25 * 86_400_000, "year"],
    [86_400_000, "day"],
    [3_600_000, "h"],
    [60_000, "min"],
    [1000, "s"],
  ];
  if (abs < 1000) return "now";
  let text = "";
  for (const [size, name] of units) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      text =
        name === "year" || name === "day" ? `${n} ${name}${n === 1 ? "" : "s"}` : `${n} ${name}`;
      break;
    }
  }
  return delta > 0 ? `in ${text}` : `${text} ago`;
}

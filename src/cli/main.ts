/** The `gatehouse` command's entry point (bin/gatehouse.js imports this file). */

import { dispatch } from "./dispatch.ts";

const exitCode = await dispatch(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  stdin: process.stdin,
  now: () => new Date(),
});
// exitCode rather than exit(): lets stdout drain when it is a pipe.
process.exitCode = exitCode;

/**
 * Memory benchmark: validates the 20-group Entra response BENCH_ITERATIONS times (default one
 * million) and samples the heap and RSS every 100,000 validations, after a forced collection.
 *
 *   node --expose-gc bench/memory.ts          (npm run bench:memory)
 *
 * The replay cache records every Assertion ID and forgets them when the pool of distinct
 * responses starts over, as a real store forgets expired IDs; so a flat heap is expected, and
 * growth means a leak in the validator. Reports, never asserts: the exit code is 0.
 */

import { validateResponse } from "../src/saml/response.ts";
import {
  buildPool,
  collectGarbage,
  envNumber,
  forgetfulReplayCache,
  gatehouseOptions,
  loadIdpKey,
} from "./support.ts";

const iterations = Math.round(envNumber("BENCH_ITERATIONS", 1_000_000));
const poolSize = Math.round(envNumber("BENCH_POOL", 500));
const every = Math.min(100_000, iterations);
/** Growth allowed between the 200k sample (caches and JIT settled) and the end. */
const ALLOWED_GROWTH_MB = 4;

const gcExposed = collectGarbage();
if (!gcExposed) {
  process.stderr.write(
    "warning: run with --expose-gc (npm run bench:memory does) for samples after a full collection\n",
  );
}

const key = loadIdpKey();
const pool = buildPool(key, 20, poolSize, new Date());
const cache = forgetfulReplayCache();
const base = gatehouseOptions(key, cache, new Date());

interface Sample {
  readonly iterations: number;
  readonly heapUsedMB: number;
  readonly rssMB: number;
  readonly seconds: number;
}

const mb = (n: number): number => Math.round((n / 1024 / 1024) * 100) / 100;
const samples: Sample[] = [];
const take = (done: number, started: bigint): void => {
  collectGarbage();
  const m = process.memoryUsage();
  const s = {
    iterations: done,
    heapUsedMB: mb(m.heapUsed),
    rssMB: mb(m.rss),
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
  samples.push(s);
  process.stdout.write(
    `| ${done.toLocaleString("en-US")} | ${s.heapUsedMB.toFixed(2)} | ${s.rssMB.toFixed(2)} | ${s.seconds.toFixed(1)} |\n`,
  );
};

process.stdout.write(
  `Node ${process.version}; ${iterations.toLocaleString("en-US")} validations of the 20-group response ` +
    `(${pool.bytes} bytes, ${poolSize} distinct); samples after ${gcExposed ? "a forced" : "no (run with --expose-gc)"} collection.\n\n` +
    "| validations | heapUsed MB | rss MB | elapsed s |\n| ---: | ---: | ---: | ---: |\n",
);
const started = process.hrtime.bigint();
take(0, started);
const samplesOfPool = pool.samples;
let p = 0;
for (let i = 1; i <= iterations; i++) {
  if (p === samplesOfPool.length) {
    p = 0;
    cache.forget();
  }
  const r = await validateResponse(samplesOfPool[p++]!.base64, { ...base, now: new Date() });
  if (r.nameId === "") throw new Error("unreachable: validated without a NameID");
  if (i % every === 0 || i === iterations) take(i, started);
}

const from =
  samples.find((s) => s.iterations >= 200_000) ?? samples[Math.min(1, samples.length - 1)]!;
const last = samples[samples.length - 1]!;
const heapGrowth = last.heapUsedMB - from.heapUsedMB;
const rssGrowth = last.rssMB - from.rssMB;
const flat = heapGrowth < ALLOWED_GROWTH_MB;
process.stdout.write(
  `\nFrom ${from.iterations.toLocaleString("en-US")} to ${last.iterations.toLocaleString("en-US")} validations: ` +
    `heapUsed ${heapGrowth >= 0 ? "+" : ""}${heapGrowth.toFixed(2)} MB, rss ${rssGrowth >= 0 ? "+" : ""}${rssGrowth.toFixed(2)} MB: ` +
    `${flat ? `flat (under ${ALLOWED_GROWTH_MB} MB)` : `GROWING (over ${ALLOWED_GROWTH_MB} MB)`}; ` +
    `${Math.round(last.iterations / last.seconds).toLocaleString("en-US")} validations/s overall.\n`,
);

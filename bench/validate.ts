/**
 * Response-validation benchmark: Gatehouse against @node-saml/node-saml, samlify and the floor
 * (the unavoidable work), on the same Entra-shaped responses, in one process.
 *
 *   node bench/validate.ts            Markdown tables (paste into README.md)
 *   node bench/validate.ts --json     the same figures as JSON
 *
 * BENCH_SECONDS (default 3) is the timed duration per case, after a warm-up of a third of it
 * (at most 1 s), split over BENCH_ROUNDS (default 3) interleaved rounds; BENCH_POOL (default
 * 500) the number of distinct responses per size. Run with --expose-gc to collect garbage
 * between slices. Reports, never asserts: the exit code is 0 whatever the figures.
 */

import { cpus } from "node:os";
import {
  buildPool,
  type Contender,
  collectGarbage,
  envNumber,
  floor,
  gatehouse,
  loadIdpKey,
  type Measurement,
  nodeSaml,
  type Pool,
  samlifyContender,
  Timings,
  timeSlice,
  warmUp,
} from "./support.ts";

const json = process.argv.includes("--json");
const seconds = envNumber("BENCH_SECONDS", 3);
const warmup = Math.min(1, seconds / 3);
const poolSize = Math.round(envNumber("BENCH_POOL", 500));
const rounds = Math.round(envNumber("BENCH_ROUNDS", 3));

type CaseId = "floor" | "gatehouse" | "gatehouseNoReplay" | "nodeSaml" | "samlify";
const CASES: readonly CaseId[] = ["floor", "gatehouse", "gatehouseNoReplay", "nodeSaml", "samlify"];

interface CaseResult {
  readonly id: CaseId;
  readonly name: string;
  readonly note?: string;
  readonly groups: number;
  readonly result: Measurement | { readonly failed: string };
}

/** The issue's targets. */
const TARGETS = {
  floorRatioMax: 1.5,
  nodeSamlSpeedupMin: 60,
  nodeSamlSpeedupDone: 30,
  groupCostRatioMax: 2.5,
};

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function contender(id: CaseId, key: ReturnType<typeof loadIdpKey>, pool: Pool): Contender {
  switch (id) {
    case "floor":
      return floor(key, pool);
    case "gatehouse":
      return gatehouse(key, pool, "memory");
    case "gatehouseNoReplay":
      return gatehouse(key, pool, "none");
    case "nodeSaml":
      return nodeSaml(key, pool);
    case "samlify":
      return samlifyContender(key, pool);
  }
}

/** Builds the contender and checks its result; a validator that does not accept the response
 * (or accepts it and reads the wrong user) is reported as FAILED, not timed. */
async function prepare(id: CaseId, key: ReturnType<typeof loadIdpKey>, pool: Pool) {
  const c = contender(id, key, pool);
  const base = { id, name: c.name, note: c.note, groups: pool.groupCount };
  try {
    c.check(await c.run());
  } catch (e) {
    const message = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    log(`  ${c.name}: FAILED (${message})`);
    return { base, failed: message };
  }
  return { base, contender: c, timings: new Timings() };
}

/**
 * Times every case of one pool in interleaved rounds (each case gets `seconds / rounds` per
 * round), so that a burst of load from elsewhere on the machine spreads over all cases instead
 * of landing on one.
 */
async function runPool(key: ReturnType<typeof loadIdpKey>, pool: Pool): Promise<CaseResult[]> {
  const prepared = [];
  for (const id of CASES) prepared.push(await prepare(id, key, pool));
  for (const p of prepared)
    if (p.contender !== undefined) await warmUp(() => p.contender.run(), warmup);
  for (let round = 0; round < rounds; round++) {
    for (const p of prepared) {
      if (p.contender === undefined) continue;
      collectGarbage();
      await timeSlice(() => p.contender.run(), seconds / rounds, p.timings);
    }
  }
  return prepared.map((p) => {
    if (p.timings === undefined) return { ...p.base, result: { failed: p.failed } };
    const m = p.timings.summary();
    log(
      `  ${p.base.name}: ${fmt(m.opsPerSecond, 0)} ops/s, p50 ${fmt(m.p50, 1)} µs, p99 ${fmt(m.p99, 1)} µs`,
    );
    return { ...p.base, result: m };
  });
}

function fmt(n: number, digits: number): string {
  return n.toLocaleString("en-US", {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

function measured(results: readonly CaseResult[], id: CaseId, groups: number) {
  const r = results.find((x) => x.id === id && x.groups === groups)?.result;
  return r === undefined || "failed" in r ? undefined : r;
}

/**
 * Cost ratio a/b by median latency: on a shared machine the median is what load from elsewhere
 * disturbs least (ops/s and the mean are reported too). Undefined when either failed.
 */
function costRatio(a: Measurement | undefined, b: Measurement | undefined): number | undefined {
  return a === undefined || b === undefined ? undefined : a.p50 / b.p50;
}

async function main(): Promise<void> {
  const key = loadIdpKey();
  const now = new Date();
  log(`building ${poolSize} distinct responses per size...`);
  const pools = [buildPool(key, 20, poolSize, now), buildPool(key, 150, poolSize, now)];
  const results: CaseResult[] = [];
  for (const pool of pools) {
    log(`${pool.groupCount} groups (${pool.bytes} bytes):`);
    results.push(...(await runPool(key, pool)));
  }

  const [small, large] = pools as [Pool, Pool];
  const ratios = {} as Record<string, number | undefined>;
  for (const g of [20, 150]) {
    const m = (id: CaseId) => measured(results, id, g);
    ratios[`gatehouseOverFloor${g}`] = costRatio(m("gatehouse"), m("floor"));
    ratios[`gatehouseNoReplayOverFloor${g}`] = costRatio(m("gatehouseNoReplay"), m("floor"));
    ratios[`speedupVsNodeSaml${g}`] = costRatio(m("nodeSaml"), m("gatehouse"));
    ratios[`speedupVsNodeSamlNoReplay${g}`] = costRatio(m("nodeSaml"), m("gatehouseNoReplay"));
    ratios[`speedupVsSamlify${g}`] = costRatio(m("samlify"), m("gatehouse"));
    ratios[`speedupVsSamlifyNoReplay${g}`] = costRatio(m("samlify"), m("gatehouseNoReplay"));
  }
  for (const id of CASES) {
    ratios[`groupCost_${id}`] = costRatio(measured(results, id, 150), measured(results, id, 20));
  }

  const environment = {
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    platform: `${process.platform} ${process.arch}`,
    secondsPerCase: seconds,
    rounds,
    warmupSeconds: warmup,
    distinctResponses: poolSize,
    gcExposed: typeof (globalThis as { gc?: unknown }).gc === "function",
    responseBytes: { 20: small.bytes, 150: large.bytes },
    signing: "Assertion signed, RSA-SHA256 (2048-bit), SHA-256 digest, exclusive C14N",
  };

  if (json) {
    process.stdout.write(
      `${JSON.stringify({ environment, targets: TARGETS, results, ratios }, null, 2)}\n`,
    );
    return;
  }
  process.stdout.write(markdown(environment, results, ratios, small, large));
}

function markdown(
  env: {
    node: string;
    cpu: string;
    secondsPerCase: number;
    rounds: number;
    distinctResponses: number;
  },
  results: readonly CaseResult[],
  ratios: Record<string, number | undefined>,
  small: Pool,
  large: Pool,
): string {
  const lines: string[] = [];
  lines.push(
    `Node ${env.node}, ${env.cpu}, one core, sequential; ${env.secondsPerCase} s per case after warm-up, ` +
      `in ${env.rounds} interleaved rounds; ` +
      `${env.distinctResponses} distinct Entra-shaped responses per size (Assertion signed, RSA-SHA256), ` +
      `${small.bytes} bytes with 20 groups, ${large.bytes} bytes with 150.`,
    "",
    "| validator | 20 groups: ops/s | p50 µs | p99 µs | 150 groups: ops/s | p50 µs | p99 µs |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
  );
  const cell = (m: CaseResult["result"] | undefined): string =>
    m === undefined
      ? "| – | – | –"
      : "failed" in m
        ? "| FAILED | – | –"
        : `| ${fmt(m.opsPerSecond, 0)} | ${fmt(m.p50, 1)} | ${fmt(m.p99, 1)}`;
  for (const id of CASES) {
    const a = results.find((r) => r.id === id && r.groups === 20);
    const b = results.find((r) => r.id === id && r.groups === 150);
    const name = a?.note === undefined ? a?.name : `${a.name} ¹`;
    lines.push(`| ${name} ${cell(a?.result)} ${cell(b?.result)} |`);
  }
  const failures = results.filter((r) => "failed" in r.result);
  for (const f of failures) {
    lines.push(
      "",
      `FAILED: ${f.name}, ${f.groups} groups: ${(f.result as { failed: string }).failed}`,
    );
  }
  const note = results.find((r) => r.note !== undefined);
  lines.push("");
  if (note !== undefined) lines.push(`¹ ${note.name}: ${note.note}.`);
  lines.push(
    "The floor is base64 and UTF-8 decoding, one parse, one RSA-SHA256 verification of precomputed " +
      "canonical SignedInfo bytes and one SHA-256 over the precomputed canonical Assertion: " +
      "no canonicalization, no SAML checks, no replay cache. The peers check no replay; " +
      "Gatehouse's in-memory cache records every Assertion ID.",
    "",
    "Ratios compare median latencies (p50), which load from elsewhere on the machine disturbs least.",
    "",
    "| ratio | 20 groups | 150 groups | target |",
    "| --- | ---: | ---: | --- |",
  );
  const x = (v: number | undefined): string => (v === undefined ? "–" : `${fmt(v, 2)}×`);
  const row = (label: string, key: string, target: string): void => {
    lines.push(`| ${label} | ${x(ratios[`${key}20`])} | ${x(ratios[`${key}150`])} | ${target} |`);
  };
  row("Gatehouse cost / floor cost", "gatehouseOverFloor", `≤ ${TARGETS.floorRatioMax}×`);
  row("… without the replay check", "gatehouseNoReplayOverFloor", `≤ ${TARGETS.floorRatioMax}×`);
  row(
    "Gatehouse speedup over node-saml",
    "speedupVsNodeSaml",
    `≥ ${TARGETS.nodeSamlSpeedupMin}× (below ${TARGETS.nodeSamlSpeedupDone}× is not done)`,
  );
  row("… without the replay check", "speedupVsNodeSamlNoReplay", "");
  row("Gatehouse speedup over samlify", "speedupVsSamlify", "");
  row("… without the replay check", "speedupVsSamlifyNoReplay", "");
  lines.push(
    "",
    "| cost of the 150-group response / the 20-group one | ratio | target |",
    "| --- | ---: | --- |",
  );
  for (const id of CASES) {
    const name = results.find((r) => r.id === id)?.name ?? id;
    const target = id === "gatehouse" ? `≤ ${TARGETS.groupCostRatioMax}×` : "";
    lines.push(`| ${name} | ${x(ratios[`groupCost_${id}`])} | ${target} |`);
  }
  lines.push("", verdict(ratios), "");
  return lines.join("\n");
}

function verdict(ratios: Record<string, number | undefined>): string {
  const floorRatio = Math.max(
    ratios["gatehouseOverFloor20"] ?? Infinity,
    ratios["gatehouseOverFloor150"] ?? Infinity,
  );
  const speedup = Math.min(ratios["speedupVsNodeSaml20"] ?? 0, ratios["speedupVsNodeSaml150"] ?? 0);
  const groups = ratios["groupCost_gatehouse"] ?? Infinity;
  const mark = (ok: boolean): string => (ok ? "met" : "MISSED");
  return (
    `Targets: within ${TARGETS.floorRatioMax}× of the floor: ${mark(floorRatio <= TARGETS.floorRatioMax)} ` +
    `(worst ${fmt(floorRatio, 2)}×); ≥ ${TARGETS.nodeSamlSpeedupMin}× node-saml: ` +
    `${mark(speedup >= TARGETS.nodeSamlSpeedupMin)} (worst ${fmt(speedup, 1)}×` +
    `${speedup < TARGETS.nodeSamlSpeedupDone ? `, below ${TARGETS.nodeSamlSpeedupDone}×: not done` : ""}); ` +
    `150 groups ≤ ${TARGETS.groupCostRatioMax}× of 20: ${mark(groups <= TARGETS.groupCostRatioMax)} (${fmt(groups, 2)}×).`
  );
}

await main();

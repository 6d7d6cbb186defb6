/**
 * The whole HTTP login, measured with autocannon on 127.0.0.1: Gatehouse on SQLite and on
 * PostgreSQL, and @node-saml/node-saml behind a bare node:http endpoint for scale.
 *
 *   node bench/http-login.ts            Markdown tables (paste into bench/README.md)
 *   node bench/http-login.ts --json     the same figures as JSON
 *
 * Cases:
 * - "acs": IdP-initiated Entra-shaped responses POSTed to /api/auth/saml/callback, through
 *   validation, matching and session creation to the 303 with a session cookie. The responses
 *   are signed before the run (worker threads), each one distinct, so the replay cache never
 *   refuses; the database is fresh for every run, so one pool serves every run.
 * - "login": GET /api/auth/saml/login (pending request + cookie), then the ACS POST answering
 *   that request with that cookie. Its response can only be signed once the request ID is known:
 *   the client signs it inline (about 0.9 ms of the client's CPU per login, outside the server,
 *   on the same 2 cores), and the login latency reported is the two requests minus that signing.
 *
 * The server runs in its own process (bench/http-server.ts), with 1 or 2 cluster workers sharing
 * the port; autocannon runs here. Environment:
 *   BENCH_DURATION (10)   timed seconds per run, after BENCH_WARMUP (3) seconds of the same load
 *   BENCH_CONNECTIONS (8) concurrent connections
 *   BENCH_USERS (100)     distinct users the responses cycle through
 *   BENCH_MAX_RATE (2500) the pool holds (warm-up + duration) x this many responses; a run that
 *                         exhausts it stops early and says so
 *   BENCH_ONLY            comma-separated case ids (acs-sqlite-1, login-postgres-2, node-saml-2...)
 *   BENCH_PROFILE         a directory: the server runs under --cpu-prof, profiles written there
 *   DATABASE_URL          PostgreSQL (default postgres://postgres@127.0.0.1:5432/test); a fresh
 *                         schema per run, dropped afterwards
 * Reports, never asserts: the exit code is 0 whatever the figures.
 */

import { type ChildProcess, fork } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import autocannon from "autocannon";
import pg from "pg";
import { DEFAULT_ACCOUNT_SETTINGS } from "../src/domain/model.ts";
import type { Store } from "../src/domain/store.ts";
import { buildEntraResponse, type MockUser } from "../src/mock-idp/response.ts";
import { openPostgresStore } from "../src/store/postgres.ts";
import { openSqliteStore } from "../src/store/sqlite.ts";
import type { ServerConfig } from "./http-server.ts";
import {
  ACS_URL,
  envNumber,
  IDP_ENTITY_ID,
  type IdpKey,
  loadIdpKey,
  SP_ENTITY_ID,
  TENANT,
  Timings,
} from "./support.ts";

const PUBLIC_URL = new URL(ACS_URL).origin;
const ACS_PATH = new URL(ACS_URL).pathname;
const ACCOUNT = "contoso";
const GROUPS = 20;

// ---------------------------------------------------------------------------------------------
// Responses: Entra-shaped, one per login, user i % users.

function benchUser(i: number): MockUser {
  const hex = i.toString(16).padStart(12, "0");
  return {
    upn: `user${i}@contoso.example`,
    mail: `user${i}@contoso.example`,
    objectId: `00000000-0000-4000-8000-${hex}`,
    givenName: "Bench",
    surname: `User ${i}`,
    displayName: `Bench User ${i}`,
    groups: Array.from(
      { length: GROUPS },
      (_, g) => `00000000-0000-4000-9000-${g.toString(16).padStart(12, "0")}`,
    ),
  };
}

function signedResponse(
  key: IdpKey,
  user: number,
  now: Date,
  inResponseTo: string | undefined,
): string {
  return buildEntraResponse({
    tenantId: TENANT,
    user: benchUser(user),
    acsUrl: ACS_URL,
    audience: SP_ENTITY_ID,
    now,
    signingKey: key.privateKey,
    signingCertificate: key.certificateBase64,
    signing: "assertion",
    ...(inResponseTo === undefined ? {} : { inResponseTo }),
  });
}

function formBody(xml: string): string {
  return `SAMLResponse=${encodeURIComponent(Buffer.from(xml, "utf8").toString("base64"))}`;
}

interface PoolJob {
  readonly from: number;
  readonly to: number;
  readonly users: number;
  readonly now: number;
}

/** Worker thread: signs responses [from, to), returns them packed in one transferred buffer. */
function poolWorker(job: PoolJob): void {
  const key = loadIdpKey();
  const now = new Date(job.now);
  const bodies: Buffer[] = [];
  const offsets = new Uint32Array(job.to - job.from + 1);
  let size = 0;
  for (let i = job.from; i < job.to; i++) {
    const b = Buffer.from(formBody(signedResponse(key, i % job.users, now, undefined)), "latin1");
    bodies.push(b);
    size += b.length;
    offsets[i - job.from + 1] = size;
  }
  const packed = new Uint8Array(new SharedArrayBuffer(size));
  let at = 0;
  for (const b of bodies) {
    packed.set(b, at);
    at += b.length;
  }
  parentPort!.postMessage({ packed, offsets });
}

async function buildPool(size: number, users: number, threads: number): Promise<Buffer[]> {
  const now = Date.now();
  const per = Math.ceil(size / threads);
  const parts = await Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const job: PoolJob = {
        from: t * per,
        to: Math.min(size, (t + 1) * per),
        users,
        now,
      };
      return new Promise<{ packed: Uint8Array; offsets: Uint32Array }>((resolve, reject) => {
        const w = new Worker(new URL(import.meta.url), { workerData: job });
        w.once("message", resolve);
        w.once("error", reject);
      });
    }),
  );
  const pool: Buffer[] = [];
  for (const { packed, offsets } of parts) {
    const whole = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
    for (let i = 0; i + 1 < offsets.length; i++)
      pool.push(whole.subarray(offsets[i]!, offsets[i + 1]!));
  }
  return pool;
}

// ---------------------------------------------------------------------------------------------
// Stores: seeded here, then opened by the server's workers.

type StoreChoice =
  | { readonly kind: "sqlite"; readonly path: string; readonly dir: string }
  | { readonly kind: "postgres"; readonly url: string; readonly schema: string };

async function seed(store: Store, key: IdpKey, users: number): Promise<void> {
  const now = new Date();
  const account = await store.accounts.create(
    {
      name: ACCOUNT,
      displayName: "Contoso Ltd",
      settings: {
        ...DEFAULT_ACCOUNT_SETTINGS,
        samlLogin: { admin: true, supervisor: true, agent: true, user: true },
        allowIdpInitiated: true,
      },
    },
    now,
  );
  await store.connections.create(
    {
      accountId: account.id,
      name: "Entra",
      active: true,
      idpEntityId: IDP_ENTITY_ID,
      ssoUrl: `https://login.microsoftonline.com/${TENANT}/saml2`,
      sloUrl: `https://login.microsoftonline.com/${TENANT}/saml2`,
      certificates: [key.certificateBase64],
      spEntityId: SP_ENTITY_ID,
      acsUrl: ACS_URL,
      allowSha1: false,
      signRequests: false,
      requireSignedAssertion: true,
      requireSignedResponse: false,
      metadataUrl: null,
    },
    now,
  );
  for (let i = 0; i < users; i++) {
    const u = benchUser(i);
    await store.users.create(
      {
        accountId: account.id,
        username: `user${i}`,
        email: u.mail!,
        ssoId: null,
        role: "user",
        passwordHash: null,
        totpSecret: null,
        breakGlass: false,
        mustChangePassword: false,
        disabled: false,
      },
      now,
    );
  }
}

async function freshStore(kind: "sqlite" | "postgres", key: IdpKey, users: number) {
  let choice: StoreChoice;
  let store: Store;
  if (kind === "sqlite") {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-bench-"));
    choice = { kind, dir, path: join(dir, "gatehouse.db") };
    store = await openSqliteStore(choice.path);
  } else {
    const url = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
    choice = { kind, url, schema: `bench_${randomUUID().replaceAll("-", "").slice(0, 16)}` };
    store = await openPostgresStore(url, { schema: choice.schema });
  }
  await seed(store, key, users);
  await store.close();
  return choice;
}

interface StoreFacts {
  readonly sessions: number;
  readonly successes: number;
  readonly failures: Record<string, number>;
}

/** What the server recorded: sessions made, login audit events by outcome and reason. */
async function storeFacts(choice: StoreChoice): Promise<StoreFacts> {
  const q1 = "SELECT count(*) AS n FROM sessions";
  const q2 =
    "SELECT outcome, reason, count(*) AS n FROM audit_events WHERE type = 'login.sso' GROUP BY outcome, reason";
  let sessions: number;
  let rows: { outcome: string; reason: string | null; n: unknown }[];
  if (choice.kind === "sqlite") {
    const db = new DatabaseSync(choice.path, { readOnly: true });
    sessions = Number((db.prepare(q1).get() as { n: number }).n);
    rows = db.prepare(q2).all() as typeof rows;
    db.close();
  } else {
    const client = new pg.Client({
      connectionString: choice.url,
      options: `-c search_path=${choice.schema}`,
    });
    await client.connect();
    sessions = Number((await client.query(q1)).rows[0].n);
    rows = (await client.query(q2)).rows;
    await client.end();
  }
  let successes = 0;
  const failures: Record<string, number> = {};
  for (const r of rows) {
    if (r.outcome === "success") successes += Number(r.n);
    else failures[r.reason ?? "?"] = (failures[r.reason ?? "?"] ?? 0) + Number(r.n);
  }
  return { sessions, successes, failures };
}

async function dropStore(choice: StoreChoice): Promise<void> {
  if (choice.kind === "sqlite") {
    rmSync(choice.dir, { recursive: true, force: true });
    return;
  }
  const client = new pg.Client({ connectionString: choice.url });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS ${choice.schema} CASCADE`);
  await client.end();
}

// ---------------------------------------------------------------------------------------------
// Server process.

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

interface RunningServer {
  readonly port: number;
  /** Starts the count of the server's CPU time (the timed run begins). */
  mark(): void;
  /** Stops the server; its workers' CPU time since mark(), in microseconds. */
  stop(): Promise<number>;
}

async function startServer(
  config: Omit<ServerConfig, "port">,
  profileDir: string | undefined,
): Promise<RunningServer> {
  const port = await freePort();
  const execArgv = [...process.execArgv.filter((a) => !a.startsWith("--cpu-prof"))];
  if (profileDir !== undefined) execArgv.push("--cpu-prof", `--cpu-prof-dir=${profileDir}`);
  const child: ChildProcess = fork(
    join(import.meta.dirname, "http-server.ts"),
    [JSON.stringify({ ...config, port })],
    { execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  await new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`server exited with ${code}`)));
    child.on("message", (m: unknown) => {
      if (m === "ready") resolve();
      else if (typeof m === "object" && m !== null && "failed" in m)
        reject(new Error(`server failed: ${(m as { failed: string }).failed}`));
    });
  });
  let cpuMicros = Number.NaN;
  child.on("message", (m: unknown) => {
    if (typeof m === "object" && m !== null && "cpu" in m) {
      const c = (m as { cpu: { user: number; system: number } }).cpu;
      cpuMicros = c.user + c.system;
    }
  });
  return {
    port,
    mark: () => child.send("mark"),
    async stop() {
      child.removeAllListeners("exit");
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.send("stop");
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
      return cpuMicros;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Load.

interface LoadResult {
  readonly seconds: number;
  /** Completed logins: a 303 carrying a session cookie. */
  readonly logins: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly statusCounts: Record<string, number>;
  /** Socket errors and timeouts. */
  readonly errors: number;
  /** Responses that were not the expected 302/303 with the expected cookie. */
  readonly unexpected: number;
  readonly poolExhausted: boolean;
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };

function statusCounts(result: autocannon.Result): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {}))
    out[code] = Number((s as { count: number | string }).count);
  return out;
}

function setCookieOf(headers: Record<string, unknown>, name: string): string | undefined {
  const raw = headers["set-cookie"] ?? headers["Set-Cookie"];
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  for (const c of list) {
    const m = new RegExp(`^${name}=([^;]+)`).exec(String(c));
    if (m !== null) return m[1];
  }
  return undefined;
}

/** IdP-initiated POSTs to the ACS, each with the next response of the pool. */
async function loadAcs(
  port: number,
  pool: readonly Buffer[],
  cursor: { i: number },
  seconds: number,
  connections: number,
): Promise<LoadResult> {
  let logins = 0;
  let unexpected = 0;
  let exhausted = false;
  let instance: autocannon.Instance | undefined;
  instance = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [
      {
        method: "POST",
        path: ACS_PATH,
        headers: FORM,
        setupRequest: (req) => {
          if (cursor.i >= pool.length) {
            if (!exhausted) {
              exhausted = true;
              instance?.stop();
            }
            // Never a replay: the rest of this run re-posts nothing new; stop() ends it.
            return { ...req, method: "GET", path: "/healthz", body: Buffer.alloc(0) };
          }
          return { ...req, body: pool[cursor.i++]! };
        },
        onResponse: (status, _body, _context, headers) => {
          if (status === 303 && setCookieOf(headers, "gh_session") !== undefined) logins++;
          else if (status !== 200) unexpected++;
        },
      },
    ],
  });
  const result = await instance!;
  return {
    seconds: result.duration,
    logins,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    statusCounts: statusCounts(result),
    errors: result.errors + result.timeouts,
    unexpected,
    poolExhausted: exhausted,
  };
}

/**
 * The whole login per iteration: GET /api/auth/saml/login, then the ACS POST answering that
 * request (signed here, once its ID is known) with the login-request cookie.
 */
async function loadLogin(
  port: number,
  key: IdpKey,
  users: number,
  seconds: number,
  connections: number,
): Promise<LoadResult & { readonly signMs: number }> {
  let logins = 0;
  let unexpected = 0;
  let user = 0;
  let signNs = 0n;
  let signed = 0;
  const latency = new Timings();
  const hr = process.hrtime.bigint;
  const instance = autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [
      {
        method: "GET",
        path: `/api/auth/saml/login?account=${ACCOUNT}`,
        setupRequest: (req, context) => {
          context.t0 = hr();
          context.sign = 0n;
          return req;
        },
        onResponse: (status, _body, context, headers) => {
          const cookie = status === 302 ? setCookieOf(headers, "gh_saml_req") : undefined;
          if (cookie === undefined) unexpected++;
          context.cookie = cookie;
        },
      },
      {
        method: "POST",
        path: ACS_PATH,
        setupRequest: (req, context) => {
          const cookie = context.cookie as string | undefined;
          if (cookie === undefined) return undefined as never; // start over with a new GET
          const t = hr();
          const requestId = decodeURIComponent(cookie).split("~")[0]!;
          const body = formBody(signedResponse(key, user++ % users, new Date(), requestId));
          const spent = hr() - t;
          context.sign = spent;
          signNs += spent;
          signed++;
          return {
            ...req,
            headers: { ...FORM, cookie: `gh_saml_req=${cookie}` },
            body,
          };
        },
        onResponse: (status, _body, context, headers) => {
          if (status === 303 && setCookieOf(headers, "gh_session") !== undefined) {
            logins++;
            const elapsed = hr() - (context.t0 as bigint) - (context.sign as bigint);
            latency.add(Number(elapsed) / 1000);
          } else unexpected++;
        },
      },
    ],
  });
  const result = await instance;
  latency.addElapsed(result.duration);
  const s = latency.summary();
  return {
    seconds: result.duration,
    logins,
    p50: s.p50 / 1000,
    p99: s.p99 / 1000,
    requests: result.requests.total,
    statusCounts: statusCounts(result),
    errors: result.errors + result.timeouts,
    unexpected,
    poolExhausted: false,
    signMs: signed === 0 ? 0 : Number(signNs) / signed / 1e6,
  };
}

// ---------------------------------------------------------------------------------------------
// Cases and report.

interface Case {
  readonly id: string;
  readonly scenario: "acs" | "login";
  readonly server: "gatehouse" | "node-saml";
  readonly store: "sqlite" | "postgres" | null;
  readonly workers: number;
}

const ALL_CASES: readonly Case[] = [
  { id: "acs-sqlite-1", scenario: "acs", server: "gatehouse", store: "sqlite", workers: 1 },
  { id: "acs-sqlite-2", scenario: "acs", server: "gatehouse", store: "sqlite", workers: 2 },
  { id: "acs-postgres-1", scenario: "acs", server: "gatehouse", store: "postgres", workers: 1 },
  { id: "acs-postgres-2", scenario: "acs", server: "gatehouse", store: "postgres", workers: 2 },
  { id: "node-saml-1", scenario: "acs", server: "node-saml", store: null, workers: 1 },
  { id: "node-saml-2", scenario: "acs", server: "node-saml", store: null, workers: 2 },
  { id: "login-sqlite-1", scenario: "login", server: "gatehouse", store: "sqlite", workers: 1 },
  { id: "login-sqlite-2", scenario: "login", server: "gatehouse", store: "sqlite", workers: 2 },
  { id: "login-postgres-1", scenario: "login", server: "gatehouse", store: "postgres", workers: 1 },
  { id: "login-postgres-2", scenario: "login", server: "gatehouse", store: "postgres", workers: 2 },
];

interface CaseResult {
  readonly case: Case;
  readonly load: LoadResult & { readonly signMs?: number };
  readonly facts?: StoreFacts;
  /** CPU time per completed login, microseconds: the server's workers, and this process. */
  readonly cpu: { readonly serverMicrosPerLogin: number; readonly clientMicrosPerLogin: number };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function main(): Promise<void> {
  const json = process.argv.includes("--json");
  const duration = envNumber("BENCH_DURATION", 10);
  const warmup = envNumber("BENCH_WARMUP", 3);
  const connections = Math.round(envNumber("BENCH_CONNECTIONS", 8));
  const users = Math.round(envNumber("BENCH_USERS", 100));
  const maxRate = envNumber("BENCH_MAX_RATE", 2500);
  const profileDir = process.env.BENCH_PROFILE || undefined;
  const only = (process.env.BENCH_ONLY ?? "").split(",").filter((s) => s !== "");
  const cases = ALL_CASES.filter((c) => only.length === 0 || only.includes(c.id));
  if (cases.length === 0)
    throw new Error(`BENCH_ONLY matches no case: ${ALL_CASES.map((c) => c.id)}`);
  const key = loadIdpKey();

  let pool: Buffer[] = [];
  if (cases.some((c) => c.scenario === "acs")) {
    const size = Math.ceil((duration + warmup) * maxRate);
    const t0 = performance.now();
    pool = await buildPool(size, users, Math.max(1, cpus().length));
    log(
      `signed ${pool.length} distinct responses in ${((performance.now() - t0) / 1000).toFixed(1)} s (${pool[0]!.length} bytes of form each)`,
    );
  }

  const results: CaseResult[] = [];
  for (const c of cases) {
    log(`${c.id}: ${c.workers} worker(s), ${warmup} s warm-up + ${duration} s`);
    const choice = c.store === null ? undefined : await freshStore(c.store, key, users);
    const config: Omit<ServerConfig, "port"> =
      c.server === "gatehouse"
        ? {
            kind: "gatehouse",
            workers: c.workers,
            publicUrl: PUBLIC_URL,
            defaultAccountName: ACCOUNT,
            store:
              choice!.kind === "sqlite"
                ? { kind: "sqlite", path: choice!.path }
                : { kind: "postgres", url: choice!.url, schema: choice!.schema },
          }
        : {
            kind: "node-saml",
            workers: c.workers,
            publicUrl: PUBLIC_URL,
            saml: {
              acsUrl: ACS_URL,
              spEntityId: SP_ENTITY_ID,
              idpEntityId: IDP_ENTITY_ID,
              idpCertPem: key.certificatePem,
            },
          };
    const server = await startServer(
      config,
      profileDir === undefined ? undefined : join(profileDir, c.id),
    );
    let load: CaseResult["load"];
    let clientCpu: NodeJS.CpuUsage;
    let serverCpu: number;
    try {
      const cursor = { i: 0 };
      const run = (seconds: number) =>
        c.scenario === "acs"
          ? loadAcs(server.port, pool, cursor, seconds, connections)
          : loadLogin(server.port, key, users, seconds, connections);
      await run(warmup);
      server.mark();
      const c0 = process.cpuUsage();
      load = await run(duration);
      clientCpu = process.cpuUsage(c0);
    } finally {
      serverCpu = await server.stop();
    }
    const facts = choice === undefined ? undefined : await storeFacts(choice);
    if (choice !== undefined) await dropStore(choice);
    const cpu = {
      serverMicrosPerLogin: serverCpu / load.logins,
      clientMicrosPerLogin: (clientCpu.user + clientCpu.system) / load.logins,
    };
    results.push({ case: c, load, cpu, ...(facts === undefined ? {} : { facts }) });
    log(
      `  ${fmt(load.logins / load.seconds)} logins/s, p50 ${load.p50.toFixed(2)} ms, p99 ${load.p99.toFixed(2)} ms, status ${JSON.stringify(load.statusCounts)}, errors ${load.errors}, unexpected ${load.unexpected}${facts === undefined ? "" : `, failures recorded ${JSON.stringify(facts.failures)}`}, server CPU ${cpu.serverMicrosPerLogin.toFixed(0)} µs/login, client CPU ${cpu.clientMicrosPerLogin.toFixed(0)} µs/login`,
    );
  }

  if (json) {
    process.stdout.write(
      `${JSON.stringify({ duration, warmup, connections, users, results }, null, 2)}\n`,
    );
    return;
  }
  process.stdout.write(report(results, { duration, warmup, connections, users }));
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

function report(
  results: readonly CaseResult[],
  o: { duration: number; warmup: number; connections: number; users: number },
): string {
  const lines: string[] = [];
  lines.push(
    `Node ${process.version}, ${cpus()[0]?.model ?? "?"} x ${cpus().length}; server in its own process (cluster workers on 127.0.0.1), autocannon in another, ${o.connections} connections, ${o.warmup} s warm-up then ${o.duration} s per run; Entra-shaped responses with ${GROUPS} groups (Assertion signed, RSA-SHA256), ${o.users} users; a fresh database per run.`,
    "",
  );
  lines.push(
    "| case | server | store | workers | logins/s | p50 ms | p99 ms | server CPU µs/login | client CPU µs/login | logins (303 + session cookie) | errors | other statuses | failures audited |",
    "| ---- | ------ | ----- | ------: | -------: | -----: | -----: | ------------------: | ------------------: | ----------------------------: | -----: | -------------- | ---------------: |",
  );
  for (const r of results) {
    const l = r.load;
    const other = Object.entries(l.statusCounts)
      .filter(([code]) => code !== "303" && code !== "302" && !(l.poolExhausted && code === "200"))
      .map(([code, n]) => `${code}: ${fmt(n)}`)
      .join(", ");
    const failures =
      r.facts === undefined ? "" : fmt(Object.values(r.facts.failures).reduce((a, b) => a + b, 0));
    const what = r.case.scenario === "acs" ? "ACS alone" : "whole login (GET + POST)";
    lines.push(
      `| ${what}${l.poolExhausted ? " ²" : ""} | ${r.case.server === "gatehouse" ? "Gatehouse" : "node-saml (bare node:http)"} | ${r.case.store ?? "none"} | ${r.case.workers} | ${fmt(l.logins / l.seconds)} | ${l.p50.toFixed(2)} | ${l.p99.toFixed(2)} | ${fmt(r.cpu.serverMicrosPerLogin)} | ${fmt(r.cpu.clientMicrosPerLogin)} | ${fmt(l.logins)} | ${l.errors + l.unexpected} | ${other || "none"} | ${failures} |`,
    );
  }
  lines.push("");
  const signMs = results.find((r) => r.load.signMs !== undefined)?.load.signMs;
  if (signMs !== undefined)
    lines.push(
      `Whole login: the client signs each response inline once the request ID is known (${signMs.toFixed(2)} ms of the client's CPU per login, on the same two cores as the server); the latency is GET + POST minus that signing.`,
    );
  if (results.some((r) => r.load.poolExhausted))
    lines.push(
      "² the pool of signed responses ran out: the run stopped early (raise BENCH_MAX_RATE).",
    );
  const best = (store: string, server = "gatehouse") =>
    results
      .filter(
        (r) =>
          r.case.scenario === "acs" &&
          r.case.server === server &&
          (r.case.store ?? "none") === store,
      )
      .sort((a, b) => b.load.logins / b.load.seconds - a.load.logins / a.load.seconds)[0];
  const sqlite = best("sqlite");
  const postgres = best("postgres");
  const nodeSaml = best("none", "node-saml");
  const rate = (r: CaseResult) => r.load.logins / r.load.seconds;
  if (sqlite !== undefined) {
    const ok = rate(sqlite) >= 2000 && sqlite.load.p99 < 25;
    lines.push(
      `Target (ACS alone on SQLite: 2,000 logins/s with p99 under 25 ms): ${ok ? "met" : "MISSED"} (${fmt(rate(sqlite))}/s, p99 ${sqlite.load.p99.toFixed(2)} ms, ${sqlite.case.workers} worker(s)).`,
    );
  }
  if (sqlite !== undefined && postgres !== undefined)
    lines.push(
      `PostgreSQL / SQLite (best of each, ACS alone): ${(rate(postgres) / rate(sqlite)).toFixed(2)}×.`,
    );
  if (sqlite !== undefined && nodeSaml !== undefined)
    lines.push(
      `Gatehouse (SQLite, ${sqlite.case.workers} worker(s)) / node-saml (${nodeSaml.case.workers} worker(s)), ACS alone, same run: ${(rate(sqlite) / rate(nodeSaml)).toFixed(1)}×.`,
    );
  const errors = results.reduce((a, r) => a + r.load.errors + r.load.unexpected, 0);
  lines.push(`Errors over every run: ${fmt(errors)}.`, "");
  return `${lines.join("\n")}\n`;
}

// Last, once every declaration above is initialised: a pool worker thread, or the benchmark.
if (!isMainThread) poolWorker(workerData as PoolJob);
else await main();

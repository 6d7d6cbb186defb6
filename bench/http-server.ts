/**
 * The server side of bench/http-login.ts, in its own process so its CPU is its own: Gatehouse
 * (buildApp on SQLite or PostgreSQL) or a bare node:http endpoint calling @node-saml/node-saml,
 * on 127.0.0.1, with `workers` cluster workers sharing the port.
 *
 *   node bench/http-server.ts <config JSON>
 *
 * The primary forks the workers and tells its parent (IPC) "ready" once every worker listens;
 * on "stop" (or SIGTERM) each worker closes its server and store and exits normally, so a
 * worker started with --cpu-prof writes its profile.
 */

import cluster from "node:cluster";
import { createServer } from "node:http";
import { SAML, ValidateInResponseTo } from "@node-saml/node-saml";
import type { Store } from "../src/domain/store.ts";
import { buildApp } from "../src/http/app.ts";
import { openPostgresStore } from "../src/store/postgres.ts";
import { openSqliteStore } from "../src/store/sqlite.ts";

export interface ServerConfig {
  readonly kind: "gatehouse" | "node-saml";
  readonly port: number;
  readonly workers: number;
  /** Gatehouse: where the (already seeded) store is. */
  readonly store?:
    | { readonly kind: "sqlite"; readonly path: string }
    | { readonly kind: "postgres"; readonly url: string; readonly schema: string };
  readonly publicUrl: string;
  readonly defaultAccountName?: string;
  /** node-saml: what the connection would hold. */
  readonly saml?: {
    readonly acsUrl: string;
    readonly spEntityId: string;
    readonly idpEntityId: string;
    readonly idpCertPem: string;
  };
}

const config = JSON.parse(process.argv[2] ?? "{}") as ServerConfig;
/** A worker's exit: its CPU time since "mark" to the primary, then exit. */
let exitWithReport = (): void => process.exit(0);

if (cluster.isPrimary) {
  let listening = 0;
  const cpu = { user: 0, system: 0 };
  for (let i = 0; i < config.workers; i++) {
    const worker = cluster.fork();
    worker.on("message", (m: unknown) => {
      if (m === "listening" && ++listening === config.workers) process.send?.("ready");
      if (typeof m === "object" && m !== null && "cpu" in m) {
        const c = (m as { cpu: NodeJS.CpuUsage }).cpu;
        cpu.user += c.user;
        cpu.system += c.system;
      }
      if (typeof m === "object" && m !== null && "failed" in m) {
        process.send?.(m);
        process.exit(1);
      }
    });
  }
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.send("stop");
  };
  process.on("message", (m) => {
    if (m === "stop") stop();
    if (m === "mark") for (const w of Object.values(cluster.workers ?? {})) w?.send("mark");
  });
  process.on("SIGTERM", stop);
  let exited = 0;
  cluster.on("exit", () => {
    if (++exited < config.workers) return;
    // The workers' CPU time since "mark" (the timed run), summed: the server's cost of the load.
    process.send?.({ cpu }, () => process.exit(0));
  });
} else {
  // CPU time of this worker since the parent's "mark", reported when it stops.
  let mark = process.cpuUsage();
  process.on("message", (m) => {
    if (m === "mark") mark = process.cpuUsage();
  });
  exitWithReport = () => process.send?.({ cpu: process.cpuUsage(mark) }, () => process.exit(0));
  try {
    await (config.kind === "gatehouse" ? gatehouseWorker() : nodeSamlWorker());
  } catch (error) {
    process.send?.({ failed: String((error as Error).stack ?? error) });
    process.exit(1);
  }
}

async function gatehouseWorker(): Promise<void> {
  const s = config.store!;
  const store: Store =
    s.kind === "sqlite"
      ? await openSqliteStore(s.path)
      : await openPostgresStore(s.url, { schema: s.schema });
  const app = await buildApp({
    store,
    mailer: { send: async () => undefined },
    publicUrl: config.publicUrl,
    adminToken: "bench-admin-token-0123456789abcdef0123456789",
    sessions: { idleMinutes: 30, absoluteHours: 8 },
    loginRequestTtlMinutes: 10,
    clockSkewSeconds: 180,
    ...(config.defaultAccountName === undefined
      ? {}
      : { defaultAccountName: config.defaultAccountName }),
    now: () => new Date(),
    logger: false,
  });
  await app.listen({ host: "127.0.0.1", port: config.port });
  process.send?.("listening");
  process.on("message", async (m) => {
    if (m !== "stop") return;
    await app.close();
    await store.close();
    exitWithReport();
  });
}

/**
 * The peer: node-saml behind the barest endpoint (no framework, no store, no session): read the
 * form, validate, answer 303 with a cookie, or 400.
 */
async function nodeSamlWorker(): Promise<void> {
  const c = config.saml!;
  const saml = new SAML({
    callbackUrl: c.acsUrl,
    idpCert: c.idpCertPem,
    issuer: c.spEntityId,
    audience: c.spEntityId,
    idpIssuer: c.idpEntityId,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: false,
    acceptedClockSkewMs: 180_000,
    validateInResponseTo: ValidateInResponseTo.never,
  });
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      try {
        const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
        const { profile } = await saml.validatePostResponseAsync({
          SAMLResponse: form.get("SAMLResponse") ?? "",
        });
        if (profile === null) throw new Error("no profile");
        res.writeHead(303, {
          location: "/dashboard",
          "set-cookie": `gh_session=${encodeURIComponent(profile.nameID)}; Path=/; HttpOnly`,
        });
        res.end();
      } catch {
        res.writeHead(400, { "content-type": "text/plain" });
        res.end("refused");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(config.port, "127.0.0.1", resolve));
  process.send?.("listening");
  process.on("message", (m) => {
    if (m !== "stop") return;
    server.close(() => exitWithReport());
    server.closeAllConnections();
  });
}

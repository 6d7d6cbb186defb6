/** `gatehouse start`: the web server, wired from the configuration. */

import { dirname, join } from "node:path";
import { redacted } from "../../config/load.ts";
import type { Config } from "../../config/schema.ts";
import { refreshAllMetadata } from "../../domain/metadata-refresh.ts";
import type { Store } from "../../domain/store.ts";
import { buildApp, type RoutePlugin } from "../../http/app.ts";
import { fetchMetadata } from "../../http/routes/admin-shared.ts";
import { createMailer } from "../../mail/mailer.ts";
import { type CliIo, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, parseCommandLine } from "../command.ts";
import {
  DEMO_DEFAULT_ACCOUNT,
  type DemoSeed,
  demoRoutes,
  demoSetupLink,
  seedDemo,
} from "../demo.ts";
import {
  adminCommand,
  appDeps,
  applySingleServer,
  configOrExit,
  describeMail,
  describeStore,
  openStore,
} from "../service.ts";

export const usage = `Usage: gatehouse start

Starts Gatehouse on HOST:PORT with the configuration from the environment and ./.env (see
'gatehouse check-config'). In demo mode (the default outside NODE_ENV=production) it also seeds
the demo accounts and mounts the mock IdP, and prints what to try. When SAML_ENTRYPOINT and
SAML_CERT are set, the default account's connection is brought up to date first, as
'gatehouse init' does. Stops cleanly on SIGINT (Ctrl-C) or SIGTERM.

exit 0 stopped by a signal, 1 could not serve (port in use, store unreachable), 2 configuration
problems (all listed)
`;

/**
 * Sessions that expired are ended (and the apps told), and expired login requests, replay-cache
 * entries and old sessions deleted, this often.
 */
const SWEEP_INTERVAL_MS = 10 * 60_000;
/** Connections with a metadata URL are refreshed this often. */
const METADATA_REFRESH_INTERVAL_MS = 6 * 3_600_000;

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  parseCommandLine(args, {});
  return adminCommand("start", io, {}, async () => {
    const config = configOrExit(io, EXIT_USAGE);
    for (const w of config.warnings) io.stderr(`warning: ${w}\n`);
    const store = await openStore(config);
    const mailer = createMailer(config.mail, { now: io.now });
    const stopAll = async () => {
      await store.close();
      mailer.close();
    };
    try {
      const prepared = await prepare(config, store, io);
      const app = await buildApp(
        appDeps(config, store, mailer, prepared.defaultAccountName),
        prepared.routes,
      );
      app.log.debug({ config: redacted(config) }, "configuration");
      try {
        await app.listen({ host: config.host, port: config.port });
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        await app.close();
        await stopAll();
        io.stderr(
          code === "EADDRINUSE"
            ? `gatehouse start: PORT: ${config.host}:${config.port} is already in use; stop the other server or set PORT to a free port.\n`
            : code === "EADDRNOTAVAIL"
              ? `gatehouse start: HOST: ${config.host} is not an address of this machine; use 127.0.0.1 or 0.0.0.0.\n`
              : `gatehouse start: cannot listen on ${config.host}:${config.port} (${(e as Error).message}).\n`,
        );
        return EXIT_REFUSED;
      }

      // Expired sessions end here (the apps signed in with them get back-channel logout), then
      // expired records are deleted.
      const sweep = () =>
        app.sweep(io.now()).catch((e: unknown) => app.log.error({ err: e }, "sweep failed"));
      void sweep();
      const timer = setInterval(sweep, SWEEP_INTERVAL_MS);
      timer.unref();
      // Certificates follow the IdP's published metadata, so a rotation at Entra is seen before
      // Entra signs with the new certificate (connections created from a metadata URL only).
      const refresh = () =>
        refreshAllMetadata(store, fetchMetadata, io.now()).catch((e: unknown) =>
          app.log.error({ err: e }, "metadata refresh failed"),
        );
      const refreshTimer = setInterval(refresh, METADATA_REFRESH_INTERVAL_MS);
      refreshTimer.unref();

      io.stdout(banner(config, prepared));

      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        const on = (s: NodeJS.Signals) => {
          process.off("SIGINT", on);
          process.off("SIGTERM", on);
          resolve(s);
        };
        process.on("SIGINT", on);
        process.on("SIGTERM", on);
      });
      io.stdout(`\n${signal}: stopping Gatehouse...\n`);
      clearInterval(timer);
      clearInterval(refreshTimer);
      await app.close();
      await stopAll();
      io.stdout("Stopped.\n");
      return EXIT_OK;
    } catch (e) {
      await stopAll();
      throw e;
    }
  });
}

interface Prepared {
  readonly routes: RoutePlugin[];
  readonly defaultAccountName: string;
  readonly demo?: DemoSeed;
  /** The demo-setup account's setup link, made at each start (its token is shown once). */
  readonly demoSetupUrl?: string;
  readonly singleServer: readonly string[];
}

async function prepare(config: Config, store: Store, io: CliIo): Promise<Prepared> {
  const routes: RoutePlugin[] = [];
  const singleServer: string[] = [];
  let demo: DemoSeed | undefined;
  let demoSetupUrl: string | undefined;
  if (config.mockIdp) {
    const dataDir =
      config.database.kind === "sqlite" && config.database.path !== ":memory:"
        ? dirname(config.database.path)
        : join(process.cwd(), "data");
    demo = await seedDemo(store, {
      publicUrl: config.publicUrl,
      now: io.now,
      dataDir,
      warn: (m) => io.stderr(`warning: ${m}\n`),
    });
    routes.push(demoRoutes(demo.mockIdpOptions));
    demoSetupUrl = await demoSetupLink(store, config.publicUrl, io.now());
  }
  if (config.saml !== undefined) {
    const r = await applySingleServer(store, config, config.saml, io.now(), { reactivate: false });
    singleServer.push(
      ...(r.changes.length === 0
        ? [`account "${r.account.name}": connection ${r.connection.id} is as configured`]
        : r.changes),
      ...r.notes,
    );
  }
  // The "Login with SAML" button: the single-server account when configured, else the demo's.
  const defaultAccountName =
    config.saml === undefined && demo !== undefined ? DEMO_DEFAULT_ACCOUNT : config.defaultAccount;
  return {
    routes,
    defaultAccountName,
    ...(demo === undefined ? {} : { demo }),
    ...(demoSetupUrl === undefined ? {} : { demoSetupUrl }),
    singleServer,
  };
}

function banner(config: Config, p: Prepared): string {
  const lines = [
    "",
    `Gatehouse is running: open ${config.loginUrl}`,
    "",
    `  Mode:       ${config.mode}${config.mockIdp ? " (mock IdP mounted)" : ""}`,
    `  Listening:  ${config.host}:${config.port}`,
    `  Store:      ${describeStore(config)}`,
    `  Mail:       ${describeMail(config)}`,
    `  Admin:      ${config.publicUrl}/admin`,
  ];
  if (config.adminTokenGenerated)
    lines.push(
      `  Admin token (generated for this run; set ADMIN_TOKEN to keep one): ${config.adminToken}`,
    );
  if (p.singleServer.length > 0) {
    lines.push("", "Single-server setup (SAML_*):", ...p.singleServer.map((l) => `  ${l}`));
  }
  if (p.demo !== undefined) lines.push("", p.demo.summary);
  if (p.demoSetupUrl !== undefined) lines.push(`  ${p.demoSetupUrl}`);
  lines.push("", "Stop with Ctrl-C.", "");
  return `${lines.join("\n")}\n`;
}

// Browser tests: the real app on 127.0.0.1 (a temp SQLite store, the demo seed, the mock IdP
// mounted as in demo mode) and Debian's Chromium driven by playwright-core. One app and one
// browser per test file; a fresh browser context (cookies, storage) per test.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import {
  DEMO_DEFAULT_ACCOUNT,
  type DemoSeed,
  demoRoutes,
  MOCK_IDP_PASSWORD,
  seedDemo,
} from "../../src/cli/demo.ts";
import type { AuditEvent } from "../../src/domain/model.ts";
import type { Store } from "../../src/domain/store.ts";
import { buildApp } from "../../src/http/app.ts";
import type { MailMessage } from "../../src/http/deps.ts";
import { openSqliteStore } from "../../src/store/sqlite.ts";

const root = join(import.meta.dirname, "../..");
export const SCREENSHOTS = join(root, "test-results/screenshots");
export const LOGIN_REQUEST_TTL_MINUTES = 10;
/** The demo server's admin token (the /admin sign-in and the admin API's bearer token). */
export const ADMIN_TOKEN = "browser-test-admin-token-0123456789abcdef";

export interface DemoServer {
  readonly app: FastifyInstance;
  readonly store: Store;
  readonly publicUrl: string;
  readonly seed: DemoSeed;
  readonly mail: MailMessage[];
  /** Moves the app's (and the mock IdP's) clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export async function startDemoServer(): Promise<DemoServer> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-browser-"));
  const store = await openSqliteStore(join(dir, "gatehouse.db"));
  let offsetMs = 0;
  const now = () => new Date(Date.now() + offsetMs);
  // The mock IdP's URLs (and so the app's) need the port before the app is built.
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const seed = await seedDemo(store, { publicUrl, now, dataDir: dir, warn: () => {} });
  const mail: MailMessage[] = [];
  const app = await buildApp(
    {
      store,
      mailer: { send: async (m) => void mail.push(m) },
      publicUrl,
      adminToken: ADMIN_TOKEN,
      sessions: { idleMinutes: 30, absoluteHours: 8 },
      loginRequestTtlMinutes: LOGIN_REQUEST_TTL_MINUTES,
      clockSkewSeconds: 180,
      defaultAccountName: DEMO_DEFAULT_ACCOUNT,
      now,
    },
    [demoRoutes(seed.mockIdpOptions)],
  );
  await app.listen({ host: "127.0.0.1", port });
  return {
    app,
    store,
    publicUrl,
    seed,
    mail,
    advance(ms) {
      offsetMs += ms;
    },
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    // playwright-core gives every launch a fresh temporary profile (user-data dir).
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A fresh context (no cookies) and page at 1366x768 on the demo server. */
export async function newPage(
  browser: Browser,
  server: DemoServer,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({
    baseURL: server.publicUrl,
    viewport: { width: 1366, height: 768 },
  });
  // Generous for a loaded 2-core machine; a passing run takes a fraction of it.
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  return { context, page };
}

/** The whole page, or (fullPage false) what the 1366x768 viewport shows first. */
export async function screenshot(page: Page, name: string, fullPage = true): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}

/** At the mock IdP's sign-in page: types the username (unless prefilled) and the password. */
export async function signInAtMockIdp(
  page: Page,
  username?: string,
  password = MOCK_IDP_PASSWORD,
): Promise<void> {
  await page.waitForURL(/\/mock-idp\//);
  if (username !== undefined) await page.getByLabel("Email or username").fill(username);
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** "Log in with SSO" from the login page, up to the IdP (or to Gatehouse's answer). */
export async function startSso(page: Page, email: string, account?: string): Promise<void> {
  await page.goto("/login");
  await page.getByRole("link", { name: "Log in with SSO" }).click();
  await page.getByLabel("Work email").fill(email);
  await page.getByRole("button", { name: "Continue" }).click();
  if (account !== undefined) {
    // The account name field appears when the email is in several accounts.
    await page.getByLabel("Account name").fill(account);
    await page.getByRole("button", { name: "Continue" }).click();
  }
}

/** The newest audit event of a type. */
export async function lastEvent(store: Store, type: string): Promise<AuditEvent> {
  const [event] = await store.audit.query({ type, limit: 1 });
  if (event === undefined) throw new Error(`no audit event of type ${type}`);
  return event;
}

/** The reference ID an error page shows. */
export async function shownReference(page: Page): Promise<string> {
  const text = await page.locator(".ref .mono").first().textContent();
  if (text === null || text.trim() === "") throw new Error("no reference on the page");
  return text.trim();
}

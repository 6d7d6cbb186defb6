// A Gatehouse app on a temp SQLite store, with an Entra-like connection whose IdP key is a test
// key, so tests can mint responses with the mock IdP's builder and post them to the ACS.
import { createPrivateKey, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import {
  type Account,
  type AccountSettings,
  type Connection,
  DEFAULT_ACCOUNT_SETTINGS,
} from "../../src/domain/model.ts";
import type { Store } from "../../src/domain/store.ts";
import { buildApp, type RoutePlugin } from "../../src/http/app.ts";
import type { AppDeps, MailMessage } from "../../src/http/deps.ts";
import {
  buildEntraResponse,
  type MockResponseOptions,
  type MockUser,
} from "../../src/mock-idp/response.ts";
import { readCertificate } from "../../src/saml/certs.ts";
import { decodeRedirectMessage } from "../../src/saml/redirect.ts";
import { parseXml } from "../../src/saml/xml/parse.ts";
import { openSqliteStore } from "../../src/store/sqlite.ts";

const keys = join(import.meta.dirname, "../fixtures/keys");
export const IDP_KEY: KeyObject = createPrivateKey(readFileSync(join(keys, "idp-rsa.key")));
export const IDP_CERT = readCertificate(readFileSync(join(keys, "idp-rsa.crt"), "utf8"));
export const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const PUBLIC_URL = "http://localhost:3000";
export const ACS_URL = `${PUBLIC_URL}/api/auth/saml/callback`;
export const SP_ENTITY_ID = "https://gatehouse.test/sp";
export const IDP_ENTITY_ID = `https://sts.windows.net/${TENANT}/`;
export const IDP_SSO_URL = `https://login.microsoftonline.com/${TENANT}/saml2`;

export interface Harness {
  app: FastifyInstance;
  store: Store;
  account: Account;
  connection: Connection;
  mail: MailMessage[];
  clock: { now: Date };
  close(): Promise<void>;
}

export async function harness(
  settings: Partial<AccountSettings> = {},
  extraRoutes: readonly RoutePlugin[] = [],
  deps: Partial<AppDeps> = {},
): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), "gatehouse-http-"));
  const store = await openSqliteStore(join(dir, "test.db"));
  const clock = { now: new Date("2026-11-22T09:00:00.000Z") };
  const account = await store.accounts.create(
    {
      name: "contoso",
      displayName: "Contoso Ltd",
      settings: {
        ...DEFAULT_ACCOUNT_SETTINGS,
        samlLogin: { admin: true, supervisor: true, agent: true, user: true },
        ...settings,
      },
    },
    clock.now,
  );
  const connection = await store.connections.create(
    {
      accountId: account.id,
      name: "Entra",
      active: true,
      idpEntityId: IDP_ENTITY_ID,
      ssoUrl: IDP_SSO_URL,
      sloUrl: IDP_SSO_URL,
      certificates: [IDP_CERT.base64],
      spEntityId: SP_ENTITY_ID,
      acsUrl: ACS_URL,
      allowSha1: false,
      signRequests: false,
      requireSignedAssertion: false,
      requireSignedResponse: false,
      metadataUrl: null,
    },
    clock.now,
  );
  const mail: MailMessage[] = [];
  const app = await buildApp(
    {
      store,
      mailer: { send: async (m) => void mail.push(m) },
      publicUrl: PUBLIC_URL,
      adminToken: "test-admin-token-0123456789abcdef0123456789",
      sessions: { idleMinutes: 30, absoluteHours: 8 },
      loginRequestTtlMinutes: 10,
      clockSkewSeconds: 180,
      defaultAccountName: "contoso",
      now: () => clock.now,
      ...deps,
    },
    extraRoutes,
  );
  return {
    app,
    store,
    account,
    connection,
    mail,
    clock,
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function addUser(
  h: Harness,
  username: string,
  email: string,
  extra: Partial<Parameters<Store["users"]["create"]>[0]> = {},
) {
  return h.store.users.create(
    {
      accountId: h.account.id,
      username,
      email,
      ssoId: null,
      role: "user",
      passwordHash: null,
      totpSecret: null,
      breakGlass: false,
      mustChangePassword: false,
      disabled: false,
      ...extra,
    },
    h.clock.now,
  );
}

/** Cookies from a response's Set-Cookie headers, as a Cookie header value. */
export function cookiesOf(
  res: { cookies: { name: string; value: string }[] },
  jar: Record<string, string> = {},
): Record<string, string> {
  for (const c of res.cookies) {
    if (c.value === "") delete jar[c.name];
    else jar[c.name] = c.value;
  }
  return jar;
}

export function cookieHeader(jar: Record<string, string>): string {
  return Object.entries(jar)
    .map(([k, v]) => `${k}=${v}`)
    .join("; ");
}

/** Starts SP-initiated login; returns the AuthnRequest ID and the cookie jar. */
export async function startLogin(h: Harness, query = "") {
  const res = await h.app.inject({ method: "GET", url: `/api/auth/saml/login${query}` });
  if (res.statusCode !== 302) throw new Error(`login start: ${res.statusCode} ${res.body}`);
  const location = new URL(res.headers.location as string);
  const request = parseXml(
    decodeRedirectMessage(location.searchParams.get("SAMLRequest")!, 100_000),
  );
  const id = request.attributes.find((a) => a.local === "ID")!.value;
  return { id, location, jar: cookiesOf(res) };
}

export function entraResponse(
  user: MockUser,
  o: Partial<MockResponseOptions> & { now: Date },
): string {
  const xml = buildEntraResponse({
    tenantId: TENANT,
    user,
    acsUrl: ACS_URL,
    audience: SP_ENTITY_ID,
    signingKey: IDP_KEY,
    signingCertificate: IDP_CERT.base64,
    ...o,
  });
  return Buffer.from(xml).toString("base64");
}

export async function postAcs(
  h: Harness,
  samlResponse: string,
  jar: Record<string, string>,
  relayState?: string,
) {
  const form = new URLSearchParams({
    SAMLResponse: samlResponse,
    ...(relayState === undefined ? {} : { RelayState: relayState }),
  });
  return h.app.inject({
    method: "POST",
    url: "/api/auth/saml/callback",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookieHeader(jar) },
    payload: form.toString(),
  });
}

/** The admin token harness() configures. */
export const ADMIN_TOKEN = "test-admin-token-0123456789abcdef0123456789";

/** A call to the admin API with the admin token (or the given headers instead). */
export async function adminApi(
  h: Harness,
  method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE",
  url: string,
  payload?: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${ADMIN_TOKEN}` },
) {
  const res = await h.app.inject({
    method,
    url: `/admin/api${url}`,
    headers: {
      ...headers,
      ...(payload === undefined || typeof payload === "string"
        ? {}
        : { "content-type": "application/json" }),
    },
    ...(payload === undefined
      ? {}
      : { payload: typeof payload === "string" ? payload : JSON.stringify(payload) }),
  });
  return { res, status: res.statusCode, json: res.body === "" ? undefined : res.json() };
}

/** The hidden CSRF field of a rendered form. */
export function csrfOf(body: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(body);
  if (m === null) throw new Error("no CSRF field on the page");
  return m[1]!;
}

/** Opens the login page (for its CSRF cookie and field); returns the jar and the token. */
export async function openLoginPage(h: Harness, jar: Record<string, string> = {}) {
  const res = await h.app.inject({
    method: "GET",
    url: "/login",
    headers: { cookie: cookieHeader(jar) },
  });
  if (res.statusCode !== 200) throw new Error(`login page: ${res.statusCode}`);
  cookiesOf(res, jar);
  return { jar, csrf: csrfOf(res.body), body: res.body };
}

/** POSTs a form with the jar's cookies, and keeps the cookies the answer sets. */
export async function postForm(
  h: Harness,
  url: string,
  jar: Record<string, string>,
  fields: Record<string, string>,
) {
  const res = await h.app.inject({
    method: "POST",
    url,
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookieHeader(jar) },
    payload: new URLSearchParams(fields).toString(),
  });
  cookiesOf(res, jar);
  return res;
}

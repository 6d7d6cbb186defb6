/**
 * An app that signs its users in through Gatehouse with OpenID Connect, as a SaaS team's own app
 * would: the authorization code flow with PKCE (openid-client), a page showing who signed in
 * (every claim of the ID token and userinfo), RP-initiated logout, and back-channel logout
 * (OpenID Connect Back-Channel Logout 1.0) ending the app's own session when the Gatehouse
 * session ends: the person logged out elsewhere, the IdP signed them out, or it expired.
 *
 * node:http only, sessions in memory: small enough to read in one sitting. Run it with
 * `npx node examples/app/server.ts` (see README.md); tests start it in-process with startExampleApp.
 */

import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createRemoteJWKSet, jwtVerify } from "jose";
import * as oidc from "openid-client";

export interface ExampleAppOptions {
  /** Gatehouse's issuer: <PUBLIC_URL>/oidc. */
  readonly issuer: string;
  readonly clientId: string;
  /** Null for a public client (PKCE only). */
  readonly clientSecret: string | null;
  /** This app's own base URL, as registered: <appUrl>/callback, <appUrl>/, <appUrl>/backchannel-logout. */
  readonly appUrl: string;
  /** Where to listen (defaults to appUrl's host and port). */
  readonly host?: string;
  readonly port?: number;
}

export interface RunningExampleApp {
  readonly url: string;
  /** Live sessions (for tests and the curious): session ID → who. */
  readonly sessions: ReadonlyMap<string, AppSession>;
  close(): Promise<void>;
}

interface AppSession {
  readonly claims: Record<string, unknown>;
  readonly userinfo: Record<string, unknown>;
  readonly idToken: string;
  readonly sub: string;
  /** Gatehouse's session ID, named again in the logout token. */
  readonly sid: string | undefined;
}

interface PendingLogin {
  readonly codeVerifier: string;
  readonly state: string;
  readonly nonce: string;
  readonly expiresAt: number;
}

const SESSION_COOKIE = "example_session";
const LOGIN_COOKIE = "example_login";
const LOGIN_TTL_MS = 10 * 60_000;
const BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout";

export async function startExampleApp(options: ExampleAppOptions): Promise<RunningExampleApp> {
  const appUrl = options.appUrl.replace(/\/$/, "");
  const issuer = new URL(options.issuer);
  // http is only for a local demo (Gatehouse on http://localhost:3000); openid-client refuses it
  // unless told.
  const insecure = issuer.protocol === "http:";
  const config = await oidc.discovery(
    issuer,
    options.clientId,
    undefined,
    options.clientSecret === null ? oidc.None() : oidc.ClientSecretBasic(options.clientSecret),
    insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
  );
  const metadata = config.serverMetadata();
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri!));

  const sessions = new Map<string, AppSession>();
  const pending = new Map<string, PendingLogin>();
  /** Logout token IDs already acted on (Back-Channel Logout 1.0, 2.6: replay). */
  const seenJtis = new Map<string, number>();

  async function login(_req: IncomingMessage, res: ServerResponse) {
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const login: PendingLogin = {
      codeVerifier,
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      expiresAt: Date.now() + LOGIN_TTL_MS,
    };
    const key = randomBytes(24).toString("base64url");
    pending.set(key, login);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: `${appUrl}/callback`,
      scope: "openid email profile",
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state: login.state,
      nonce: login.nonce,
    });
    setCookie(res, LOGIN_COOKIE, key, LOGIN_TTL_MS / 1000);
    redirect(res, url.href);
  }

  async function callback(req: IncomingMessage, res: ServerResponse) {
    const key = cookies(req)[LOGIN_COOKIE];
    const login = key === undefined ? undefined : pending.get(key);
    if (key !== undefined) pending.delete(key);
    if (login === undefined || login.expiresAt < Date.now()) {
      return page(res, 400, "Sign-in expired", `<p>Start again: <a href="/login">Sign in</a></p>`);
    }
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(config, new URL(req.url!, appUrl), {
        pkceCodeVerifier: login.codeVerifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      return page(
        res,
        400,
        "Sign-in failed",
        `<p>${html((error as Error).message)}</p><p><a href="/login">Try again</a></p>`,
      );
    }
    const claims = { ...tokens.claims()! } as Record<string, unknown>;
    const sub = String(claims.sub);
    const userinfo = (await oidc.fetchUserInfo(config, tokens.access_token, sub)) as Record<
      string,
      unknown
    >;
    const id = randomBytes(24).toString("base64url");
    sessions.set(id, {
      claims,
      userinfo,
      idToken: tokens.id_token!,
      sub,
      sid: typeof claims.sid === "string" ? claims.sid : undefined,
    });
    setCookie(res, LOGIN_COOKIE, "", 0);
    setCookie(res, SESSION_COOKIE, id);
    redirect(res, "/");
  }

  function home(req: IncomingMessage, res: ServerResponse) {
    const session = current(req);
    if (session === undefined) {
      return page(
        res,
        200,
        "Example app",
        `<p id="status">You are signed out.</p>
<p><a href="/login">Sign in with Gatehouse</a></p>`,
      );
    }
    const rows = Object.entries(session.claims)
      .map(
        ([k, v]) => `<tr><th>${html(k)}</th><td><code>${html(JSON.stringify(v))}</code></td></tr>`,
      )
      .join("\n");
    return page(
      res,
      200,
      "Example app",
      `<p id="status">Signed in as <strong>${html(String(session.claims.email ?? session.sub))}</strong>.</p>
<h2>ID token claims</h2>
<table id="claims">${rows}</table>
<h2>Userinfo</h2>
<pre id="userinfo">${html(JSON.stringify(session.userinfo, null, 2))}</pre>
<form method="post" action="/logout"><button type="submit">Log out</button></form>`,
    );
  }

  /** RP-initiated logout: the app's session ends here, Gatehouse's (and the other apps') there. */
  function logout(req: IncomingMessage, res: ServerResponse) {
    const id = cookies(req)[SESSION_COOKIE];
    const session = id === undefined ? undefined : sessions.get(id);
    if (id !== undefined) sessions.delete(id);
    setCookie(res, SESSION_COOKIE, "", 0);
    if (session === undefined) return redirect(res, "/");
    const url = oidc.buildEndSessionUrl(config, {
      id_token_hint: session.idToken,
      post_logout_redirect_uri: `${appUrl}/`,
    });
    redirect(res, url.href);
  }

  /**
   * Back-Channel Logout 1.0, section 2.6: verify the logout token like an ID token (signature
   * from Gatehouse's JWKS, iss, aud, iat), require the back-channel logout event, no nonce, a
   * sid or sub, and refuse a replayed jti; then end the sessions it names.
   */
  async function backchannelLogout(req: IncomingMessage, res: ServerResponse) {
    const body = new URLSearchParams(await readBody(req));
    const token = body.get("logout_token");
    try {
      if (token === null) throw new Error("no logout_token");
      const { payload } = await jwtVerify(token, jwks, {
        issuer: metadata.issuer,
        audience: options.clientId,
        typ: "logout+jwt",
        maxTokenAge: "2 minutes",
        requiredClaims: ["iat", "jti", "events"],
      });
      const events = payload.events as Record<string, unknown> | undefined;
      if (typeof events?.[BACKCHANNEL_EVENT] !== "object") throw new Error("not a logout event");
      if ("nonce" in payload) throw new Error("a logout token has no nonce");
      if (payload.sid === undefined && payload.sub === undefined) throw new Error("no sid or sub");
      const now = Date.now();
      for (const [jti, until] of seenJtis) if (until < now) seenJtis.delete(jti);
      if (seenJtis.has(payload.jti!)) throw new Error("replayed logout token");
      seenJtis.set(payload.jti!, now + 5 * 60_000);
      for (const [id, s] of sessions) {
        const match =
          payload.sid !== undefined
            ? s.sid === payload.sid && (payload.sub === undefined || s.sub === payload.sub)
            : s.sub === payload.sub;
        if (match) sessions.delete(id);
      }
      res.writeHead(200, { "cache-control": "no-store" }).end();
    } catch (error) {
      res
        .writeHead(400, { "content-type": "application/json", "cache-control": "no-store" })
        .end(
          JSON.stringify({ error: "invalid_request", error_description: (error as Error).message }),
        );
    }
  }

  function current(req: IncomingMessage): AppSession | undefined {
    const id = cookies(req)[SESSION_COOKIE];
    return id === undefined ? undefined : sessions.get(id);
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", appUrl).pathname;
    const route =
      req.method === "GET" && path === "/"
        ? home
        : req.method === "GET" && path === "/login"
          ? login
          : req.method === "GET" && path === "/callback"
            ? callback
            : req.method === "POST" && path === "/logout"
              ? logout
              : req.method === "POST" && path === "/backchannel-logout"
                ? backchannelLogout
                : undefined;
    if (route === undefined) return void page(res, 404, "Not found", "<p>Nothing here.</p>");
    Promise.resolve(route(req, res)).catch((error: unknown) => {
      console.error(error);
      if (!res.headersSent) page(res, 500, "Error", "<p>Something went wrong.</p>");
    });
  });
  const listenOn = new URL(appUrl);
  await new Promise<void>((resolve) =>
    server.listen(
      options.port ?? Number(listenOn.port || 80),
      options.host ?? listenOn.hostname,
      resolve,
    ),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `${listenOn.protocol}//${listenOn.hostname}:${port}`,
    sessions,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

// ---------------------------------------------------------------------------- HTTP helpers

function cookies(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

/** HttpOnly, SameSite=Lax (the callback is a top-level GET from Gatehouse; POSTs stay same-site). */
function setCookie(res: ServerResponse, name: string, value: string, maxAge?: number) {
  const attrs = [`${name}=${encodeURIComponent(value)}`, "Path=/", "HttpOnly", "SameSite=Lax"];
  if (maxAge !== undefined) attrs.push(`Max-Age=${maxAge}`);
  const prior = res.getHeader("set-cookie");
  res.setHeader("set-cookie", [...(Array.isArray(prior) ? prior : []), attrs.join("; ")]);
}

function redirect(res: ServerResponse, location: string) {
  res.writeHead(303, { location, "cache-control": "no-store" }).end();
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
      if (body.length > 64 * 1024) req.destroy(new Error("body too large"));
    });
    req.on("end", () => resolve(body));
    req.on("error", reject);
  });
}

function html(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(res: ServerResponse, status: number, title: string, body: string) {
  res
    .writeHead(status, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
    .end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${html(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem}
th{text-align:left;padding-right:1rem;vertical-align:top}code,pre{font-size:14px}</style></head>
<body><h1>${html(title)}</h1>
${body}
</body></html>`);
}

// ------------------------------------------------------------------------------- command line

if (import.meta.main) {
  const env = process.env;
  const missing = ["CLIENT_ID"].filter((k) => !env[k]);
  if (missing.length > 0) {
    console.error(
      `examples/app: set ${missing.join(", ")} (and CLIENT_SECRET for a confidential client); see examples/app/README.md`,
    );
    process.exit(2);
  }
  const app = await startExampleApp({
    issuer: env.GATEHOUSE_ISSUER ?? "http://localhost:3000/oidc",
    clientId: env.CLIENT_ID!,
    clientSecret: env.CLIENT_SECRET || null,
    appUrl: env.APP_URL ?? "http://127.0.0.1:4000",
  });
  console.log(`Example app for client ${env.CLIENT_ID}: open ${app.url}/`);
}

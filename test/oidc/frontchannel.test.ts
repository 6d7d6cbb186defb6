// OpenID Connect Front-Channel Logout 1.0 (which oidc-provider 9 lacks; src/http/oidc/frontchannel.ts),
// through inject(): registration of frontchannel_logout_uri (section 2's rules, both backends,
// oidc-provider's own validation of what the store holds), discovery (section 3), sid in the ID
// token, and each logout that ends a Gatehouse session in a browser (Log out, an app's
// RP-initiated logout, the IdP's LogoutRequest through the browser) showing the apps' iframes
// with iss and sid, then continuing where the browser was going. Without a front-channel app
// nothing changes: the same redirects as before.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { afterEach, describe, it } from "node:test";
import type { User } from "../../src/domain/model.ts";
import { addClient, publicSid } from "../../src/domain/oidc.ts";
import { hashSecret } from "../../src/domain/secrets.ts";
import { startSession } from "../../src/domain/sessions.ts";
import { AppContext } from "../../src/http/context.ts";
import type { AppDeps } from "../../src/http/deps.ts";
import { createProvider } from "../../src/http/oidc/provider.ts";
import { SLO_PATH } from "../../src/http/routes/slo.ts";
import { createViews } from "../../src/http/views.ts";
import { buildEntraLogoutRequest } from "../../src/mock-idp/logout.ts";
import { onEachBackend } from "../domain/backends.ts";
import {
  addUser,
  adminApi,
  cookieHeader,
  cookiesOf,
  entraResponse,
  type Harness,
  harness,
  IDP_KEY,
  IDP_SSO_URL,
  PUBLIC_URL,
  postAcs,
  startLogin,
  TENANT,
} from "../http/support.ts";

const ISSUER = `${PUBLIC_URL}/oidc`;
const APP = "http://127.0.0.1:4100";
const OTHER_APP = "http://localhost:4200";
const CSRF = "c".repeat(43);
const CLI = { actor: "cli" };

const open: Harness[] = [];
afterEach(async () => {
  for (const h of open.splice(0)) await h.close();
});

/** A Gatehouse on the real clock (oidc-provider stamps its records with it), with adele. */
async function start() {
  const h = await harness({}, [], { now: () => new Date() });
  open.push(h);
  return { h, user: await addUser(h, "adele", "adele@contoso.com") };
}

interface Registered {
  clientId: string;
  clientSecret: string | null;
}

async function register(h: Harness, body: Record<string, unknown>): Promise<Registered> {
  const { status, json } = await adminApi(h, "POST", "/clients", body);
  assert.equal(status, 201, JSON.stringify(json));
  const { client, clientSecret } = json as { client: { clientId: string }; clientSecret: string };
  return { clientId: client.clientId, clientSecret };
}

/** An app at `base` with a front-channel logout URI (session required unless said otherwise). */
function frontchannelApp(base: string, extra: Record<string, unknown> = {}) {
  return {
    name: `App at ${base}`,
    redirectUris: [`${base}/callback`],
    postLogoutRedirectUris: [`${base}/`],
    frontchannelLogoutUri: `${base}/frontchannel-logout`,
    ...extra,
  };
}

/** The Host oidc-provider builds its own URLs from (PUBLIC_URL's, as behind a real listener). */
const HOST = new URL(PUBLIC_URL).host;

/** inject() with a cookie jar; absolute URLs of this Gatehouse become paths. */
function browser(h: Harness, jar: Record<string, string> = {}) {
  return {
    jar,
    async go(url: string, form?: Record<string, string>) {
      const u = new URL(url, PUBLIC_URL);
      assert.equal(u.origin, PUBLIC_URL, `stays on Gatehouse: ${url}`);
      const res = await h.app.inject({
        method: form === undefined ? "GET" : "POST",
        url: u.pathname + u.search,
        headers: {
          host: HOST,
          cookie: cookieHeader(jar),
          ...(form === undefined ? {} : { "content-type": "application/x-www-form-urlencoded" }),
        },
        ...(form === undefined ? {} : { payload: new URLSearchParams(form).toString() }),
      });
      cookiesOf(res, jar);
      return res;
    },
  };
}

type Browser = ReturnType<typeof browser>;

async function passwordSession(h: Harness, user: User) {
  const s = await startSession(
    h.store,
    user,
    "password",
    false,
    null,
    { idleMinutes: 30, absoluteHours: 8 },
    new Date(),
  );
  return { b: browser(h, { gh_session: s.token, gh_csrf: CSRF }), sessionId: s.session.id };
}

let logins = 0;

/** A SAML login through the ACS; the Assertion ID is Entra's SessionIndex. */
async function samlSession(h: Harness) {
  const sessionIndex = `_cccccccc-0000-4000-8000-${String(++logins).padStart(12, "0")}`;
  const { id, jar } = await startLogin(h);
  const res = await postAcs(
    h,
    entraResponse(
      {
        upn: "adele@contoso.com",
        mail: "adele@contoso.com",
        objectId: "22222222-aaaa-4bbb-8ccc-000000000009",
      },
      { now: new Date(), inResponseTo: id, assertionId: sessionIndex },
    ),
    jar,
  );
  assert.equal(res.statusCode, 303, res.body.slice(0, 400));
  const token = cookiesOf(res).gh_session!;
  return {
    b: browser(h, { gh_session: token, gh_csrf: CSRF }),
    sessionId: hashSecret(token),
    sessionIndex,
  };
}

/** The code flow up to the app's callback; returns the code and its verifier. */
async function signInToApp(b: Browser, app: Registered, base: string) {
  const verifier = randomBytes(32).toString("base64url");
  const redirectUri = `${base}/callback`;
  const q = new URLSearchParams({
    client_id: app.clientId,
    redirect_uri: redirectUri,
    response_type: "code",
    scope: "openid email profile",
    state: "st",
    nonce: "n0",
    code_challenge: createHash("sha256").update(verifier).digest("base64url"),
    code_challenge_method: "S256",
  });
  let res = await b.go(`/oidc/auth?${q}`);
  for (let hop = 0; hop < 4 && !String(res.headers.location ?? "").startsWith(redirectUri); hop++) {
    assert.ok(
      res.statusCode === 302 || res.statusCode === 303,
      /<h1>[\s\S]*?<\/p>/.exec(res.body)?.[0] ?? res.body,
    );
    res = await b.go(res.headers.location as string);
  }
  const back = new URL(res.headers.location as string);
  assert.equal(back.origin + back.pathname, redirectUri);
  return { code: back.searchParams.get("code")!, verifier, redirectUri };
}

async function idTokenClaims(h: Harness, app: Registered, base: string, b: Browser) {
  const { code, verifier, redirectUri } = await signInToApp(b, app, base);
  const res = await h.app.inject({
    method: "POST",
    url: "/oidc/token",
    headers: {
      host: HOST,
      authorization: `Basic ${Buffer.from(`${app.clientId}:${app.clientSecret}`).toString("base64")}`,
      "content-type": "application/x-www-form-urlencoded",
    },
    payload: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    }).toString(),
  });
  assert.equal(res.statusCode, 200, res.body);
  const idToken = (res.json() as { id_token: string }).id_token;
  return JSON.parse(Buffer.from(idToken.split(".")[1]!, "base64url").toString()) as Record<
    string,
    unknown
  >;
}

function unescapeHtml(s: string): string {
  return s
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
}

/** What the front-channel logout page holds: its iframes, where it continues, its CSP. */
function frontchannelPage(res: {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
}) {
  assert.equal(res.statusCode, 200, res.body.slice(0, 400));
  assert.match(res.body, /Signing you out of your apps/);
  const frames = [...res.body.matchAll(/<iframe class="frontchannel" src="([^"]*)"[^>]*hidden>/g)]
    .map((m) => unescapeHtml(m[1]!))
    .map((src) => new URL(src));
  const next = /<a class="button" id="continue" href="([^"]*)"/.exec(res.body);
  assert.ok(next, "a visible Continue link (no script needed)");
  const csp = String(res.headers["content-security-policy"]);
  const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
  assert.ok(nonce !== undefined && res.body.includes(`<script nonce="${nonce}">`), csp);
  assert.match(res.body, /addEventListener\("load"/, "continues after the frames load");
  assert.match(res.body, /data-wait-ms="5000"/, "or after five seconds");
  assert.equal(res.headers["cache-control"], "no-store");
  assert.equal(res.headers["referrer-policy"], "no-referrer");
  return {
    frames,
    continueTo: unescapeHtml(next[1]!),
    frameSrc: /frame-src ([^;]*);/.exec(csp)?.[1],
    frameAncestors: /frame-ancestors ([^;]*);/.exec(csp)?.[1],
    xFrameOptions: res.headers["x-frame-options"],
  };
}

function assertNotifies(frame: URL, base: string, sessionId: string) {
  assert.equal(frame.origin + frame.pathname, `${base}/frontchannel-logout`);
  assert.deepEqual(
    [...frame.searchParams.keys()].sort(),
    ["iss", "sid"],
    "section 3: iss and sid, both",
  );
  assert.equal(frame.searchParams.get("iss"), ISSUER);
  assert.equal(frame.searchParams.get("sid"), publicSid({ id: sessionId }));
}

async function frontchannelEvents(h: Harness) {
  return h.store.audit.query({ type: "oidc.frontchannel_logout", limit: 100 });
}

describe("registering a front-channel logout URI (Front-Channel Logout 1.0, section 2)", () => {
  it("is stored on the app with session required by default, listed, and audited", async () => {
    const { h } = await start();
    const { status, json } = await adminApi(h, "POST", "/clients", frontchannelApp(APP));
    assert.equal(status, 201);
    const { client } = json as { client: Record<string, unknown> };
    assert.equal(client.frontchannelLogoutUri, `${APP}/frontchannel-logout`);
    assert.equal(client.frontchannelLogoutSessionRequired, true);
    const listed = (await adminApi(h, "GET", "/clients")).json as {
      clients: Record<string, unknown>[];
    };
    assert.equal(listed.clients[0]?.frontchannelLogoutUri, `${APP}/frontchannel-logout`);
    const stored = await h.store.oidc.getClient(client.clientId as string);
    assert.equal(stored?.metadata.frontchannel_logout_uri, `${APP}/frontchannel-logout`);
    assert.equal(stored?.metadata.frontchannel_logout_session_required, true);
    const [event] = await h.store.audit.query({ type: "admin.oidc_client.create", limit: 1 });
    assert.equal(event?.detail.frontchannelLogoutUri, `${APP}/frontchannel-logout`);

    const off = await adminApi(
      h,
      "POST",
      "/clients",
      frontchannelApp(OTHER_APP, { frontchannelLogoutSessionRequired: false }),
    );
    assert.equal(off.status, 201);
    const offClient = (off.json as { client: Record<string, unknown> }).client;
    assert.equal(offClient.frontchannelLogoutSessionRequired, false);

    const none = await adminApi(h, "POST", "/clients", {
      name: "No front-channel",
      redirectUris: [`${APP}/callback`],
    });
    const noneClient = (none.json as { client: Record<string, unknown> }).client;
    assert.equal(noneClient.frontchannelLogoutUri, null);
    assert.equal(noneClient.frontchannelLogoutSessionRequired, false);
  });

  const refusals: [string, Record<string, unknown>, string, RegExp][] = [
    [
      "http to another machine",
      { frontchannelLogoutUri: "http://app.example.com/fc" },
      "frontchannelLogoutUri",
      /must use https/,
    ],
    [
      "a fragment",
      { frontchannelLogoutUri: `${APP}/frontchannel-logout#x` },
      "frontchannelLogoutUri",
      /fragment/,
    ],
    ["not a URL", { frontchannelLogoutUri: "/logout" }, "frontchannelLogoutUri", /absolute URL/],
    [
      "another port than every redirect URI",
      { frontchannelLogoutUri: "http://127.0.0.1:4101/frontchannel-logout" },
      "frontchannelLogoutUri",
      /scheme, host and port of one of the redirect URIs/,
    ],
    [
      "another host than every redirect URI (localhost is not 127.0.0.1)",
      { frontchannelLogoutUri: "http://localhost:4100/frontchannel-logout" },
      "frontchannelLogoutUri",
      /scheme, host and port/,
    ],
    [
      "a session flag that is not a boolean",
      { frontchannelLogoutSessionRequired: "yes" },
      "frontchannelLogoutSessionRequired",
      /true or false/,
    ],
    [
      "a session flag without a URI",
      { frontchannelLogoutUri: null, frontchannelLogoutSessionRequired: true },
      "frontchannelLogoutSessionRequired",
      /only with a frontchannelLogoutUri/,
    ],
  ];
  for (const [what, change, field, message] of refusals) {
    it(`refuses ${what}, naming the field, and stores nothing`, async () => {
      const { h } = await start();
      const { status, json } = await adminApi(h, "POST", "/clients", frontchannelApp(APP, change));
      assert.equal(status, 400, JSON.stringify(json));
      const body = json as { field: string; message: string };
      assert.equal(body.field, field);
      assert.match(body.message, message);
      assert.deepEqual(await h.store.oidc.listClients(), []);
    });
  }

  it("keeps the URI's own query as registered", async () => {
    const { h, user } = await start();
    const uri = `${APP}/logout?from=gatehouse&x=a%2Fb`;
    const app = await register(h, frontchannelApp(APP, { frontchannelLogoutUri: uri }));
    const { b, sessionId } = await passwordSession(h, user);
    await signInToApp(b, app, APP);
    const page = frontchannelPage(await b.go("/logout", { _csrf: CSRF }));
    const src = page.frames[0]!.href;
    assert.ok(src.startsWith(`${uri}&iss=`), src);
    assert.equal(page.frames[0]!.searchParams.get("sid"), publicSid({ id: sessionId }));
  });
});

describe("front-channel client metadata through the store and oidc-provider", () => {
  const deps = (store: AppDeps["store"]): AppDeps => ({
    store,
    mailer: { send: async () => {} },
    publicUrl: PUBLIC_URL,
    adminToken: "test-admin-token-0123456789abcdef0123456789",
    sessions: { idleMinutes: 30, absoluteHours: 8 },
    loginRequestTtlMinutes: 10,
    clockSkewSeconds: 180,
    now: () => new Date(),
  });

  onEachBackend((withStore) => {
    it("round-trips: oidc-provider loads the app with its front-channel metadata, sid included", () =>
      withStore(async ({ store }) => {
        const now = new Date();
        const on = await addClient(store, frontchannelApp(APP), CLI, now);
        const off = await addClient(
          store,
          frontchannelApp(APP, { frontchannelLogoutSessionRequired: false }),
          CLI,
          now,
        );
        const plain = await addClient(
          store,
          { name: "plain", redirectUris: [`${APP}/callback`] },
          CLI,
          now,
        );
        const provider = await createProvider(new AppContext(deps(store), createViews()));
        const loaded = await provider.Client.find(on.client.clientId);
        assert.equal(loaded.frontchannel_logout_uri, `${APP}/frontchannel-logout`);
        assert.equal(loaded.frontchannel_logout_session_required, true);
        assert.equal(loaded.includeSid(), true, "section 3: the sid is in its ID tokens");
        const loadedOff = await provider.Client.find(off.client.clientId);
        assert.equal(loadedOff.frontchannel_logout_session_required, false);
        assert.equal(Boolean(loadedOff.includeSid()), false);
        const loadedPlain = await provider.Client.find(plain.client.clientId);
        assert.equal(loadedPlain.frontchannel_logout_uri, undefined);
        assert.equal(loadedPlain.frontchannel_logout_session_required, undefined);
      }));

    it("oidc-provider refuses stored front-channel metadata the registration rule refuses", () =>
      withStore(async ({ store }) => {
        const base = {
          client_name: "tampered",
          redirect_uris: [`${APP}/callback`],
          grant_types: ["authorization_code"],
          response_types: ["code"],
          token_endpoint_auth_method: "none",
        };
        const bad: Record<string, Record<string, unknown>> = {
          foreign: { frontchannel_logout_uri: "https://elsewhere.example/fc" },
          fragment: { frontchannel_logout_uri: `${APP}/fc#x` },
          flag: {
            frontchannel_logout_uri: `${APP}/fc`,
            frontchannel_logout_session_required: "yes",
          },
        };
        const missingFlag = `app_missing_${randomBytes(4).toString("hex")}`;
        await store.oidc.createClient({
          clientId: missingFlag,
          metadata: { ...base, client_id: missingFlag, frontchannel_logout_uri: `${APP}/fc` },
          createdAt: new Date(),
        });
        for (const [name, extra] of Object.entries(bad)) {
          const clientId = `app_${name}_${randomBytes(4).toString("hex")}`;
          await store.oidc.createClient({
            clientId,
            metadata: { ...base, client_id: clientId, ...extra },
            createdAt: new Date(),
          });
        }
        const provider = await createProvider(new AppContext(deps(store), createViews()));
        for (const { clientId } of await store.oidc.listClients()) {
          if (clientId === missingFlag) {
            // Section 2: without the flag, the default is false.
            const c = await provider.Client.find(clientId);
            assert.equal(c.frontchannel_logout_session_required, false);
            continue;
          }
          await assert.rejects(provider.Client.find(clientId), (e: Error) => {
            assert.equal(e.name, "InvalidClientMetadata", clientId);
            return true;
          });
        }
      }));
  });
});

describe("discovery and ID tokens (section 3)", () => {
  it("advertises front-channel logout with sessions", async () => {
    const { h } = await start();
    const res = await h.app.inject({ url: "/oidc/.well-known/openid-configuration" });
    const d = res.json() as Record<string, unknown>;
    assert.equal(d.frontchannel_logout_supported, true);
    assert.equal(d.frontchannel_logout_session_supported, true);
    assert.equal(d.backchannel_logout_supported, true, "back-channel unchanged");
    assert.deepEqual(d.claim_types_supported, ["normal"], "oidc-provider's defaults kept");
  });

  it("puts sid in a front-channel app's ID token when it requires sessions, and not otherwise", async () => {
    const { h, user } = await start();
    const on = await register(h, frontchannelApp(APP));
    const off = await register(
      h,
      frontchannelApp(OTHER_APP, { frontchannelLogoutSessionRequired: false }),
    );
    const { b, sessionId } = await passwordSession(h, user);
    const claims = await idTokenClaims(h, on, APP, b);
    assert.equal(claims.sid, publicSid({ id: sessionId }));
    assert.equal("sid" in (await idTokenClaims(h, off, OTHER_APP, b)), false);
  });
});

describe("Log out of Gatehouse (POST /logout) with front-channel apps", () => {
  it("loads each app's URI with iss and sid, then continues to the logged-out page", async () => {
    const { h, user } = await start();
    const one = await register(h, frontchannelApp(APP));
    const two = await register(
      h,
      frontchannelApp(OTHER_APP, { frontchannelLogoutSessionRequired: false }),
    );
    await register(h, { name: "No front-channel", redirectUris: [`${APP}/other`] });
    const { b, sessionId } = await passwordSession(h, user);
    await signInToApp(b, one, APP);
    await signInToApp(b, two, OTHER_APP);
    // Signing in to an app twice in one Gatehouse session is still one iframe.
    await signInToApp(b, one, APP);

    const res = await b.go("/logout", { _csrf: CSRF });
    const page = frontchannelPage(res);
    assert.equal(page.frames.length, 2, page.frames.join(" "));
    assertNotifies(page.frames[0]!, APP, sessionId);
    assert.equal(page.frames[1]!.href, `${OTHER_APP}/frontchannel-logout`, "no iss or sid");
    assert.equal(page.continueTo, "/login?logged_out");
    assert.equal(page.frameSrc, `${APP} ${OTHER_APP}`, "exactly the apps' origins");
    assert.equal(page.frameAncestors, "'none'");
    assert.equal(page.xFrameOptions, "DENY");
    assert.equal(b.jar.gh_session, undefined, "the session cookie is cleared");
    assert.equal(await h.store.sessions.getLive(sessionId, new Date()), undefined);

    const events = await frontchannelEvents(h);
    assert.deepEqual(
      events.map((e) => [e.detail.clientId, e.detail.uri, e.detail.endReason, e.userId]).sort(),
      [
        [one.clientId, `${APP}/frontchannel-logout`, "logout", user.id],
        [two.clientId, `${OTHER_APP}/frontchannel-logout`, "logout", user.id],
      ].sort(),
    );
  });

  it("a SAML session: the iframes first, then on to the IdP's Single Logout", async () => {
    const { h } = await start();
    const app = await register(h, frontchannelApp(APP));
    const { b, sessionId } = await samlSession(h);
    await signInToApp(b, app, APP);
    const page = frontchannelPage(await b.go("/logout", { _csrf: CSRF }));
    assertNotifies(page.frames[0]!, APP, sessionId);
    const next = new URL(page.continueTo);
    assert.equal(next.origin + next.pathname, IDP_SSO_URL);
    assert.ok(next.searchParams.get("SAMLRequest"), "our LogoutRequest");
    assert.ok(b.jar.gh_saml_logout, "the request is still bound to this browser");
  });

  it("changes nothing when no app of the session has a front-channel URI", async () => {
    const { h, user } = await start();
    await register(h, frontchannelApp(OTHER_APP));
    const plain = await register(h, { name: "plain", redirectUris: [`${APP}/callback`] });
    const { b } = await passwordSession(h, user);
    await signInToApp(b, plain, APP);
    const res = await b.go("/logout", { _csrf: CSRF });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, "/login?logged_out");
    const saml = await samlSession(h);
    await signInToApp(saml.b, plain, APP);
    const toIdp = await saml.b.go("/logout", { _csrf: CSRF });
    assert.equal(toIdp.statusCode, 303);
    assert.ok(String(toIdp.headers.location).startsWith(`${IDP_SSO_URL}?SAMLRequest=`));
    assert.deepEqual(await frontchannelEvents(h), []);
  });
});

describe("an app's RP-initiated logout (end_session) with front-channel apps", () => {
  it("loads the apps' iframes, then goes back to the app's post_logout_redirect_uri", async () => {
    const { h, user } = await start();
    const one = await register(h, frontchannelApp(APP));
    const two = await register(h, frontchannelApp(OTHER_APP));
    const { b, sessionId } = await passwordSession(h, user);
    await signInToApp(b, one, APP);
    await signInToApp(b, two, OTHER_APP);

    const q = new URLSearchParams({
      client_id: one.clientId,
      post_logout_redirect_uri: `${APP}/`,
      state: "bye",
    });
    const ask = await b.go(`/oidc/session/end?${q}`);
    assert.equal(ask.statusCode, 200, ask.body.slice(0, 400));
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(ask.body)?.[1];
    assert.ok(xsrf, "oidc-provider's confirmation form");
    const res = await b.go("/oidc/session/end/confirm", { xsrf, logout: "yes" });
    const page = frontchannelPage(res);
    assert.equal(res.headers.location, undefined, "the redirect waits for the iframes");
    assert.equal(page.frames.length, 2);
    assertNotifies(page.frames[0]!, APP, sessionId);
    assertNotifies(page.frames[1]!, OTHER_APP, sessionId);
    assert.equal(page.continueTo, `${APP}/?state=bye`);
    assert.equal(page.frameSrc, `${APP} ${OTHER_APP}`);
    assert.equal(page.frameAncestors, "'none'");
    assert.equal(await h.store.sessions.getLive(sessionId, new Date()), undefined);
    const events = await frontchannelEvents(h);
    assert.deepEqual(
      events.map((e) => e.detail.endReason),
      ["oidc_logout", "oidc_logout"],
    );
  });

  it('"No, stay signed in" (the form without logout) keeps the Gatehouse session and loads no iframe', async () => {
    const { h, user } = await start();
    const app = await register(h, frontchannelApp(APP));
    const { b, sessionId } = await passwordSession(h, user);
    await signInToApp(b, app, APP);
    const q = new URLSearchParams({ client_id: app.clientId, post_logout_redirect_uri: `${APP}/` });
    const ask = await b.go(`/oidc/session/end?${q}`);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(ask.body)![1]!;
    const res = await b.go("/oidc/session/end/confirm", { xsrf });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, `${APP}/`);
    assert.notEqual(await h.store.sessions.getLive(sessionId, new Date()), undefined);
    assert.deepEqual(await frontchannelEvents(h), []);
  });

  it("without a post_logout_redirect_uri, continues to oidc-provider's sign-out page", async () => {
    const { h, user } = await start();
    const app = await register(h, frontchannelApp(APP));
    const { b } = await passwordSession(h, user);
    await signInToApp(b, app, APP);
    const ask = await b.go("/oidc/session/end");
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(ask.body)![1]!;
    const page = frontchannelPage(await b.go("/oidc/session/end/confirm", { xsrf, logout: "yes" }));
    assert.equal(page.continueTo, `${ISSUER}/session/end/success`);
  });

  it("changes nothing without a front-channel app: oidc-provider's redirect as before", async () => {
    const { h, user } = await start();
    const plain = await register(h, {
      name: "plain",
      redirectUris: [`${APP}/callback`],
      postLogoutRedirectUris: [`${APP}/`],
    });
    const { b, sessionId } = await passwordSession(h, user);
    await signInToApp(b, plain, APP);
    const q = new URLSearchParams({
      client_id: plain.clientId,
      post_logout_redirect_uri: `${APP}/`,
    });
    const ask = await b.go(`/oidc/session/end?${q}`);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(ask.body)![1]!;
    const res = await b.go("/oidc/session/end/confirm", { xsrf, logout: "yes" });
    assert.equal(res.statusCode, 303);
    assert.equal(res.headers.location, `${APP}/`);
    assert.equal(await h.store.sessions.getLive(sessionId, new Date()), undefined);
  });
});

describe("the IdP's LogoutRequest through the browser (SAML SLO) with front-channel apps", () => {
  function logoutRequest(sessionIndex: string) {
    const request = buildEntraLogoutRequest({
      tenantId: TENANT,
      destination: `${PUBLIC_URL}${SLO_PATH}`,
      nameId: "adele@contoso.com",
      sessionIndex,
      now: new Date(),
      signingKey: IDP_KEY,
    });
    return request.url;
  }

  it("this browser's session: the iframes, then our LogoutResponse to the IdP; the IdP may frame it", async () => {
    const { h } = await start();
    const app = await register(h, frontchannelApp(APP));
    const { b, sessionId, sessionIndex } = await samlSession(h);
    await signInToApp(b, app, APP);
    const res = await b.go(logoutRequest(sessionIndex));
    const page = frontchannelPage(res);
    assertNotifies(page.frames[0]!, APP, sessionId);
    const next = new URL(page.continueTo);
    assert.equal(next.origin + next.pathname, IDP_SSO_URL);
    assert.ok(next.searchParams.get("SAMLResponse"), "our LogoutResponse");
    assert.equal(page.frameAncestors, "'self' https://login.microsoftonline.com");
    assert.equal(page.xFrameOptions, "SAMEORIGIN");
    assert.equal(b.jar.gh_session, undefined, "the session cookie is cleared");
    assert.equal(await h.store.sessions.getLive(sessionId, new Date()), undefined);
    const [event] = await frontchannelEvents(h);
    assert.equal(event?.detail.endReason, "idp_logout");
    assert.equal(event?.detail.clientId, app.clientId);
  });

  it("without this browser's session cookie (another browser, a cross-site frame): the redirect as before", async () => {
    const { h } = await start();
    const app = await register(h, frontchannelApp(APP));
    const { b, sessionId, sessionIndex } = await samlSession(h);
    await signInToApp(b, app, APP);
    const elsewhere = browser(h);
    const res = await elsewhere.go(logoutRequest(sessionIndex));
    assert.equal(res.statusCode, 302, res.body.slice(0, 400));
    assert.ok(String(res.headers.location).startsWith(`${IDP_SSO_URL}?SAMLResponse=`));
    assert.equal(await h.store.sessions.getLive(sessionId, new Date()), undefined, "still ended");
    assert.deepEqual(await frontchannelEvents(h), []);
  });

  it("a request that does not end this browser's session shows no iframes", async () => {
    const { h } = await start();
    const app = await register(h, frontchannelApp(APP));
    const mine = await samlSession(h);
    await signInToApp(mine.b, app, APP);
    const other = await samlSession(h);
    // The IdP names the other session (by its SessionIndex) from this browser.
    const res = await mine.b.go(logoutRequest(other.sessionIndex));
    assert.equal(res.statusCode, 302, res.body.slice(0, 400));
    assert.notEqual(await h.store.sessions.getLive(mine.sessionId, new Date()), undefined);
    assert.deepEqual(await frontchannelEvents(h), []);
  });
});

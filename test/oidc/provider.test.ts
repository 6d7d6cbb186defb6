// Gatehouse as an OpenID Provider, over real HTTP on 127.0.0.1: discovery, JWKS, the code flow
// with PKCE through Gatehouse's login interaction, claims, exact redirect URIs, and back-channel
// logout when the Gatehouse session ends (local logout, an admin disabling the user).
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { User } from "../../src/domain/model.ts";
import { keepIdpClaims, publicSid } from "../../src/domain/oidc.ts";
import { hashSecret } from "../../src/domain/secrets.ts";
import { startSession } from "../../src/domain/sessions.ts";
import { LINK_BY_GATEHOUSE } from "../../src/http/oidc/provider.ts";
import { SLO_PATH } from "../../src/http/routes/slo.ts";
import { buildEntraLogoutRequest } from "../../src/mock-idp/logout.ts";
import {
  cookiesOf,
  entraResponse,
  type Harness,
  harness,
  IDP_KEY,
  postAcs,
  startLogin,
  TENANT,
} from "../http/support.ts";

const ADMIN = "test-admin-token-0123456789abcdef0123456789";

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

function b64url(b: Buffer) {
  return b.toString("base64url");
}

function jwtClaims(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString());
}

/** A fetch with a cookie jar and no redirects followed. */
function browser(base: string) {
  const jar = new Map<string, string>();
  return {
    jar,
    async go(path: string, init: RequestInit = {}) {
      const headers = new Headers(init.headers);
      if (jar.size > 0) headers.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
      const res = await fetch(path.startsWith("http") ? path : base + path, {
        ...init,
        headers,
        redirect: "manual",
      });
      for (const c of res.headers.getSetCookie()) {
        const [pair] = c.split(";");
        const i = pair!.indexOf("=");
        const name = pair!.slice(0, i);
        const value = pair!.slice(i + 1);
        if (value === "" || /max-age=0|expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(name);
        else jar.set(name, value);
      }
      return res;
    },
  };
}

describe("OpenID Provider", () => {
  let h: Harness;
  let base: string;
  let user: User;
  let appServer: Server;
  let appUrl: string;
  const logoutTokens: string[] = [];
  let client: { clientId: string };
  let secret: string;

  before(async () => {
    appServer = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        if (req.url === "/backchannel")
          logoutTokens.push(new URLSearchParams(body).get("logout_token") ?? "");
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => appServer.listen(0, "127.0.0.1", r));
    appUrl = `http://127.0.0.1:${(appServer.address() as AddressInfo).port}`;
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await harness({}, [], { publicUrl: base, now: () => new Date() });
    await h.app.listen({ port, host: "127.0.0.1" });
    user = await h.store.users.create(
      {
        accountId: h.account.id,
        username: "adele",
        email: "adele@contoso.com",
        ssoId: null,
        role: "supervisor",
        passwordHash: null,
        totpSecret: null,
        breakGlass: false,
        mustChangePassword: false,
        disabled: false,
      },
      new Date(),
    );
    const res = await fetch(`${base}/admin/api/clients`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: "Example app",
        redirectUris: [`${appUrl}/callback`],
        postLogoutRedirectUris: [`${appUrl}/`],
        backchannelLogoutUri: `${appUrl}/backchannel`,
      }),
    });
    assert.equal(res.status, 201);
    const created = (await res.json()) as { client: { clientId: string }; clientSecret: string };
    client = created.client;
    secret = created.clientSecret;
  });
  after(async () => {
    await h.app.close();
    await h.close();
    appServer.close();
  });

  /** A SAML login through the ACS (Entra's groups and roles in the assertion), as a browser. */
  async function samlSignedInBrowser() {
    const sessionIndex = `_bbbbbbbb-0000-4000-8000-${randomBytes(6).toString("hex")}`;
    const { id, jar } = await startLogin(h);
    const res = await postAcs(
      h,
      entraResponse(
        {
          upn: "adele@contoso.com",
          mail: "adele@contoso.com",
          objectId: "22222222-aaaa-4bbb-8ccc-000000000001",
          groups: ["0e7f9d2a-1111-4222-8333-000000000001", "0e7f9d2a-1111-4222-8333-000000000002"],
          roles: ["Supervisor"],
        },
        { now: new Date(), inResponseTo: id, assertionId: sessionIndex },
      ),
      jar,
    );
    assert.equal(res.statusCode, 303, res.body.slice(0, 400));
    const token = cookiesOf(res).gh_session!;
    const b = browser(base);
    b.jar.set("gh_session", token);
    return { b, sessionId: hashSecret(token), sessionIndex };
  }

  async function signedInBrowser() {
    const b = browser(base);
    const s = await startSession(
      h.store,
      user,
      "password",
      true,
      null,
      { idleMinutes: 30, absoluteHours: 8 },
      new Date(),
    );
    b.jar.set("gh_session", s.token);
    return { b, session: s.session };
  }

  function authorizeUrl(verifier: string, redirectUri = `${appUrl}/callback`) {
    const q = new URLSearchParams({
      client_id: client.clientId,
      redirect_uri: redirectUri,
      response_type: "code",
      scope: "openid email profile",
      state: "st",
      nonce: "n0",
      code_challenge: b64url(createHash("sha256").update(verifier).digest()),
      code_challenge_method: "S256",
    });
    return `/oidc/auth?${q}`;
  }

  /** The whole code flow for a signed-in browser; returns the token response. */
  async function codeFlow(b: ReturnType<typeof browser>) {
    const verifier = b64url(randomBytes(32));
    let res = await b.go(authorizeUrl(verifier));
    assert.equal(res.status, 303);
    let location = res.headers.get("location")!;
    assert.match(location, /\/oidc\/interaction\//);
    res = await b.go(location);
    assert.equal(res.status, 303, await res.clone().text());
    res = await b.go(res.headers.get("location")!);
    location = res.headers.get("location")!;
    assert.ok(location.startsWith(`${appUrl}/callback?`), location);
    const code = new URL(location).searchParams.get("code")!;
    const token = await fetch(`${base}/oidc/token`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from(`${client.clientId}:${secret}`).toString("base64")}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code,
        redirect_uri: `${appUrl}/callback`,
        code_verifier: verifier,
      }),
    });
    assert.equal(token.status, 200, await token.clone().text());
    return (await token.json()) as { id_token: string; access_token: string };
  }

  it("publishes discovery and a JWKS with the signing key", async () => {
    const d = (await (
      await fetch(`${base}/oidc/.well-known/openid-configuration`)
    ).json()) as Record<string, unknown>;
    assert.equal(d.issuer, `${base}/oidc`);
    assert.deepEqual(d.code_challenge_methods_supported, ["S256"]);
    assert.deepEqual(d.response_types_supported, ["code"]);
    assert.equal(d.backchannel_logout_supported, true);
    const jwks = (await (await fetch(d.jwks_uri as string)).json()) as { keys: { kid: string }[] };
    const stored = await h.store.oidc.listKeys();
    assert.deepEqual(
      jwks.keys.map((k) => k.kid),
      stored.map((k) => k.kid),
    );
    assert.ok(
      jwks.keys.every((k) => !("d" in k)),
      "no private parts",
    );
  });

  it("signs a Gatehouse session in to the app with PKCE; claims in ID token and userinfo", async () => {
    const { b, session } = await signedInBrowser();
    const tokens = await codeFlow(b);
    const claims = jwtClaims(tokens.id_token);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.email, "adele@contoso.com");
    assert.equal(claims.name, "adele");
    assert.deepEqual(claims.account, { id: h.account.id, name: "contoso" });
    assert.equal(claims.role, "supervisor");
    assert.equal(claims.sid, publicSid(session));
    assert.equal(claims.nonce, "n0");
    const info = await fetch(`${base}/oidc/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    const userinfo = (await info.json()) as Record<string, unknown>;
    assert.equal(userinfo.sub, user.id);
    assert.deepEqual(userinfo.account, { id: h.account.id, name: "contoso" });
  });

  it("releases amr (pwd + mfa) in the ID token and at userinfo", async () => {
    const { b } = await signedInBrowser();
    const tokens = await codeFlow(b);
    assert.deepEqual(jwtClaims(tokens.id_token).amr, ["pwd", "mfa"]);
    const info = await fetch(`${base}/oidc/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.deepEqual(((await info.json()) as Record<string, unknown>).amr, ["pwd", "mfa"]);
  });

  it("releases the IdP's groups and roles kept with the session, and nothing when there are none", async () => {
    const { b, session } = await signedInBrowser();
    await keepIdpClaims(h.store, session, {
      groups: ["5e1a2b3c-0000-4000-8000-000000000001"],
      roles: ["Supervisor"],
    });
    const tokens = await codeFlow(b);
    const claims = jwtClaims(tokens.id_token);
    assert.deepEqual(claims.groups, ["5e1a2b3c-0000-4000-8000-000000000001"]);
    assert.deepEqual(claims.roles, ["Supervisor"]);
    const info = await fetch(`${base}/oidc/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    const userinfo = (await info.json()) as Record<string, unknown>;
    assert.deepEqual(userinfo.groups, ["5e1a2b3c-0000-4000-8000-000000000001"]);
    assert.deepEqual(userinfo.roles, ["Supervisor"]);
    const plain = jwtClaims((await codeFlow((await signedInBrowser()).b)).id_token);
    assert.equal("groups" in plain, false);
    assert.equal("roles" in plain, false);
  });

  it("signs one browser in to a second app (the stored OIDC session gains a client)", async () => {
    const res = await fetch(`${base}/admin/api/clients`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Second app", redirectUris: [`${appUrl}/second`] }),
    });
    const second = ((await res.json()) as { client: { clientId: string } }).client;
    const { b, session } = await signedInBrowser();
    await codeFlow(b);
    const verifier = b64url(randomBytes(32));
    const q = new URLSearchParams({
      client_id: second.clientId,
      redirect_uri: `${appUrl}/second`,
      response_type: "code",
      scope: "openid",
      code_challenge: b64url(createHash("sha256").update(verifier).digest()),
      code_challenge_method: "S256",
    });
    let answer = await b.go(`/oidc/auth?${q}`);
    for (let hop = 0; hop < 3 && answer.status === 303; hop++) {
      const location = answer.headers.get("location")!;
      if (location.startsWith(appUrl)) break;
      answer = await b.go(location);
    }
    const back = new URL(answer.headers.get("location") ?? "about:blank");
    assert.equal(back.origin + back.pathname, `${appUrl}/second`, await answer.text());
    assert.ok(back.searchParams.get("code"));
    const link = await h.store.oidc.find(LINK_BY_GATEHOUSE, session.id, new Date());
    const [oidcSession] = (link?.payload.uids ?? []) as string[];
    const stored = await h.store.oidc.findByUid("Session", oidcSession!, new Date());
    assert.deepEqual(
      Object.keys(stored?.payload.authorizations as object).sort(),
      [client.clientId, second.clientId].sort(),
    );
  });

  it("refuses an authorization request without PKCE", async () => {
    const { b } = await signedInBrowser();
    const q = new URLSearchParams({
      client_id: client.clientId,
      redirect_uri: `${appUrl}/callback`,
      response_type: "code",
      scope: "openid",
      state: "st",
    });
    const res = await b.go(`/oidc/auth?${q}`);
    assert.equal(res.status, 303);
    const back = new URL(res.headers.get("location")!);
    assert.equal(back.searchParams.get("error"), "invalid_request");
    assert.equal(
      back.searchParams.get("error_description"),
      "Authorization Server policy requires PKCE to be used for this request",
    );
  });

  it("refuses a redirect URI that differs from the registered one by a trailing slash", async () => {
    const { b } = await signedInBrowser();
    const res = await b.go(authorizeUrl("v".repeat(43), `${appUrl}/callback/`));
    assert.equal(res.status, 400);
    assert.match(await res.text(), /invalid_redirect_uri/);
    assert.equal(res.headers.get("location"), null, "never sent to the unregistered URI");
  });

  it("sends the app to Gatehouse's login page when there is no Gatehouse session", async () => {
    const b = browser(base);
    let res = await b.go(authorizeUrl(b64url(randomBytes(32))));
    res = await b.go(res.headers.get("location")!);
    assert.equal(res.status, 303);
    assert.equal(res.headers.get("location"), "/login");
    assert.match(b.jar.get("gh_oidc_return")!, /^\/oidc\/interaction\//);
  });

  it("tells the app through back-channel logout when the person logs out of Gatehouse", async () => {
    const { b, session } = await signedInBrowser();
    await codeFlow(b);
    logoutTokens.length = 0;
    b.jar.set("gh_csrf", "c".repeat(43));
    const res = await b.go("/logout", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: `_csrf=${"c".repeat(43)}`,
    });
    assert.equal(res.status, 303);
    assert.equal(logoutTokens.length, 1);
    const claims = jwtClaims(logoutTokens[0]!);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.sid, publicSid(session));
    assert.equal(claims.aud, client.clientId);
    assert.ok("http://schemas.openid.net/event/backchannel-logout" in (claims.events as object));
    const events = await h.store.audit.query({ type: "oidc.backchannel_logout" });
    assert.equal(events[0]?.outcome, "success");
  });

  it("a SAML login releases amr saml and the IdP's groups and roles", async () => {
    const { b } = await samlSignedInBrowser();
    const claims = jwtClaims((await codeFlow(b)).id_token);
    assert.deepEqual(claims.amr, ["saml"]);
    assert.deepEqual(claims.groups, [
      "0e7f9d2a-1111-4222-8333-000000000001",
      "0e7f9d2a-1111-4222-8333-000000000002",
    ]);
    assert.deepEqual(claims.roles, ["Supervisor"]);
  });

  it("tells the app through back-channel logout when the IdP signs the person out (SAML SLO)", async () => {
    const { b, sessionId, sessionIndex } = await samlSignedInBrowser();
    const tokens = await codeFlow(b);
    logoutTokens.length = 0;
    const request = buildEntraLogoutRequest({
      tenantId: TENANT,
      destination: `${base}${SLO_PATH}`,
      nameId: "adele@contoso.com",
      sessionIndex,
      now: new Date(),
      signingKey: IDP_KEY,
    });
    const res = await fetch(request.url, { redirect: "manual" });
    assert.equal(res.status, 302, await res.clone().text());
    assert.equal(logoutTokens.length, 1);
    const claims = jwtClaims(logoutTokens[0]!);
    assert.equal(claims.sub, user.id);
    assert.equal(claims.sid, publicSid({ id: sessionId }));
    assert.equal(claims.aud, client.clientId);
    const [event] = await h.store.audit.query({ type: "oidc.backchannel_logout", limit: 1 });
    assert.equal(event?.outcome, "success");
    assert.equal(event?.detail.endReason, "idp_logout");
    const info = await fetch(`${base}/oidc/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(info.status, 401, "the access token was revoked with the session");
  });

  it("tells the app when the Gatehouse session expires: the sweep ends it (absolute timeout)", async () => {
    const b = browser(base);
    const s = await startSession(
      h.store,
      user,
      "password",
      false,
      null,
      { idleMinutes: 30, absoluteHours: 1 / 60 },
      new Date(),
    );
    b.jar.set("gh_session", s.token);
    await codeFlow(b);
    logoutTokens.length = 0;
    // Before the timeout (one minute) the sweep ends nothing of this session.
    const early = await h.app.sweep(new Date());
    assert.equal(
      early.some((x) => x.id === s.session.id),
      false,
    );
    assert.equal(logoutTokens.length, 0);
    const expired = await h.app.sweep(new Date(Date.now() + 2 * 60_000));
    const ended = expired.find((x) => x.id === s.session.id);
    assert.equal(ended?.endReason, "absolute_timeout");
    assert.ok(logoutTokens.map((t) => jwtClaims(t).sid).includes(publicSid(s.session)));
    const [event] = await h.store.audit.query({ type: "oidc.backchannel_logout", limit: 1 });
    assert.equal(event?.detail.endReason, "absolute_timeout");
    // Reported once: the next sweep does not tell the app again.
    logoutTokens.length = 0;
    await h.app.sweep(new Date(Date.now() + 3 * 60_000));
    assert.equal(logoutTokens.length, 0);
  });

  it("tells the app when an admin disables the user", async () => {
    const { b, session } = await signedInBrowser();
    const tokens = await codeFlow(b);
    logoutTokens.length = 0;
    const res = await fetch(`${base}/admin/api/users/${user.id}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
      body: JSON.stringify({ disabled: true }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    // Every live session of the user ends (earlier tests' too): each app session is told.
    assert.ok(logoutTokens.map((t) => jwtClaims(t).sid).includes(publicSid(session)));
    const info = await fetch(`${base}/oidc/me`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(info.status, 401, "the access token was revoked with the session");
    await h.store.users.update(user.id, { disabled: false }, new Date());
  });
});

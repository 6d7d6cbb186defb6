/**
 * oidc-provider configured for Gatehouse: records, keys and clients in our store (SQLite or
 * PostgreSQL), authorization code flow with PKCE (S256) required of every client, the login
 * interaction handed to Gatehouse's own login page, implicit consent (the apps are the SaaS
 * team's own, first-party), and every OIDC session tied to a live Gatehouse session.
 */

import Provider, { errors, interactionPolicy } from "oidc-provider";
import { AdminError } from "../../domain/admin.ts";
import {
  frontchannelLogoutUri,
  idpClaimsFor,
  publicSid,
  SCOPE_CLAIMS,
  SESSION_RECORD_GRACE_MS,
  signingKeys,
  userClaims,
} from "../../domain/oidc.ts";
import { resumeSession } from "../../domain/sessions.ts";
import type { Store } from "../../domain/store.ts";
import type { AppContext } from "../context.ts";
import { SESSION_COOKIE } from "../cookies.ts";

export const OIDC_PATH = "/oidc";

/** The issuer apps see (`iss`), for a Gatehouse at `publicUrl`. */
export function oidcIssuer(publicUrl: string): string {
  return `${publicUrl}${OIDC_PATH}`;
}
// biome-ignore lint/suspicious/noExplicitAny: oidc-provider is untyped
export type OidcProvider = any;
// biome-ignore lint/suspicious/noExplicitAny: oidc-provider's Koa context
type KoaCtx = any;

/** Links between a Gatehouse session and the OIDC sessions (browsers) it signed in. */
export const LINK_BY_GATEHOUSE = "GatehouseSession";
export const LINK_BY_OIDC = "GatehouseOidcSession";
const COOKIE_KEYS = "GatehouseCookieKeys";

function adapterFor(ctx: AppContext) {
  const store: Store = ctx.store;
  const now = () => ctx.deps.now();
  const epoch = (d: Date | null) => (d === null ? undefined : Math.floor(d.getTime() / 1000));
  return class Adapter {
    readonly model: string;
    constructor(model: string) {
      this.model = model;
    }
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      const expiresAt =
        typeof expiresIn === "number" ? new Date(now().getTime() + expiresIn * 1000) : null;
      await store.oidc.upsert(this.model, id, payload, expiresAt, {
        grantId: payload.grantId as string | undefined,
        userCode: payload.userCode as string | undefined,
        uid: payload.uid as string | undefined,
      });
    }
    async find(id: string) {
      if (this.model === "Client") {
        const client = await store.oidc.getClient(id);
        return client === undefined ? undefined : structuredClone(client.metadata);
      }
      return this.shaped(await store.oidc.find(this.model, id, now()));
    }
    async findByUid(uid: string) {
      return this.shaped(await store.oidc.findByUid(this.model, uid, now()));
    }
    async findByUserCode(userCode: string) {
      return this.shaped(await store.oidc.findByUserCode(this.model, userCode, now()));
    }
    async consume(id: string) {
      await store.oidc.consume(this.model, id, now());
    }
    async destroy(id: string) {
      await store.oidc.destroy(this.model, id);
    }
    async revokeByGrantId(grantId: string) {
      await store.oidc.revokeByGrantId(grantId);
    }
    private shaped(
      r: { payload: Record<string, unknown>; consumedAt: Date | null } | undefined,
    ): Record<string, unknown> | undefined {
      if (r === undefined) return undefined;
      // The store hands out deeply frozen records; oidc-provider changes what it is given (a
      // Session's authorizations gain a client when a second app signs in), so it gets a copy.
      const payload = structuredClone(r.payload) as Record<string, unknown>;
      return r.consumedAt === null ? payload : { ...payload, consumed: epoch(r.consumedAt) };
    }
  };
}

/** The cookie signing keys, made once and shared by every instance through the store. */
async function cookieKeys(store: Store, now: Date): Promise<string[]> {
  const found = await store.oidc.find(COOKIE_KEYS, "current", now);
  const keys = found?.payload.keys;
  if (Array.isArray(keys) && keys.length > 0) return keys as string[];
  const { randomBytes } = await import("node:crypto");
  const fresh = [randomBytes(32).toString("base64url")];
  await store.oidc.upsert(COOKIE_KEYS, "current", { keys: fresh }, null, {});
  return fresh;
}

/**
 * The claims that come from the sign-in rather than the user record: `amr` (how the Gatehouse
 * session was proven, as the OIDC session recorded it at login) and the IdP's groups and roles.
 * Found through the OIDC session the code or access token was issued in (token and userinfo
 * endpoints) or the browser's OIDC session (authorization endpoint).
 */
async function signInClaims(ctx: AppContext, k: KoaCtx): Promise<Record<string, unknown>> {
  const entities = k.oidc.entities;
  const token = entities.AccessToken ?? entities.AuthorizationCode ?? entities.RefreshToken;
  const uid: string | undefined = token?.sessionUid ?? entities.Session?.uid;
  if (uid === undefined) return {};
  const oidcSession = await k.oidc.provider.Session.findByUid(uid);
  const gatehouseSessionId = await linkedGatehouseSession(ctx, uid);
  return {
    ...(Array.isArray(oidcSession?.amr) ? { amr: oidcSession.amr } : {}),
    ...(gatehouseSessionId === undefined
      ? {}
      : await idpClaimsFor(ctx.store, gatehouseSessionId, ctx.deps.now())),
  };
}

/** The live Gatehouse session of the browser behind an oidc-provider request, if any. */
export async function gatehouseSessionOf(ctx: AppContext, koa: KoaCtx) {
  const token = koa.cookies.get(SESSION_COOKIE, { signed: false });
  if (typeof token !== "string") return undefined;
  return resumeSession(ctx.store, token, ctx.deps.sessions, ctx.deps.now());
}

/** The OIDC sessions (their uids) a Gatehouse session signed in, while it has not ended. */
export async function linkedOidcSessions(ctx: AppContext, gatehouseSessionId: string) {
  const r = await ctx.store.oidc.find(LINK_BY_GATEHOUSE, gatehouseSessionId, ctx.deps.now());
  return (r?.payload.uids as string[] | undefined) ?? [];
}

async function linkedGatehouseSession(ctx: AppContext, oidcUid: string) {
  const r = await ctx.store.oidc.find(LINK_BY_OIDC, oidcUid, ctx.deps.now());
  return r?.payload.gatehouseSessionId as string | undefined;
}

/**
 * Remembers that this Gatehouse session signed in this OIDC session (both directions), until a
 * day past the session's absolute timeout: the expiry sweep that tells the apps may run late.
 */
async function link(ctx: AppContext, gatehouseSessionId: string, oidcUid: string, ends: Date) {
  const store = ctx.store;
  const now = ctx.deps.now();
  const exp = new Date(ends.getTime() + SESSION_RECORD_GRACE_MS);
  const existing = await store.oidc.find(LINK_BY_GATEHOUSE, gatehouseSessionId, now);
  const uids = new Set((existing?.payload.uids as string[] | undefined) ?? []);
  uids.add(oidcUid);
  await store.oidc.upsert(LINK_BY_GATEHOUSE, gatehouseSessionId, { uids: [...uids] }, exp, {});
  await store.oidc.upsert(LINK_BY_OIDC, oidcUid, { gatehouseSessionId }, exp, {});
}

export async function createProvider(ctx: AppContext): Promise<OidcProvider> {
  const { store } = ctx;
  const now = ctx.deps.now();
  const keys = await signingKeys(store, now);
  const issuer = oidcIssuer(ctx.deps.publicUrl);

  const { base, Check } = interactionPolicy;
  const policy = base();
  // Every authorization needs the browser's live Gatehouse session, the one this OIDC session
  // came from: a Gatehouse logout or expiry is a logout from the apps too.
  policy.get("login").checks.add(
    new Check(
      "gatehouse_session",
      "no live Gatehouse session for this sign-in",
      async (k: KoaCtx) => {
        const session = await gatehouseSessionOf(ctx, k);
        const oidc = k.oidc.session;
        if (session === undefined || oidc.accountId !== session.userId) return Check.REQUEST_PROMPT;
        const linked = await linkedGatehouseSession(ctx, oidc.uid);
        return linked === session.id ? Check.NO_NEED_TO_PROMPT : Check.REQUEST_PROMPT;
      },
    ),
  );

  const configuration = {
    adapter: adapterFor(ctx),
    jwks: { keys: keys.map((k) => ({ ...k.jwk })) },
    cookies: { keys: await cookieKeys(store, now) },
    clients: [],
    // oidc-provider refuses private and loopback addresses for its outgoing calls (SSRF from
    // dynamically registered clients). Ours are registered by an admin and are usually on the
    // team's own network, so back-channel logout goes wherever the admin registered.
    fetch: (url: string, options: RequestInit & { dispatcher?: unknown }) => {
      const { dispatcher: _ignored, ...rest } = options;
      return fetch(url, rest);
    },
    responseTypes: ["code"],
    pkce: { required: () => true },
    scopes: ["openid", "email", "profile"],
    // sid is a protocol claim: listed so it is supported (and released) at all. amr is released
    // with the openid scope (SCOPE_CLAIMS): oidc-provider puts only masked claims in tokens.
    claims: { ...SCOPE_CLAIMS, sid: null },
    // Scope claims in the ID token too, not only at userinfo: apps read who signed in from it.
    conformIdTokenClaims: false,
    // OpenID Connect Front-Channel Logout 1.0, which oidc-provider 9 does not implement: Gatehouse
    // renders the apps' iframes itself (frontchannel.ts). The client metadata of section 2 is
    // accepted, checked by the registration rule, and advertised as section 3 says.
    extraClientMetadata: {
      properties: ["frontchannel_logout_uri", "frontchannel_logout_session_required"],
      validator: frontchannelMetadata,
    },
    discovery: { frontchannel_logout_supported: true, frontchannel_logout_session_supported: true },
    features: {
      devInteractions: { enabled: false },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      revocation: { enabled: true },
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: 3600,
      Interaction: 600,
      Grant: 14 * 24 * 3600,
      // Outlives the Gatehouse session by the grace period, so the expiry sweep still finds it to
      // tell the apps; it is only usable while its Gatehouse session is live (the login check).
      Session: ctx.deps.sessions.absoluteHours * 3600 + SESSION_RECORD_GRACE_MS / 1000,
    },
    interactions: {
      policy,
      url: (_k: KoaCtx, interaction: { uid: string }) =>
        `${OIDC_PATH}/interaction/${interaction.uid}`,
    },
    async findAccount(k: KoaCtx, id: string) {
      const user = await store.users.get(id);
      if (user === undefined || user.disabled) return undefined;
      const account = await store.accounts.get(user.accountId);
      if (account === undefined) return undefined;
      return {
        accountId: id,
        claims: async () => ({ ...userClaims(user, account), ...(await signInClaims(ctx, k)) }),
      };
    },
    // Implicit consent: the clients are the SaaS team's own apps (first party), registered by
    // an admin; the person has already chosen to sign in to them.
    async loadExistingGrant(k: KoaCtx) {
      const clientId = k.oidc.client.clientId;
      const oidcSession = k.oidc.session;
      const fresh = k.oidc.result?.gatehouse?.sessionId as string | undefined;
      const gatehouseSessionId = fresh ?? (await linkedGatehouseSession(ctx, oidcSession.uid));
      if (fresh !== undefined) {
        const live = await store.sessions.getLive(fresh, ctx.deps.now());
        if (live !== undefined) await link(ctx, fresh, oidcSession.uid, live.absoluteExpiresAt);
      }
      if (gatehouseSessionId !== undefined)
        oidcSession.sidFor(clientId, publicSid({ id: gatehouseSessionId }));
      const grantId = oidcSession.grantIdFor(clientId);
      const existing = grantId ? await k.oidc.provider.Grant.find(grantId) : undefined;
      if (existing) return existing;
      const grant = new k.oidc.provider.Grant({ clientId, accountId: oidcSession.accountId });
      grant.addOIDCScope("openid email profile");
      grant.addOIDCClaims(["amr"]);
      await grant.save();
      return grant;
    },
    async renderError(k: KoaCtx, out: { error: string; error_description?: string }) {
      k.type = "html";
      k.body = ctx.views.page(
        "message",
        {
          heading: "Sign-in to the app failed",
          message: `${out.error}: ${out.error_description ?? ""}`,
        },
        { title: "Sign-in failed" },
      );
    },
  };
  const provider = new Provider(issuer, configuration);
  // Front-Channel Logout 1.0, section 3: the sid the iframe's URL carries is in the app's ID
  // tokens too, so it can match them. oidc-provider adds sid only for back-channel clients.
  const includeSid = provider.Client.prototype.includeSid;
  provider.Client.prototype.includeSid = function (this: Record<string, unknown>) {
    return (
      includeSid.call(this) ||
      (this.frontchannel_logout_uri !== undefined &&
        this.frontchannel_logout_session_required === true)
    );
  };
  provider.proxy = ctx.deps.trustProxy !== undefined && ctx.deps.trustProxy !== false;
  return provider;
}

/**
 * extraClientMetadata's validator (called once per property, in order, synchronously): the
 * registration rule of domain/oidc.ts applied again to what the store holds, and section 2's
 * default (false) for frontchannel_logout_session_required when a URI comes without it.
 */
function frontchannelMetadata(
  _k: KoaCtx,
  key: string,
  value: unknown,
  metadata: Record<string, unknown>,
): void {
  if (key === "frontchannel_logout_uri") {
    if (value === undefined) return;
    const redirectUris = Array.isArray(metadata.redirect_uris) ? metadata.redirect_uris : [];
    try {
      frontchannelLogoutUri(key, value, redirectUris);
    } catch (e) {
      if (e instanceof AdminError) throw new errors.InvalidClientMetadata(e.message);
      throw e;
    }
  } else if (key === "frontchannel_logout_session_required") {
    if (value === undefined) {
      if (metadata.frontchannel_logout_uri !== undefined) metadata[key] = false;
    } else if (typeof value !== "boolean") {
      throw new errors.InvalidClientMetadata(`${key} must be a boolean`);
    }
  }
}

/**
 * The rules of Gatehouse as an OpenID Provider for the SaaS team's own apps (issue 4): which
 * clients may be registered, their one-time secrets, the signing keys and their rotation, the
 * claims an app receives, and the `sid` an app sees for a Gatehouse session.
 * The protocol itself is oidc-provider's (src/http/oidc/); this decides what it is fed.
 */

import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import { type Actor, AdminError } from "./admin.ts";
import { audit } from "./audit.ts";
import { newId } from "./ids.ts";
import type { Account, Session, User } from "./model.ts";
import { newSecret } from "./secrets.ts";
import type { OidcClientRecord, OidcSigningKey, Store } from "./store.ts";

/** What an admin registers. */
export interface ClientInput {
  readonly name: string;
  /** Exact redirect URIs (OpenID Connect Core 3.1.2.1: compared by simple string comparison). */
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  /** OpenID Connect Back-Channel Logout 1.0, section 2.2. */
  readonly backchannelLogoutUri?: string | null;
  /** OpenID Connect Front-Channel Logout 1.0, section 2: loaded in an iframe at logout. */
  readonly frontchannelLogoutUri?: string | null;
  /**
   * Whether the iframe's URL carries `iss` and `sid` (Front-Channel Logout 1.0, section 2).
   * Ours defaults to true (the spec's default is false): an app that cannot read its own cookie
   * in a third-party iframe can still find the session by `sid`.
   */
  readonly frontchannelLogoutSessionRequired?: boolean;
  /**
   * "confidential" (client_secret_basic, a server-side app) or "public" (none: a browser or
   * native app, which PKCE alone protects).
   */
  readonly type?: "confidential" | "public";
}

export interface ClientView {
  readonly clientId: string;
  readonly name: string;
  readonly type: "confidential" | "public";
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  readonly backchannelLogoutUri: string | null;
  readonly frontchannelLogoutUri: string | null;
  /** Meaningful only with a frontchannelLogoutUri (false without one). */
  readonly frontchannelLogoutSessionRequired: boolean;
  readonly createdAt: Date;
}

const MAX_URIS = 20;

/**
 * An absolute URI an app may be sent to: https, or http only to this machine (development);
 * no fragment (RFC 6749 3.1.2), no credentials. Compared exactly later, so stored as typed.
 */
function appUri(field: string, value: unknown): string {
  if (typeof value !== "string" || value.length > 2000 || !URL.canParse(value))
    throw new AdminError(field, `${field}: "${String(value)}" is not an absolute URL.`);
  const u = new URL(value);
  const local = ["localhost", "127.0.0.1", "[::1]"].includes(u.hostname);
  if (u.protocol !== "https:" && !(u.protocol === "http:" && local))
    throw new AdminError(
      field,
      `${field}: ${value} must use https (http is accepted for localhost and 127.0.0.1 only).`,
    );
  if (u.hash !== "" || value.includes("#"))
    throw new AdminError(field, `${field}: ${value} must not contain a fragment (#).`);
  if (u.username !== "" || u.password !== "")
    throw new AdminError(field, `${field}: ${value} must not contain a user name or password.`);
  return value;
}

/**
 * A front-channel logout URI (Front-Channel Logout 1.0, section 2): an app URI as above whose
 * scheme, host and port are those of one of the client's redirect URIs ("MUST be the same").
 * Its query, if any, is kept as registered; iss and sid are appended to it (section 3).
 */
export function frontchannelLogoutUri(
  field: string,
  value: unknown,
  redirectUris: readonly string[],
): string {
  const uri = appUri(field, value);
  const origin = new URL(uri).origin;
  if (!redirectUris.some((r) => URL.canParse(r) && new URL(r).origin === origin))
    throw new AdminError(
      field,
      `${field}: ${uri} must have the scheme, host and port of one of the redirect URIs (${redirectUris.join(", ")}).`,
    );
  return uri;
}

function uris(field: string, values: readonly unknown[] | undefined, required: boolean): string[] {
  if (values !== undefined && !Array.isArray(values))
    throw new AdminError(field, `${field}: a list of URLs.`);
  const list = values ?? [];
  if (required && list.length === 0)
    throw new AdminError(field, `${field}: at least one URL is required.`);
  if (list.length > MAX_URIS) throw new AdminError(field, `${field}: at most ${MAX_URIS} URLs.`);
  return [...new Set(list.map((v) => appUri(field, v)))];
}

export function clientView(record: OidcClientRecord): ClientView {
  const m = record.metadata;
  return {
    clientId: record.clientId,
    name: String(m.client_name ?? ""),
    type: m.token_endpoint_auth_method === "none" ? "public" : "confidential",
    redirectUris: (m.redirect_uris as string[] | undefined) ?? [],
    postLogoutRedirectUris: (m.post_logout_redirect_uris as string[] | undefined) ?? [],
    backchannelLogoutUri: (m.backchannel_logout_uri as string | undefined) ?? null,
    frontchannelLogoutUri: (m.frontchannel_logout_uri as string | undefined) ?? null,
    frontchannelLogoutSessionRequired:
      m.frontchannel_logout_uri !== undefined && m.frontchannel_logout_session_required === true,
    createdAt: record.createdAt,
  };
}

/** Every registered client, oldest first as the store lists them, without secrets. */
export async function listClients(store: Store): Promise<ClientView[]> {
  return (await store.oidc.listClients()).map(clientView);
}

/**
 * Registers a client. The secret is returned once, here, and never again by any API.
 *
 * It is stored as issued, not hashed: oidc-provider compares client_secret_basic secrets itself
 * (constant time) and needs the value. Whoever can read the database already holds the ID token
 * signing keys, so a hash would not protect what the secret protects; apps that cannot keep a
 * secret register as "public" (no secret, PKCE only).
 */
export async function addClient(
  store: Store,
  input: ClientInput,
  who: Actor,
  now: Date,
): Promise<{ client: ClientView; clientSecret: string | null }> {
  const name = typeof input.name === "string" ? input.name.trim() : "";
  if (name === "" || name.length > 200)
    throw new AdminError("name", "name: a display name of 1 to 200 characters is required.");
  const type = input.type ?? "confidential";
  if (type !== "confidential" && type !== "public")
    throw new AdminError("type", 'type: "confidential" or "public".');
  const redirectUris = uris("redirectUris", input.redirectUris, true);
  const postLogout = uris("postLogoutRedirectUris", input.postLogoutRedirectUris, false);
  const backchannel =
    input.backchannelLogoutUri == null
      ? null
      : appUri("backchannelLogoutUri", input.backchannelLogoutUri);
  const frontchannel =
    input.frontchannelLogoutUri == null
      ? null
      : frontchannelLogoutUri("frontchannelLogoutUri", input.frontchannelLogoutUri, redirectUris);
  const sessionRequired = input.frontchannelLogoutSessionRequired;
  if (sessionRequired !== undefined && typeof sessionRequired !== "boolean")
    throw new AdminError(
      "frontchannelLogoutSessionRequired",
      "frontchannelLogoutSessionRequired: true or false.",
    );
  if (sessionRequired !== undefined && frontchannel === null)
    throw new AdminError(
      "frontchannelLogoutSessionRequired",
      "frontchannelLogoutSessionRequired: only with a frontchannelLogoutUri.",
    );
  const clientId = newId("app");
  const clientSecret = type === "confidential" ? newSecret() : null;
  const metadata: Record<string, unknown> = {
    client_id: clientId,
    client_name: name,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogout,
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: type === "public" ? "none" : "client_secret_basic",
    ...(clientSecret === null ? {} : { client_secret: clientSecret }),
    ...(backchannel === null
      ? {}
      : { backchannel_logout_uri: backchannel, backchannel_logout_session_required: true }),
    ...(frontchannel === null
      ? {}
      : {
          frontchannel_logout_uri: frontchannel,
          frontchannel_logout_session_required: sessionRequired ?? true,
        }),
  };
  const record = { clientId, metadata, createdAt: now };
  await store.oidc.createClient(record);
  await audit(
    store,
    {
      type: "admin.oidc_client.create",
      outcome: "success",
      actor: who.actor,
      ip: who.ip ?? null,
      detail: {
        clientId,
        name,
        type,
        redirectUris,
        backchannelLogoutUri: backchannel,
        frontchannelLogoutUri: frontchannel,
      },
    },
    now,
  );
  return { client: clientView(record), clientSecret };
}

export async function removeClient(
  store: Store,
  clientId: string,
  who: Actor,
  now: Date,
): Promise<void> {
  if (!(await store.oidc.removeClient(clientId)))
    throw new AdminError("clientId", "No such client.", 404);
  await audit(
    store,
    {
      type: "admin.oidc_client.remove",
      outcome: "success",
      actor: who.actor,
      ip: who.ip ?? null,
      detail: { clientId },
    },
    now,
  );
}

// ------------------------------------------------------------------------------ signing keys

/** RS256: what every OpenID Connect relying party must accept (Core 15.1). */
function newSigningKey(now: Date): OidcSigningKey {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomBytes(12).toString("base64url");
  const jwk = { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
  return { kid, jwk, createdAt: now };
}

/** The stored keys, newest (the signing one) first; a first key is made when there is none. */
export async function signingKeys(store: Store, now: Date): Promise<OidcSigningKey[]> {
  const keys = await store.oidc.listKeys();
  if (keys.length > 0) return keys;
  await store.oidc.addKey(newSigningKey(now));
  return store.oidc.listKeys();
}

/**
 * Key rotation: a new key becomes the signing key; the previous ones stay published in the JWKS
 * until everything they signed has expired (`retainMs` after they stopped signing), then go.
 */
export async function rotateSigningKeys(
  store: Store,
  retainMs: number,
  who: Actor,
  now: Date,
): Promise<{ active: string; retired: string[] }> {
  const fresh = newSigningKey(now);
  await store.oidc.addKey(fresh);
  const keys = await store.oidc.listKeys();
  const retired: string[] = [];
  // keys[i] stopped signing when keys[i - 1] (the next newer one) was created.
  for (let i = 1; i < keys.length; i++) {
    const supersededAt = keys[i - 1]!.createdAt.getTime();
    if (keys[i]!.kid !== fresh.kid && now.getTime() - supersededAt >= retainMs) {
      await store.oidc.removeKey(keys[i]!.kid);
      retired.push(keys[i]!.kid);
    }
  }
  await audit(
    store,
    {
      type: "admin.oidc_keys.rotate",
      outcome: "success",
      actor: who.actor,
      ip: who.ip ?? null,
      detail: { active: fresh.kid, retired },
    },
    now,
  );
  return { active: fresh.kid, retired };
}

// ------------------------------------------------------------------------------------ claims

/**
 * The `sid` apps see for a Gatehouse session (Back-Channel Logout 1.0, section 2.1): derived from
 * the session's stored ID, so it names the session without being a key to anything.
 */
export function publicSid(session: Pick<Session, "id">): string {
  return createHash("sha256").update(`gatehouse-sid\0${session.id}`).digest("base64url");
}

/** Authentication Method References (RFC 8176): how the Gatehouse session was proven. */
export function amrOf(session: Pick<Session, "method" | "mfa">): string[] {
  const amr = [session.method === "saml" ? "saml" : "pwd"];
  if (session.mfa) amr.push("mfa");
  return amr;
}

/**
 * Which claims each scope releases. `account` and `role` are Gatehouse's own; `amr` says how the
 * Gatehouse session was proven; `groups` and `roles` are what the IdP said (see IDP_CLAIMS), only
 * present when it said them.
 */
export const SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  openid: ["sub", "amr"],
  email: ["email"],
  profile: ["name", "account", "role", "groups", "roles"],
};

/** The claims of a user: `sub` is the user ID, stable across email and username changes. */
export function userClaims(user: User, account: Account): Record<string, unknown> {
  return {
    sub: user.id,
    email: user.email,
    name: user.username,
    account: { id: account.id, name: account.name },
    role: user.role,
  };
}

// ------------------------------------------------------------------------------- IdP claims

/**
 * The IdP claims passed on to the apps, by the claim name apps read them under, and the SAML
 * attributes each is read from (the first one present wins): Entra's group object IDs and app
 * role values (ENTRA.md), or the short names other IdPs use. Entra drops the groups claim above
 * 150 groups (sending groups.link instead): then there is no `groups` claim.
 */
export const IDP_CLAIMS: Readonly<Record<"groups" | "roles", readonly string[]>> = {
  groups: ["http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", "groups"],
  roles: ["http://schemas.microsoft.com/ws/2008/06/identity/claims/role", "roles", "role"],
};

export type IdpClaims = Readonly<Partial<Record<keyof typeof IDP_CLAIMS, readonly string[]>>>;

/** Bounds on what one login may store (Entra sends at most 150 groups in a SAML token). */
const MAX_IDP_VALUES = 200;
const MAX_IDP_VALUE_LENGTH = 256;

/** What the apps get of a verified assertion's attributes. */
export function idpClaimsOf(attributes: Readonly<Record<string, readonly string[]>>): IdpClaims {
  const out: Partial<Record<keyof typeof IDP_CLAIMS, readonly string[]>> = {};
  for (const [claim, sources] of Object.entries(IDP_CLAIMS) as [
    keyof typeof IDP_CLAIMS,
    readonly string[],
  ][]) {
    const values = sources.map((name) => attributes[name]).find((v) => v !== undefined);
    if (values === undefined) continue;
    out[claim] = [...new Set(values.filter((v) => v.length <= MAX_IDP_VALUE_LENGTH))].slice(
      0,
      MAX_IDP_VALUES,
    );
  }
  return out;
}

/** Where a Gatehouse session's IdP claims are kept (an OIDC record, keyed by the session ID). */
export const IDP_CLAIMS_RECORD = "GatehouseIdpClaims";
/** Kept a day past the session, so an expiry noticed late still finds them. */
export const SESSION_RECORD_GRACE_MS = 24 * 3600 * 1000;

/** Keeps the IdP claims of a SAML login for the apps this session signs in to. */
export async function keepIdpClaims(
  store: Store,
  session: Pick<Session, "id" | "absoluteExpiresAt">,
  claims: IdpClaims,
): Promise<void> {
  if (Object.keys(claims).length === 0) return;
  const expiresAt = new Date(session.absoluteExpiresAt.getTime() + SESSION_RECORD_GRACE_MS);
  await store.oidc.upsert(IDP_CLAIMS_RECORD, session.id, { ...claims }, expiresAt, {});
}

export async function idpClaimsFor(store: Store, sessionId: string, now: Date): Promise<IdpClaims> {
  const found = await store.oidc.find(IDP_CLAIMS_RECORD, sessionId, now);
  if (found === undefined) return {};
  const out: Partial<Record<keyof typeof IDP_CLAIMS, readonly string[]>> = {};
  for (const claim of Object.keys(IDP_CLAIMS) as (keyof typeof IDP_CLAIMS)[]) {
    const v = found.payload[claim];
    if (Array.isArray(v)) out[claim] = v.filter((x): x is string => typeof x === "string");
  }
  return out;
}

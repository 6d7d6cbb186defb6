/**
 * Single Logout, both directions (saml-profiles-2.0-os 4.4; ENTRA.md, Single Logout):
 *
 * - POST /logout (the dashboard's button): the local session ends first, always; then, for a
 *   SAML session whose connection has a Logout URL, a LogoutRequest goes to the IdP, bound to
 *   this browser like the login request.
 * - GET and POST /api/auth/saml/logout/callback (XCALLY's Logout URL): the IdP's LogoutResponse
 *   to that request, or the IdP's own LogoutRequest (the person signed out elsewhere), which
 *   ends the sessions it names and is answered with our LogoutResponse.
 *
 * Never let the IdP's behaviour block the local logout: a LogoutResponse that fails validation
 * is audited, and the person is still told they are logged out here.
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { audit } from "../../domain/audit.ts";
import {
  END_REASON_IDP_LOGOUT,
  END_REASON_LOGOUT,
  endSessionsForIdpLogout,
  logoutIssuers,
} from "../../domain/logout.ts";
import type { Connection, Session } from "../../domain/model.ts";
import { hashSecret, newReference, newSecret } from "../../domain/secrets.ts";
import { SamlError } from "../../saml/errors.ts";
import {
  buildLogoutRequest,
  buildLogoutResponse,
  type LogoutMessageInput,
  parseLogoutRequest,
  type VerifiedLogoutRequest,
  type VerifiedLogoutResponse,
  validateLogoutRequest,
  validateLogoutResponse,
} from "../../saml/logout.ts";
import { decodeMessage } from "../../saml/message.ts";
import { decodeRedirectMessage } from "../../saml/redirect.ts";
import type { AppContext } from "../context.ts";
import { cookieOptions, LOGOUT_REQUEST_COOKIE, SESSION_COOKIE } from "../cookies.ts";
import { frontchannelTargets, sendFrontchannelPage } from "../oidc/frontchannel.ts";

export const SLO_PATH = "/api/auth/saml/logout/callback";
const MAX_LOGOUT_BYTES = 64 * 1024;
/** How long the IdP has to answer our LogoutRequest. */
const LOGOUT_REQUEST_TTL_MS = 10 * 60_000;
/** validateLogoutRequest's default: the oldest IssueInstant accepted beyond the skew. */
const LOGOUT_MAX_AGE_SECONDS = 600;
const TOKEN_KIND = "slo_request";

const IDP_NOT_CONFIRMED =
  "Your identity provider did not confirm the sign-out, so you may still be signed in there and in other apps that use it. Close your browser to end that session too.";

/** The LogoutRequest we sent, kept as a one-time token whose secret is in this browser's cookie. */
interface PendingLogout {
  readonly requestId: string;
  readonly connectionId: string;
  readonly userId: string;
  readonly accountId: string;
}

type Inbound =
  | { readonly kind: "request" | "response"; readonly input: LogoutMessageInput }
  | { readonly kind: "invalid"; readonly note: string };

export function sloRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.post("/logout", async (req, reply) => logout(ctx, req, reply));
  const callback = async (req: FastifyRequest, reply: FastifyReply) => {
    const inbound = readInbound(req);
    if (inbound.kind === "invalid")
      return refuseRequest(ctx, req, reply, "logout_invalid", undefined, { note: inbound.note });
    return inbound.kind === "request"
      ? idpLogoutRequest(ctx, req, reply, inbound.input)
      : idpLogoutResponse(ctx, req, reply, inbound.input);
  };
  app.get(SLO_PATH, callback);
  app.post(SLO_PATH, { bodyLimit: MAX_LOGOUT_BYTES * 2 }, callback);
}

// ---------------------------------------------------------------------------------------------
// SP-initiated: the person logs out here.

async function logout(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { store } = ctx;
  const now = ctx.deps.now();
  if (!ctx.csrfValid(req)) {
    const reference = newReference();
    await audit(
      store,
      {
        type: "logout",
        outcome: "failure",
        reason: "csrf_invalid",
        actor: "anonymous",
        ip: req.ip,
        reference,
      },
      now,
    );
    return ctx.page(
      reply,
      "error",
      {
        heading: "You are still signed in",
        message:
          "This page was open too long or came from another site. Go back to your dashboard and select Log out again.",
        reference,
        back: "/dashboard",
      },
      { title: "Log out" },
      403,
    );
  }

  // The local session ends first, whatever the IdP does next.
  const token = req.cookies[SESSION_COOKIE];
  reply.clearCookie(SESSION_COOKIE, cookieOptions(ctx.deps.publicUrl, "session"));
  const session =
    typeof token === "string" && token !== ""
      ? await store.sessions.getLive(hashSecret(token), now)
      : undefined;
  if (session === undefined) return reply.redirect("/login?logged_out", 303);
  // Read before the session ends: ending it ends the apps' OIDC sessions these are read from.
  const frontchannel = await frontchannelTargets(ctx, [session.id]);
  await store.sessions.end(session.id, now, END_REASON_LOGOUT);

  const connection =
    session.method === "saml" && session.connectionId !== null
      ? await store.connections.get(session.connectionId)
      : undefined;
  const request =
    connection?.sloUrl != null && session.nameId !== null && session.nameId !== ""
      ? sloRequest(ctx, connection, connection.sloUrl, session, now)
      : undefined;

  await audit(
    store,
    {
      type: "logout",
      outcome: "success",
      reason: request === undefined ? "local" : "slo_requested",
      accountId: session.accountId,
      userId: session.userId,
      connectionId: session.connectionId,
      actor: `user:${session.userId}`,
      ip: req.ip,
      detail: {
        method: session.method,
        sessionIndex: session.sessionIndex,
        logoutRequestId: request?.id ?? null,
        sloUrl: connection?.sloUrl ?? null,
      },
    },
    now,
  );
  if (request === undefined || connection === undefined) {
    if (frontchannel.length > 0)
      return sendFrontchannelPage(ctx, req, reply, frontchannel, {
        continueTo: "/login?logged_out",
        endReason: END_REASON_LOGOUT,
      });
    return reply.redirect("/login?logged_out", 303);
  }

  // Bind the request to this browser: only it can have its LogoutResponse accepted.
  const nonce = newSecret();
  const pending: PendingLogout = {
    requestId: request.id,
    connectionId: connection.id,
    userId: session.userId,
    accountId: session.accountId,
  };
  await store.tokens.put({
    hash: hashSecret(nonce),
    kind: TOKEN_KIND,
    payload: { ...pending },
    createdAt: now,
    expiresAt: new Date(now.getTime() + LOGOUT_REQUEST_TTL_MS),
  });
  // Entra answers with a top-level GET (Lax suffices); other IdPs may POST cross-site.
  reply.setCookie(
    LOGOUT_REQUEST_COOKIE,
    nonce,
    cookieOptions(ctx.deps.publicUrl, "cross-site", LOGOUT_REQUEST_TTL_MS / 1000),
  );
  // The apps' iframes first, then on to the IdP.
  if (frontchannel.length > 0)
    return sendFrontchannelPage(ctx, req, reply, frontchannel, {
      continueTo: request.url,
      endReason: END_REASON_LOGOUT,
    });
  return reply.header("cache-control", "no-store").redirect(request.url, 303);
}

function sloRequest(
  ctx: AppContext,
  connection: Connection,
  sloUrl: string,
  session: Session,
  now: Date,
) {
  return buildLogoutRequest({
    spEntityId: connection.spEntityId,
    destination: sloUrl,
    // Entra refuses a LogoutRequest without NameID (AADSTS7500530): the one received at login.
    nameId: session.nameId!,
    nameIdFormat: session.nameIdFormat ?? undefined,
    sessionIndex: session.sessionIndex ?? undefined,
    now,
    reason: "urn:oasis:names:tc:SAML:2.0:logout:user",
    ...(connection.signRequests && ctx.deps.spKey !== undefined
      ? { signing: { privateKey: ctx.deps.spKey.privateKey } }
      : {}),
  });
}

/** The IdP's answer to our LogoutRequest. */
async function idpLogoutResponse(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
  input: LogoutMessageInput,
): Promise<FastifyReply> {
  const { store } = ctx;
  const now = ctx.deps.now();
  const nonce = req.cookies[LOGOUT_REQUEST_COOKIE];
  let pending: PendingLogout | undefined;
  if (typeof nonce === "string") {
    reply.clearCookie(LOGOUT_REQUEST_COOKIE, cookieOptions(ctx.deps.publicUrl, "cross-site"));
    if (nonce !== "") {
      const token = await store.tokens.consume(hashSecret(nonce), TOKEN_KIND, now);
      pending = token?.payload as PendingLogout | undefined;
    }
  }
  if (pending === undefined) {
    // No request of ours from this browser (expired, another browser, or unsolicited): nothing
    // to confirm. The local session, if any, was ended by POST /logout already.
    return unconfirmed(ctx, req, reply, "logout_request_unknown", undefined, {
      note: "no LogoutRequest of this browser is outstanding",
    });
  }
  const connection = await store.connections.get(pending.connectionId);
  if (connection === undefined) {
    return unconfirmed(ctx, req, reply, "connection_unknown", pending, {
      connectionId: pending.connectionId,
    });
  }

  let verified: VerifiedLogoutResponse;
  try {
    verified = validateLogoutResponse(input, {
      certificates: ctx.runtime(connection).certificates,
      idpEntityIds: logoutIssuers(connection),
      sloUrl: ctx.url(SLO_PATH),
      now,
      clockSkewSeconds: ctx.deps.clockSkewSeconds,
      algorithms: { allowSha1: connection.allowSha1 },
      maxBytes: MAX_LOGOUT_BYTES,
      expectedInResponseTo: pending.requestId,
      // Entra does not sign its LogoutResponses reliably; one that is signed is verified.
      requireSignature: false,
    });
  } catch (e) {
    if (!(e instanceof SamlError)) throw e;
    return unconfirmed(ctx, req, reply, e.code, pending, {
      message: e.message,
      ...e.detail,
      fix: e.fix,
      binding: input.binding,
    });
  }
  if (!verified.success) {
    return unconfirmed(ctx, req, reply, "status_not_success", pending, {
      statusCodes: verified.statusCodes,
      statusMessage: verified.statusMessage ?? null,
      issuer: verified.issuer,
    });
  }
  await audit(
    store,
    {
      type: "logout.slo",
      outcome: "success",
      reason: "idp_confirmed",
      accountId: pending.accountId,
      userId: pending.userId,
      connectionId: connection.id,
      actor: `user:${pending.userId}`,
      ip: req.ip,
      detail: {
        logoutRequestId: pending.requestId,
        issuer: verified.issuer,
        signed: verified.signed,
        binding: verified.binding,
      },
    },
    now,
  );
  return reply.header("cache-control", "no-store").redirect("/login?logged_out", 303);
}

/** Logged out here, but the IdP did not confirm: audited, and said plainly. */
async function unconfirmed(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
  reason: string,
  pending: PendingLogout | undefined,
  detail: Record<string, unknown>,
): Promise<FastifyReply> {
  const reference = newReference();
  await audit(
    ctx.store,
    {
      type: "logout.slo",
      outcome: "failure",
      reason,
      accountId: pending?.accountId ?? null,
      userId: pending?.userId ?? null,
      connectionId: pending?.connectionId ?? null,
      actor: pending === undefined ? "anonymous" : `user:${pending.userId}`,
      ip: req.ip,
      reference,
      detail: { logoutRequestId: pending?.requestId ?? null, ...detail },
    },
    ctx.deps.now(),
  );
  return ctx.page(
    reply,
    "logged-out",
    { note: IDP_NOT_CONFIRMED, reference },
    { title: "Logged out" },
  );
}

// ---------------------------------------------------------------------------------------------
// IdP-initiated: the person signed out at the IdP or in another app.

async function idpLogoutRequest(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
  input: LogoutMessageInput,
): Promise<FastifyReply> {
  const { store } = ctx;
  const now = ctx.deps.now();

  // The Issuer, read without trust, only selects whose certificates to verify with.
  let issuer: string | undefined;
  try {
    issuer = peekIssuer(input);
  } catch (e) {
    if (!(e instanceof SamlError)) throw e;
    return refuseRequest(ctx, req, reply, e.code, undefined, { message: e.message, ...e.detail });
  }
  const candidates = (await store.connections.listActive()).filter(
    (c) => issuer !== undefined && logoutIssuers(c).includes(issuer),
  );
  if (candidates.length === 0) {
    return refuseRequest(ctx, req, reply, "connection_unknown", undefined, {
      issuer: issuer ?? null,
      note: "no active connection has this IdP entity ID",
    });
  }

  // Several connections may share one IdP (two apps of one Entra tenant): the one whose
  // certificates verify the signature is the sender.
  let verified: VerifiedLogoutRequest | undefined;
  let connection: Connection | undefined;
  let firstError: SamlError | undefined;
  for (const candidate of candidates) {
    try {
      verified = validateLogoutRequest(input, {
        certificates: ctx.runtime(candidate).certificates,
        idpEntityIds: logoutIssuers(candidate),
        sloUrl: ctx.url(SLO_PATH),
        now,
        clockSkewSeconds: ctx.deps.clockSkewSeconds,
        maxAgeSeconds: LOGOUT_MAX_AGE_SECONDS,
        algorithms: { allowSha1: candidate.allowSha1 },
        maxBytes: MAX_LOGOUT_BYTES,
        // A LogoutRequest ends sessions: only one the IdP signed is acted on.
        requireSignature: true,
      });
      connection = candidate;
      break;
    } catch (e) {
      if (!(e instanceof SamlError)) throw e;
      firstError ??= e;
    }
  }
  if (verified === undefined || connection === undefined) {
    const e = firstError!;
    return refuseRequest(
      ctx,
      req,
      reply,
      e.code,
      candidates.length === 1 ? candidates[0] : undefined,
      { message: e.message, ...e.detail, fix: e.fix, issuer, binding: input.binding },
    );
  }

  // Idempotent: the same request again (Entra may resend, or send the initiating app one of its
  // own) ends nothing and is still answered Success. The key outlives the request's validity.
  const skewMs = ctx.deps.clockSkewSeconds * 1000;
  const validUntil =
    verified.issueInstant.getTime() + skewMs + LOGOUT_MAX_AGE_SECONDS * 1000 + 60_000;
  const fresh = await store.replay.consume(
    `slo:${connection.id}:${verified.id}`,
    new Date(Math.max(validUntil, now.getTime() + 60_000)),
    now,
  );
  // This browser's own session, if the request ends it, has its apps told in this browser too
  // (front-channel): read before it ends. Other browsers' sessions it ends hear by back-channel.
  const token = req.cookies[SESSION_COOKIE];
  const browserSession = typeof token === "string" && token !== "" ? hashSecret(token) : undefined;
  const frontchannel =
    fresh && browserSession !== undefined ? await frontchannelTargets(ctx, [browserSession]) : [];
  const ended = fresh ? await endSessionsForIdpLogout(store, connection.id, verified, now) : [];
  const endedHere = ended.some((s) => s.id === browserSession);
  const users = [...new Set(ended.map((s) => s.userId))];
  await audit(
    store,
    {
      type: "logout.idp",
      outcome: "success",
      reason: fresh ? "idp_logout" : "repeated_request",
      accountId: connection.accountId,
      userId: users.length === 1 ? users[0] : null,
      connectionId: connection.id,
      actor: "idp",
      ip: req.ip,
      detail: {
        requestId: verified.id,
        issuer: verified.issuer,
        nameId: verified.nameId,
        sessionIndexes: verified.sessionIndexes,
        endedSessions: ended.length,
        users,
        binding: verified.binding,
      },
    },
    now,
  );

  // This browser's own session, if it was one of them, loses its cookie too.
  if (endedHere) reply.clearCookie(SESSION_COOKIE, cookieOptions(ctx.deps.publicUrl, "session"));
  const toldHere = endedHere ? frontchannel : [];

  if (connection.sloUrl === null) {
    // Nowhere to answer: say so to the person instead.
    if (toldHere.length > 0)
      return sendFrontchannelPage(ctx, req, reply, toldHere, {
        continueTo: "/login?logged_out",
        endReason: END_REASON_IDP_LOGOUT,
      });
    return ctx.page(reply, "logged-out", {}, { title: "Logged out" });
  }
  const relayState =
    verified.relayState !== undefined && Buffer.byteLength(verified.relayState) <= 80
      ? verified.relayState
      : undefined;
  const response = buildLogoutResponse({
    spEntityId: connection.spEntityId,
    destination: connection.sloUrl,
    inResponseTo: verified.id,
    now,
    // Bindings 3.4.3: the RelayState received goes back unchanged.
    ...(relayState === undefined ? {} : { relayState }),
    ...(connection.signRequests && ctx.deps.spKey !== undefined
      ? { signing: { privateKey: ctx.deps.spKey.privateKey } }
      : {}),
  });
  // The IdP's own logout page may have loaded this one in an iframe (Entra, the mock IdP): the
  // IdP may frame the page that tells the apps before the answer goes back to it.
  if (toldHere.length > 0)
    return sendFrontchannelPage(ctx, req, reply, toldHere, {
      continueTo: response.url,
      endReason: END_REASON_IDP_LOGOUT,
      frameAncestors: URL.canParse(connection.sloUrl) ? [new URL(connection.sloUrl).origin] : [],
    });
  return reply
    .header("cache-control", "no-store")
    .redirect(response.url, req.method === "POST" ? 303 : 302);
}

/** An IdP LogoutRequest we did not act on: nothing ended, a readable page, an audit event. */
async function refuseRequest(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
  reason: string,
  connection: Connection | undefined,
  detail: Record<string, unknown>,
): Promise<FastifyReply> {
  const reference = newReference();
  await audit(
    ctx.store,
    {
      type: "logout.idp",
      outcome: "failure",
      reason,
      accountId: connection?.accountId ?? null,
      connectionId: connection?.id ?? null,
      actor: "anonymous",
      ip: req.ip,
      reference,
      detail,
    },
    ctx.deps.now(),
  );
  return ctx.page(
    reply,
    "error",
    {
      heading: "Sign-out request refused",
      message:
        "This sign-out request could not be verified as coming from your identity provider, so nothing was changed. To sign out, use Log out in the app.",
      reference,
    },
    { title: "Sign-out refused" },
    400,
  );
}

// ---------------------------------------------------------------------------------------------
// Reading the bindings.

/**
 * Which message arrived, on which binding. On Redirect the raw query string is kept exactly as
 * received: Entra signs lowercase percent-encoding (%2f), which any re-encoding would break.
 */
function readInbound(req: FastifyRequest): Inbound {
  if (req.method === "GET") {
    const url = req.raw.url ?? "";
    const at = url.indexOf("?");
    const query = at === -1 ? "" : url.slice(at + 1);
    const params = new URLSearchParams(query);
    const hasRequest = params.has("SAMLRequest");
    const hasResponse = params.has("SAMLResponse");
    if (hasRequest === hasResponse)
      return { kind: "invalid", note: "expected exactly one of SAMLRequest or SAMLResponse" };
    return {
      kind: hasRequest ? "request" : "response",
      input: { binding: "redirect", query },
    };
  }
  const body = (req.body ?? {}) as Record<string, unknown>;
  const request = typeof body.SAMLRequest === "string" ? body.SAMLRequest : undefined;
  const response = typeof body.SAMLResponse === "string" ? body.SAMLResponse : undefined;
  if ((request === undefined) === (response === undefined))
    return { kind: "invalid", note: "expected exactly one of SAMLRequest or SAMLResponse" };
  const relayState = typeof body.RelayState === "string" ? body.RelayState : undefined;
  return {
    kind: request !== undefined ? "request" : "response",
    input: { binding: "post", body: (request ?? response)!, relayState },
  };
}

/** The LogoutRequest's Issuer, unverified: used only to pick the candidate connections. */
function peekIssuer(input: LogoutMessageInput): string | undefined {
  const xml =
    input.binding === "redirect"
      ? decodeRedirectMessage(
          // As the verifier does: a space can only be an unencoded '+' of the base64.
          (new URLSearchParams(input.query).get("SAMLRequest") ?? "").replaceAll(" ", "+"),
          MAX_LOGOUT_BYTES,
        )
      : decodeMessage(input.body, MAX_LOGOUT_BYTES);
  return parseLogoutRequest(xml).issuer;
}

/**
 * The SAML endpoints of the XCALLY page: GET /api/auth/saml/login starts a login, POST
 * /api/auth/saml/callback is the Assertion Consumer Service (Entra's "Reply URL"), and SP
 * metadata per connection. Single Logout lives in slo.ts.
 */

import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { audit } from "../../domain/audit.ts";
import { activeConnection, ssoEnabled } from "../../domain/discovery.ts";
import { type MatchRefusal, matchUsers } from "../../domain/matching.ts";
import type { LoginMessageKey } from "../../domain/messages.ts";
import type { Account, Connection, User } from "../../domain/model.ts";
import { type IdpClaims, idpClaimsOf, keepIdpClaims } from "../../domain/oidc.ts";
import { hashSecret, newSecret } from "../../domain/secrets.ts";
import { startSession } from "../../domain/sessions.ts";
import { SamlError, type SamlErrorCode } from "../../saml/errors.ts";
import { decodeMessage } from "../../saml/message.ts";
import { renderSpMetadata } from "../../saml/metadata.ts";
import { SAML_ASSERTION_NS } from "../../saml/namespaces.ts";
import type { VerifiedResponse } from "../../saml/response.ts";
import { parseXml } from "../../saml/xml/parse.ts";
import { child, directText } from "../../saml/xml/tree.ts";
import { type AppContext, safeReturnPath } from "../context.ts";
import { CHOOSER_COOKIE, cookieOptions, LOGIN_REQUEST_COOKIE } from "../cookies.ts";
import { beginLogin, MAX_RESPONSE_BYTES, validateAtAcs } from "./saml-flow.ts";
import { TEST_MARK_KIND, testCallback, testMarkHash } from "./test-sso.ts";

export const ACS_PATH = "/api/auth/saml/callback";
const CHOOSER_TTL_MS = 5 * 60_000;

/** Which of Netcore's messages a refusal of the SAML core shows. */
export function messageForSamlError(code: SamlErrorCode): LoginMessageKey {
  switch (code) {
    case "status_not_success":
      return "idp_failure";
    case "expired":
    case "not_yet_valid":
    case "in_response_to_missing":
    case "in_response_to_unexpected":
    case "in_response_to_mismatch":
    case "assertion_replayed":
      return "session_expired";
    default:
      return "idp_unreachable";
  }
}

export function messageForMatchRefusal(reason: MatchRefusal): LoginMessageKey {
  switch (reason) {
    case "duplicate_users":
      return "duplicate_users";
    case "user_disabled":
      return "user_disabled";
    default:
      return "email_not_sso";
  }
}

export function samlRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { store } = ctx;

  // Starts SP-initiated login: ?connection=<id> | ?account=<name> (default: the default account),
  // optional login_hint and return_to.
  app.get("/api/auth/saml/login", async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const now = ctx.deps.now();
    let account: Account | undefined;
    let connection: Connection | undefined;
    if (typeof q.connection === "string") {
      connection = await store.connections.get(q.connection);
      account =
        connection === undefined ? undefined : await store.accounts.get(connection.accountId);
      if (connection !== undefined && !connection.active) connection = undefined;
    } else {
      const name =
        typeof q.account === "string" && q.account !== "" ? q.account : ctx.deps.defaultAccountName;
      account = name === undefined ? undefined : await store.accounts.byName(name);
      connection = account === undefined ? undefined : await activeConnection(store, account);
    }
    if (account === undefined || connection === undefined || !ssoEnabled(account)) {
      return ctx.refuse(req, reply, "account_not_sso", {
        type: "login.sso.start",
        reason:
          account === undefined
            ? "account_unknown"
            : connection === undefined
              ? "no_active_connection"
              : "saml_login_off",
        account,
        detail: { query: { connection: q.connection, account: q.account } },
      });
    }
    const loginHint =
      typeof q.login_hint === "string" && q.login_hint.length <= 320 ? q.login_hint : undefined;
    const request = await beginLogin(
      ctx,
      reply,
      connection,
      { loginHint, returnTo: safeReturnPath(q.return_to) ?? null },
      now,
    );
    return reply.header("cache-control", "no-store").redirect(request.url, 302);
  });

  const acs = async (req: FastifyRequest, reply: FastifyReply) => acsHandler(ctx, req, reply);
  app.post(ACS_PATH, { bodyLimit: MAX_RESPONSE_BYTES * 2 }, acs);
  app.post(`${ACS_PATH}/:connectionId`, { bodyLimit: MAX_RESPONSE_BYTES * 2 }, acs);

  // SP metadata, what the IT admin gives Entra (or any IdP).
  app.get("/api/auth/saml/metadata/:connectionId", async (req, reply) => {
    const { connectionId } = req.params as { connectionId: string };
    const connection = await store.connections.get(connectionId);
    if (connection === undefined)
      return reply.status(404).type("text/plain").send("No such connection.");
    const cert = ctx.deps.spKey?.certificate;
    const xml = renderSpMetadata({
      entityId: connection.spEntityId,
      acsUrl: connection.acsUrl,
      sloUrl: ctx.url("/api/auth/saml/logout/callback"),
      ...(cert === undefined
        ? {}
        : { signingCertificates: [cert], encryptionCertificates: [cert] }),
      wantAssertionsSigned: true,
      authnRequestsSigned: connection.signRequests && cert !== undefined,
    });
    return reply
      .type("application/samlmetadata+xml; charset=utf-8")
      .header(
        "content-disposition",
        `attachment; filename="gatehouse-${connection.id}-metadata.xml"`,
      )
      .send(xml);
  });

  // The person picks a profile (multi-login).
  app.post("/login/choose", async (req, reply) => {
    const body = req.body as Record<string, unknown>;
    const ticket = req.cookies[CHOOSER_COOKIE];
    const now = ctx.deps.now();
    if (
      !ctx.csrfValid(req) ||
      typeof ticket !== "string" ||
      body.ticket !== ticket ||
      typeof body.user !== "string"
    ) {
      return ctx.refuse(req, reply, "session_expired", {
        type: "login.sso",
        reason: "chooser_ticket_invalid",
      });
    }
    const token = await store.tokens.consume(hashSecret(ticket), "chooser", now);
    reply.clearCookie(CHOOSER_COOKIE, { path: "/" });
    if (token === undefined)
      return ctx.refuse(req, reply, "session_expired", {
        type: "login.sso",
        reason: "chooser_ticket_expired",
      });
    const p = token.payload as unknown as ChooserPayload;
    if (!p.userIds.includes(body.user)) {
      return ctx.refuse(req, reply, "session_expired", {
        type: "login.sso",
        reason: "chooser_user_not_offered",
      });
    }
    const user = await store.users.get(body.user);
    const connection = await store.connections.get(p.connectionId);
    if (user === undefined || user.disabled || connection === undefined) {
      return ctx.refuse(req, reply, "email_not_sso", {
        type: "login.sso",
        reason: "chooser_user_gone",
        connection,
      });
    }
    return signIn(ctx, req, reply, user, connection, p, "multi_login");
  });
}

interface ChooserPayload {
  readonly userIds: string[];
  readonly connectionId: string;
  readonly nameId: string;
  readonly nameIdFormat: string | null;
  readonly sessionIndex: string | null;
  readonly sessionNotOnOrAfter: number | null;
  readonly returnTo: string | null;
  /** The IdP's groups and roles, for the apps (absent from tickets issued before they were kept). */
  readonly idpClaims?: IdpClaims;
}

async function acsHandler(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { store } = ctx;
  const now = ctx.deps.now();
  const body = (req.body ?? {}) as Record<string, unknown>;
  const samlResponse = body.SAMLResponse;
  const relayState = typeof body.RelayState === "string" ? body.RelayState : undefined;
  if (typeof samlResponse !== "string" || samlResponse === "") {
    return ctx.refuse(req, reply, "idp_unreachable", {
      type: "login.sso",
      reason: "no_saml_response",
    });
  }

  // The outstanding request this browser started, consumed once whatever happens next.
  const cookie = req.cookies[LOGIN_REQUEST_COOKIE];
  let pending: Awaited<ReturnType<typeof store.pendingRequests.consume>>;
  if (typeof cookie === "string") {
    const [id, nonce] = cookie.split("~");
    if (id !== undefined && nonce !== undefined)
      pending = await store.pendingRequests.consume(id, hashSecret(nonce), now);
    reply.clearCookie(LOGIN_REQUEST_COOKIE, cookieOptions(ctx.deps.publicUrl, "cross-site"));
  }

  // A Test SSO login comes back to the same Reply URL (Entra posts nowhere else): the request
  // it answers carries the test mark, and the test shows its result instead of signing in.
  if (pending !== undefined) {
    const mark = await store.tokens.consume(testMarkHash(pending.id), TEST_MARK_KIND, now);
    if (mark !== undefined) return testCallback(ctx, req, reply, pending, mark, samlResponse);
  }

  const { connectionId } = (req.params ?? {}) as { connectionId?: string };
  let connection: Connection | undefined;
  if (pending !== undefined) connection = await store.connections.get(pending.connectionId);
  else if (connectionId !== undefined) connection = await store.connections.get(connectionId);
  else connection = await connectionForUnsolicited(ctx, samlResponse);
  if (connection === undefined || !connection.active) {
    return ctx.refuse(req, reply, "idp_unreachable", {
      type: "login.sso",
      reason: "connection_unknown",
      connection,
      detail: { connectionId: connectionId ?? pending?.connectionId ?? null },
    });
  }
  const account = await store.accounts.get(connection.accountId);
  if (account === undefined || !ssoEnabled(account)) {
    return ctx.refuse(req, reply, "account_not_sso", {
      type: "login.sso",
      reason: "saml_login_off",
      connection,
      account,
    });
  }

  let verified: VerifiedResponse;
  try {
    verified = await validateAtAcs(ctx, connection, account, samlResponse, pending?.id, now);
  } catch (e) {
    if (!(e instanceof SamlError)) throw e;
    return ctx.refuse(req, reply, messageForSamlError(e.code), {
      type: "login.sso",
      reason: e.code,
      connection,
      account,
      detail: { message: e.message, ...e.detail, fix: e.fix },
    });
  }

  const match = await matchUsers(store, account, connection, verified, now);
  const returnTo =
    pending?.returnTo ?? (pending === undefined ? (safeReturnPath(relayState) ?? null) : null);
  const facts: ChooserPayload = {
    userIds: [],
    connectionId: connection.id,
    nameId: verified.nameId,
    nameIdFormat: verified.nameIdFormat ?? null,
    sessionIndex: verified.sessionIndex ?? null,
    sessionNotOnOrAfter: verified.sessionNotOnOrAfter?.getTime() ?? null,
    returnTo,
    idpClaims: idpClaimsOf(verified.attributes),
  };
  if (match.kind === "refused") {
    return ctx.refuse(req, reply, messageForMatchRefusal(match.reason), {
      type: "login.sso",
      reason: match.reason,
      connection,
      account,
      detail: { ...match.detail, nameId: verified.nameId, unsolicited: pending === undefined },
    });
  }
  if (match.kind === "choose") {
    const ticket = newSecret();
    await store.tokens.put({
      hash: hashSecret(ticket),
      kind: "chooser",
      payload: { ...facts, userIds: match.users.map((u) => u.id) },
      createdAt: now,
      expiresAt: new Date(now.getTime() + CHOOSER_TTL_MS),
    });
    reply.setCookie(
      CHOOSER_COOKIE,
      ticket,
      cookieOptions(ctx.deps.publicUrl, "session", CHOOSER_TTL_MS / 1000),
    );
    return ctx.page(
      reply,
      "chooser",
      {
        csrf: ctx.csrf(req, reply),
        ticket,
        identity: verified.email ?? verified.nameId,
        users: match.users.map((u) => ({ id: u.id, username: u.username, role: u.role })),
      },
      { title: "Choose a profile" },
    );
  }
  return signIn(ctx, req, reply, match.user, connection, facts, match.via);
}

async function signIn(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
  user: User,
  connection: Connection,
  facts: ChooserPayload,
  via: string,
): Promise<FastifyReply> {
  const now = ctx.deps.now();
  const started = await startSession(
    ctx.store,
    user,
    "saml",
    false,
    {
      connectionId: connection.id,
      nameId: facts.nameId,
      nameIdFormat: facts.nameIdFormat,
      sessionIndex: facts.sessionIndex,
      sessionNotOnOrAfter:
        facts.sessionNotOnOrAfter === null ? null : new Date(facts.sessionNotOnOrAfter),
    },
    ctx.deps.sessions,
    now,
  );
  await keepIdpClaims(ctx.store, started.session, facts.idpClaims ?? {});
  await audit(
    ctx.store,
    {
      type: "login.sso",
      outcome: "success",
      reason: via,
      accountId: user.accountId,
      userId: user.id,
      connectionId: connection.id,
      actor: `user:${user.id}`,
      ip: req.ip,
      detail: { nameId: facts.nameId, sessionIndex: facts.sessionIndex },
    },
    now,
  );
  ctx.setSessionCookie(reply, started.token, started.session.absoluteExpiresAt);
  return reply.header("cache-control", "no-store").redirect(facts.returnTo ?? "/dashboard", 303);
}

/**
 * IdP-initiated logins to the shared ACS path carry no request to tell the connection: the one
 * active connection on this ACS URL, or, when several share it, the one whose IdP issued it.
 * The Issuer read here only selects which certificates to verify with; nothing else is trusted.
 */
async function connectionForUnsolicited(
  ctx: AppContext,
  samlResponse: string,
): Promise<Connection | undefined> {
  const acsUrl = ctx.url(ACS_PATH);
  const candidates = (await ctx.store.connections.listActive()).filter((c) => c.acsUrl === acsUrl);
  if (candidates.length <= 1) return candidates[0];
  let issuer: string | undefined;
  try {
    const root = parseXml(decodeMessage(samlResponse, MAX_RESPONSE_BYTES));
    const el = child(root, SAML_ASSERTION_NS, "Issuer");
    issuer = el === undefined ? undefined : directText(el);
  } catch {
    return undefined;
  }
  const matching = candidates.filter((c) => c.idpEntityId === issuer);
  return matching.length === 1 ? matching[0] : undefined;
}

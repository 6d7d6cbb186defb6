/**
 * The two halves of an SP-initiated login that real logins and Test SSO share: sending the
 * AuthnRequest (bound to this browser) and validating the Response at the ACS, so that a test
 * is validated exactly as a real login is.
 */

import type { FastifyReply } from "fastify";
import type { Account, Connection } from "../../domain/model.ts";
import { hashSecret, newSecret } from "../../domain/secrets.ts";
import { buildAuthnRequest } from "../../saml/authn-request.ts";
import { type VerifiedResponse, validateResponse } from "../../saml/response.ts";
import type { AppContext } from "../context.ts";
import { cookieOptions, LOGIN_REQUEST_COOKIE } from "../cookies.ts";

export const MAX_RESPONSE_BYTES = 256 * 1024;

/** Stores the pending request, sets the browser-binding cookie; returns the IdP URL and ID. */
export async function beginLogin(
  ctx: AppContext,
  reply: FastifyReply,
  connection: Connection,
  options: { loginHint?: string | undefined; returnTo?: string | null },
  now: Date,
): Promise<{ id: string; url: string }> {
  const signing =
    connection.signRequests && ctx.deps.spKey !== undefined
      ? { privateKey: ctx.deps.spKey.privateKey }
      : undefined;
  const request = buildAuthnRequest({
    spEntityId: connection.spEntityId,
    acsUrl: connection.acsUrl,
    destination: connection.ssoUrl,
    now,
    ...(options.loginHint === undefined ? {} : { loginHint: options.loginHint }),
    ...(signing === undefined ? {} : { signing }),
  });
  const nonce = newSecret();
  const ttlMs = ctx.deps.loginRequestTtlMinutes * 60_000;
  await ctx.store.pendingRequests.put({
    id: request.id,
    connectionId: connection.id,
    browserHash: hashSecret(nonce),
    returnTo: options.returnTo ?? null,
    createdAt: now,
    expiresAt: new Date(now.getTime() + ttlMs),
  });
  // Binds the request to this browser (login CSRF): the ACS consumes it only with this nonce.
  reply.setCookie(
    LOGIN_REQUEST_COOKIE,
    `${request.id}~${nonce}`,
    cookieOptions(ctx.deps.publicUrl, "cross-site", ttlMs / 1000),
  );
  return { id: request.id, url: request.url };
}

/** validateResponse with the connection's configuration and the app's keys and replay cache. */
export async function validateAtAcs(
  ctx: AppContext,
  connection: Connection,
  account: Account,
  samlResponse: string,
  expectedRequestId: string | undefined,
  now: Date,
): Promise<VerifiedResponse> {
  const { store } = ctx;
  const runtime = ctx.runtime(connection);
  return validateResponse(samlResponse, {
    idpCertificates: runtime.certificates,
    idpEntityId: connection.idpEntityId,
    spEntityId: connection.spEntityId,
    acsUrl: connection.acsUrl,
    expectedRequestId,
    allowUnsolicited: account.settings.allowIdpInitiated,
    now,
    clockSkewSeconds: ctx.deps.clockSkewSeconds,
    algorithms: { allowSha1: connection.allowSha1 },
    spDecryptionKeys: ctx.deps.spKey === undefined ? [] : [ctx.deps.spKey.privateKey],
    // The core's key joins Issuer and Assertion ID with U+0000 (never in XML text, so never
    // ambiguous); PostgreSQL's text cannot hold U+0000, so the store gets its SHA-256.
    replayCache: {
      consume: (key, expiresAt) => store.replay.consume(`acs:${hashSecret(key)}`, expiresAt, now),
    },
    maxBytes: MAX_RESPONSE_BYTES,
    requireSignedAssertion: connection.requireSignedAssertion,
    requireSignedResponse: connection.requireSignedResponse,
  });
}

/**
 * Test SSO over HTTP: starting a login marked as a test (from a setup link or the admin
 * connection page), and the ACS's branch for it. Entra posts every Response to the one Reply
 * URL, so the mark travels with the pending AuthnRequest (a single-use store token keyed by the
 * request ID); the ACS validates exactly as for a real login, then shows this page instead of
 * signing anyone in. No session, no identity binding, no just-in-time user is created.
 */

import type { FastifyReply, FastifyRequest } from "fastify";
import { audit } from "../../domain/audit.ts";
import { explainFailedLogin } from "../../domain/doctor.ts";
import type { Connection, OneTimeToken, PendingRequest } from "../../domain/model.ts";
import { hashSecret } from "../../domain/secrets.ts";
import { setupActor } from "../../domain/setup-links.ts";
import { describePlan, previewTestLogin, recordTestSuccess } from "../../domain/test-sso.ts";
import { SAML_ERRORS, SamlError } from "../../saml/errors.ts";
import type { AppContext } from "../context.ts";
import { spValues } from "./admin-shared.ts";
import { beginLogin, validateAtAcs } from "./saml-flow.ts";

export const TEST_MARK_KIND = "saml-test";

export interface TestMark {
  readonly connectionId: string;
  /** Where the test was started: the result page links back to the admin page only. */
  readonly origin: "setup" | "admin";
  /** The setup link's ID (its token's hash), when started from a setup link. */
  readonly linkId: string | null;
}

export function testMarkHash(requestId: string): string {
  return hashSecret(`saml-test:${requestId}`);
}

/** Sends the browser to the IdP with an AuthnRequest marked as a test. */
export async function startTest(
  ctx: AppContext,
  reply: FastifyReply,
  connection: Connection,
  mark: TestMark,
): Promise<FastifyReply> {
  const now = ctx.deps.now();
  const request = await beginLogin(ctx, reply, connection, { returnTo: null }, now);
  await ctx.store.tokens.put({
    hash: testMarkHash(request.id),
    kind: TEST_MARK_KIND,
    payload: { ...mark },
    createdAt: now,
    expiresAt: new Date(now.getTime() + ctx.deps.loginRequestTtlMinutes * 60_000),
  });
  return reply.header("cache-control", "no-store").redirect(request.url, 302);
}

/** The ACS for a Response answering a test AuthnRequest. */
export async function testCallback(
  ctx: AppContext,
  req: FastifyRequest,
  reply: FastifyReply,
  pending: PendingRequest,
  token: OneTimeToken,
  samlResponse: string,
): Promise<FastifyReply> {
  const { store } = ctx;
  const now = ctx.deps.now();
  const mark = token.payload as unknown as TestMark;
  const actor =
    mark.origin === "setup" && mark.linkId !== null ? setupActor(mark.linkId) : "admin-page";
  const connection = await store.connections.get(pending.connectionId);
  const account = connection && (await store.accounts.get(connection.accountId));
  const back =
    mark.origin === "admin" && connection !== undefined
      ? `/admin/connections/${connection.id}`
      : undefined;
  const page = (data: Record<string, unknown>, status: number) =>
    ctx.page(
      reply,
      "test-sso",
      { back, connectionName: connection?.name ?? "", ...data },
      { title: "Test sign-in", wide: true },
      status,
    );
  if (connection === undefined || account === undefined) {
    return page(
      {
        ok: false,
        error: {
          code: "connection_unknown",
          title: "The connection was removed during the test",
          fix: "Start the setup again.",
          detail: {},
        },
      },
      400,
    );
  }

  let verified: Awaited<ReturnType<typeof validateAtAcs>>;
  try {
    verified = await validateAtAcs(ctx, connection, account, samlResponse, pending.id, now);
  } catch (e) {
    if (!(e instanceof SamlError)) throw e;
    const event = await audit(
      store,
      {
        type: "sso.test",
        outcome: "failure",
        reason: e.code,
        accountId: account.id,
        connectionId: connection.id,
        actor,
        ip: req.ip,
        detail: { message: e.message, ...e.detail, fix: e.fix },
      },
      now,
    );
    // The doctor's fix names the IdP's field (AADSTS50105: Users and groups), where the
    // error's own fix can only say "read the status message".
    const sp = spValues(ctx, connection);
    const explained = explainFailedLogin(event, {
      identifier: sp.identifier,
      replyUrl: sp.replyUrl,
      logoutUrl: sp.logoutUrl,
    });
    return page(
      {
        ok: false,
        reference: event.reference,
        error: {
          code: e.code,
          title: SAML_ERRORS[e.code].title,
          message: e.message,
          fix: explained.fix === "" ? e.fix : explained.fix,
          detail: e.detail,
        },
      },
      400,
    );
  }

  const preview = await previewTestLogin(store, account, connection, verified, now);
  const signsIn = preview.plan.kind !== "refused";
  const detail = {
    nameId: verified.nameId,
    emailSource: preview.emailSource,
    emailRead: preview.email ?? null,
    outcome: preview.plan.kind,
    ...(preview.plan.kind === "refused" ? { refusal: preview.plan.reason } : {}),
  };
  let testedAt: Date | null = null;
  let reference: string;
  if (signsIn) {
    const updated = await recordTestSuccess(store, connection, actor, req.ip, detail, now);
    testedAt = updated.testedAt;
    reference = "";
  } else {
    const event = await audit(
      store,
      {
        type: "sso.test",
        outcome: "failure",
        reason: preview.plan.kind === "refused" ? preview.plan.reason : null,
        accountId: account.id,
        connectionId: connection.id,
        actor,
        ip: req.ip,
        detail,
      },
      now,
    );
    reference = event.reference;
  }
  const claims = Object.entries(verified.attributes).map(([name, values]) => ({
    name,
    short: name.slice(name.lastIndexOf("/") + 1),
    values,
  }));
  return page(
    {
      ok: signsIn,
      samlOk: true,
      reference,
      testedAt,
      outcome: describePlan(preview.plan),
      assumedAllRoles: preview.assumedAllRoles,
      emailSource: preview.emailSource,
      email: preview.email,
      candidates: preview.candidates,
      suggestion: preview.suggestion,
      nameId: verified.nameId,
      nameIdFormat: verified.nameIdFormat ?? "(none)",
      claims,
      signed: verified.signed,
      issuer: verified.issuer,
      certificate: verified.certificateFingerprint,
    },
    signsIn ? 200 : 422,
  );
}

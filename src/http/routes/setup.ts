/**
 * The setup link: a customer's IT admin connects their IdP to one account, alone, in the seed
 * pages' order (Aircall's: create the enterprise application, Basic SAML Configuration,
 * Attributes & Claims, SAML Certificates, hand back the Federation Metadata XML), then runs the
 * doctor and Test SSO, then turns SSO on. The token in the path is the only credential: no
 * session cookie (the CSRF double-submit cookie is the only one set), Referrer-Policy
 * no-referrer (app.ts), no-store. The admin side (create, list, revoke) is setupLinkApiRoutes,
 * mounted inside the admin API's authenticated context.
 */

import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  type Actor,
  AdminError,
  connectionTested,
  createConnection,
  setConnectionActive,
  updateAccount,
  updateConnection,
} from "../../domain/admin.ts";
import { ssoEnabled } from "../../domain/discovery.ts";
import { diagnose, type Finding } from "../../domain/doctor.ts";
import {
  type Account,
  type Connection,
  type EmailSource,
  ROLES,
  type Role,
} from "../../domain/model.ts";
import {
  createSetupLink,
  listSetupLinks,
  openSetupLink,
  revokeSetupLink,
  SETUP_LINK_DEFAULT_HOURS,
  SETUP_LINK_MAX_HOURS,
  setupActor,
} from "../../domain/setup-links.ts";
import { checkConnection } from "../../domain/test-sso.ts";
import { renderSpMetadata } from "../../saml/metadata.ts";
import type { AppContext } from "../context.ts";
import {
  connectionInput,
  defaultSpValues,
  fetchMetadata,
  type SpValues,
  spValues,
  withSamlFields,
} from "./admin-shared.ts";
import { startTest } from "./test-sso.ts";

const METADATA_BODY_LIMIT = 1536 * 1024;
/** Doctor findings that mean the uploaded document cannot become a connection. */
const BLOCKING = new Set([
  "metadata_unreadable",
  "metadata_is_sp",
  "sso_endpoint_missing",
  "certificates_all_expired",
]);
const NOTICES: Record<string, string> = {
  metadata: "Your IdP's metadata is saved. Check the findings below, then run a test sign-in.",
  draft:
    "Your IdP's metadata is saved as a replacement connection. Sign-ins keep using the current one until the replacement passes a test sign-in and you switch to it in step 7.",
  "email-claim": "Saved. Run the test sign-in again to check that it now matches your users.",
  enabled: "SSO is on. People sign in with their IdP account from now on.",
  switched: "Switched: sign-ins now go through the new connection.",
};

type Params = { token: string };

export function setupRoutes(app: FastifyInstance, ctx: AppContext): void {
  const { store } = ctx;
  const now = () => ctx.deps.now();

  /** The link's account, or the "no longer works" page already sent. */
  async function open(
    req: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
  ): Promise<{ account: Account; linkId: string; expiresAt: Date } | undefined> {
    reply.header("cache-control", "no-store");
    const opened = await openSetupLink(store, req.params.token, req.ip, now());
    if (opened.kind === "open") return opened;
    const text =
      opened.reason === "revoked"
        ? "This setup link was revoked by the service's administrator."
        : opened.reason === "expired"
          ? "This setup link has expired."
          : "This setup link is not valid. Check that the whole link was copied.";
    ctx.page(
      reply,
      "message",
      {
        heading: "This setup link no longer works",
        message: `${text} Ask the person who sent it for a new one; the settings already saved through it are kept.`,
        back: "/",
        backLabel: "Go to the start page",
      },
      { title: "Setup link" },
      opened.reason === "unknown" ? 404 : 410,
    );
    return undefined;
  }

  /**
   * The connection this link sets up, and the live one (SSO on through an active connection).
   * While SSO is live, whatever the link uploads goes into an inactive draft that takes over
   * only at step 7, after its own test: a link never points live sign-ins at an untested IdP.
   */
  async function target(
    account: Account,
  ): Promise<{ connection: Connection | undefined; live: Connection | undefined }> {
    const all = [...(await store.connections.list(account.id))].sort(
      (a, b) => a.createdAt.getTime() - b.createdAt.getTime(),
    );
    const active = all.find((c) => c.active);
    const live = active !== undefined && ssoEnabled(account) ? active : undefined;
    if (live === undefined) return { connection: active ?? all[all.length - 1], live };
    const draft = all.findLast(
      (c) => !c.active && c.createdAt.getTime() >= live.createdAt.getTime(),
    );
    return { connection: draft ?? live, live };
  }

  async function currentConnection(account: Account): Promise<Connection | undefined> {
    return (await target(account)).connection;
  }

  function ourValues(
    account: Account,
    connection: Connection | undefined,
    token: string,
  ): SpValues {
    if (connection !== undefined) return spValues(ctx, connection);
    const d = defaultSpValues(ctx, account);
    return {
      identifier: d.spEntityId,
      replyUrl: d.acsUrl,
      logoutUrl: ctx.url("/api/auth/saml/logout/callback"),
      signOnUrl: ctx.url("/login"),
      metadataUrl: ctx.url(`/setup/${token}/sp-metadata`),
    };
  }

  async function render(
    req: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    link: { account: Account; linkId: string; expiresAt: Date },
    extra: { error?: string; uploadFindings?: Finding[]; form?: Record<string, string> } = {},
    status = 200,
  ): Promise<FastifyReply> {
    const { token } = req.params;
    const account = (await store.accounts.get(link.account.id)) ?? link.account;
    const { connection, live } = await target(account);
    const sp = ourValues(account, connection, token);
    const findings =
      connection === undefined ? [] : await checkConnection(store, connection, sp, now());
    const lastTest =
      connection === undefined
        ? undefined
        : (await store.audit.query({ accountId: account.id, type: "sso.test", limit: 20 })).find(
            (e) => e.connectionId === connection.id,
          );
    const q = req.query as Record<string, unknown>;
    const nonce = randomBytes(16).toString("base64");
    reply.header(
      "content-security-policy",
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    );
    return ctx.page(
      reply,
      "setup",
      {
        base: `/setup/${token}`,
        idp: q.idp === "other" ? "other" : "entra",
        account,
        appName: `${account.name}-gatehouse`,
        expiresAt: link.expiresAt,
        connection,
        live,
        draft: connection !== undefined && live !== undefined && connection.id !== live.id,
        emailSource: account.settings.emailSource,
        sp,
        findings,
        uploadFindings: extra.uploadFindings ?? [],
        lastTest,
        tested: connection !== undefined && connectionTested(connection),
        ssoOn: ssoEnabled(account),
        roles: ROLES,
        samlLogin: account.settings.samlLogin,
        notice: typeof q.done === "string" ? NOTICES[q.done] : undefined,
        error: extra.error,
        form: extra.form ?? {},
        csrf: ctx.csrf(req, reply),
        nonce,
      },
      { title: `Set up SSO for ${account.displayName}`, wide: true },
      status,
    );
  }

  app.get<{ Params: Params }>("/setup/:token", async (req, reply) => {
    const link = await open(req, reply);
    return link === undefined ? reply : render(req, reply, link);
  });

  // Our SP metadata before a connection exists ("any other SAML IdP": upload it at the IdP).
  app.get<{ Params: Params }>("/setup/:token/sp-metadata", async (req, reply) => {
    const link = await open(req, reply);
    if (link === undefined) return reply;
    const connection = await currentConnection(link.account);
    const sp = ourValues(link.account, connection, req.params.token);
    const cert = ctx.deps.spKey?.certificate;
    return reply
      .type("application/samlmetadata+xml; charset=utf-8")
      .header(
        "content-disposition",
        `attachment; filename="gatehouse-${link.account.name}-sp-metadata.xml"`,
      )
      .send(
        renderSpMetadata({
          entityId: sp.identifier,
          acsUrl: sp.replyUrl,
          sloUrl: sp.logoutUrl,
          ...(cert === undefined
            ? {}
            : { signingCertificates: [cert], encryptionCertificates: [cert] }),
          wantAssertionsSigned: true,
          authnRequestsSigned: connection?.signRequests === true && cert !== undefined,
        }),
      );
  });

  // Step 5: the IdP's metadata, pasted (a file is read into the text area by the page's
  // script, so no multipart parser is needed) or by URL.
  app.post<{ Params: Params }>(
    "/setup/:token/metadata",
    { bodyLimit: METADATA_BODY_LIMIT },
    async (req, reply) => {
      const link = await open(req, reply);
      if (link === undefined) return reply;
      const body = (req.body ?? {}) as Record<string, unknown>;
      const url = typeof body.metadataUrl === "string" ? body.metadataUrl.trim() : "";
      const pasted = typeof body.metadataXml === "string" ? body.metadataXml.trim() : "";
      const form = { metadataUrl: url, metadataXml: pasted.length > 20_000 ? "" : pasted };
      if (!ctx.csrfValid(req)) return render(req, reply, link, { error: FORM_EXPIRED, form }, 403);
      const account = link.account;
      const who: Actor = { actor: setupActor(link.linkId), ip: req.ip };
      try {
        if (url === "" && pasted === "")
          throw new AdminError(
            "metadataXml",
            "Choose the Federation Metadata XML file, paste its contents, or give its URL.",
          );
        if (url !== "" && pasted !== "")
          throw new AdminError("metadataUrl", "Give the metadata file or its URL, not both.");
        const xml = url === "" ? pasted : await fetchMetadata(url);
        const { connection: existing, live } = await target(account);
        const sp = ourValues(account, existing, req.params.token);
        const upload = diagnose({
          metadataXml: xml,
          sp,
          now: now(),
        });
        if (upload.some((f) => BLOCKING.has(f.code)))
          return render(req, reply, link, { uploadFindings: upload, form }, 400);
        const input = {
          ...(await connectionInput(ctx, account, { metadataXml: xml }, existing)),
          ...(url === "" ? {} : { metadataUrl: url }),
        };
        // SSO live and no draft yet: the upload becomes an inactive draft beside the live one.
        const makeDraft = live !== undefined && existing?.id === live.id;
        await withSamlFields(url === "" ? "metadataXml" : "metadataUrl", () =>
          existing === undefined || makeDraft
            ? createConnection(store, account.id, input, who, now(), { active: !makeDraft })
            : updateConnection(store, existing.id, input, who, now()),
        );
        const done = live === undefined ? "metadata" : "draft";
        return reply.redirect(`/setup/${req.params.token}?done=${done}#step-6`, 303);
      } catch (e) {
        if (!(e instanceof AdminError)) throw e;
        return render(req, reply, link, { error: e.message, form }, 400);
      }
    },
  );

  // Step 6: a test sign-in (opened in a new tab; the ACS shows the result there).
  app.get<{ Params: Params }>("/setup/:token/test", async (req, reply) => {
    const link = await open(req, reply);
    if (link === undefined) return reply;
    const connection = await currentConnection(link.account);
    if (connection === undefined)
      return render(
        req,
        reply,
        link,
        { error: "Upload your IdP's metadata (step 5) before testing." },
        400,
      );
    return startTest(ctx, reply, connection, {
      connectionId: connection.id,
      origin: "setup",
      linkId: link.linkId,
    });
  });

  // Step 6, after a test that suggests another claim: which claim the email is read from.
  app.post<{ Params: Params }>("/setup/:token/email-claim", async (req, reply) => {
    const link = await open(req, reply);
    if (link === undefined) return reply;
    if (!ctx.csrfValid(req)) return render(req, reply, link, { error: FORM_EXPIRED }, 403);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const emailSource = typeof body.emailSource === "string" ? body.emailSource.trim() : "";
    try {
      await updateAccount(
        store,
        link.account.id,
        // Validated by the domain (mergeSettings), which names the accepted forms.
        { settings: { emailSource: emailSource as EmailSource } },
        { actor: setupActor(link.linkId), ip: req.ip },
        now(),
      );
      return reply.redirect(`/setup/${req.params.token}?done=email-claim#step-6`, 303);
    } catch (e) {
      if (!(e instanceof AdminError)) throw e;
      return render(req, reply, link, { error: e.message }, e.status);
    }
  });

  // Step 7: Login with SAML on, for the roles chosen (refused by the domain until a test
  // passed), or a tested draft takes over from the live connection.
  app.post<{ Params: Params }>("/setup/:token/enable", async (req, reply) => {
    const link = await open(req, reply);
    if (link === undefined) return reply;
    if (!ctx.csrfValid(req)) return render(req, reply, link, { error: FORM_EXPIRED }, 403);
    const body = (req.body ?? {}) as Record<string, unknown>;
    const samlLogin = Object.fromEntries(
      ROLES.map((r) => [r, body[`samlLogin.${r}`] !== undefined]),
    ) as Record<Role, boolean>;
    const who: Actor = { actor: setupActor(link.linkId), ip: req.ip };
    try {
      if (!ROLES.some((r) => samlLogin[r]))
        throw new AdminError("settings.samlLogin", "Choose at least one role to turn SSO on for.");
      const account = (await store.accounts.get(link.account.id)) ?? link.account;
      const { connection, live } = await target(account);
      const switching = connection !== undefined && live !== undefined && connection.id !== live.id;
      if (switching) {
        if (!connectionTested(connection))
          throw new AdminError(
            "connection",
            `The new connection has not passed a test sign-in since it last changed: run the test in step 6 first. Sign-ins still go through "${live.name}".`,
            409,
          );
        // The draft first, then the old one off: never a moment with no active connection.
        await setConnectionActive(store, connection.id, true, who, now());
        await setConnectionActive(store, live.id, false, who, now());
      }
      await updateAccount(store, account.id, { settings: { samlLogin } }, who, now());
      const done = switching ? "switched" : "enabled";
      return reply.redirect(`/setup/${req.params.token}?done=${done}#step-7`, 303);
    } catch (e) {
      if (!(e instanceof AdminError)) throw e;
      return render(req, reply, link, { error: e.message }, e.status);
    }
  });
}

const FORM_EXPIRED =
  "This form has expired or did not come from this page. Reload the page and try again.";

/** POST/GET/DELETE /admin/api/accounts/:id/setup-links, inside the admin API's context. */
export function setupLinkApiRoutes(scope: FastifyInstance, ctx: AppContext): void {
  const { store } = ctx;
  const who = (req: FastifyRequest): Actor => ({ actor: "admin-api", ip: req.ip });
  const schema = {
    type: "object",
    properties: {
      expiresInHours: { type: "integer", minimum: 1, maximum: SETUP_LINK_MAX_HOURS },
    },
    additionalProperties: { not: {} },
  } as const;

  scope.post<{ Params: { id: string } }>(
    "/accounts/:id/setup-links",
    { schema: { body: { anyOf: [schema, { type: "null" }] } } },
    async (req, reply) => {
      const body = (req.body ?? {}) as { expiresInHours?: number };
      const { token, link } = await createSetupLink(
        store,
        req.params.id,
        { expiresInHours: body.expiresInHours ?? SETUP_LINK_DEFAULT_HOURS },
        who(req),
        ctx.deps.now(),
      );
      return reply.status(201).send({ link, url: ctx.url(`/setup/${token}`) });
    },
  );

  scope.get<{ Params: { id: string } }>("/accounts/:id/setup-links", async (req) => ({
    links: await listSetupLinks(store, req.params.id, ctx.deps.now()),
  }));

  scope.delete<{ Params: { id: string; linkId: string } }>(
    "/accounts/:id/setup-links/:linkId",
    async (req, reply) => {
      await revokeSetupLink(store, req.params.id, req.params.linkId, who(req), ctx.deps.now());
      return reply.status(204).send();
    },
  );
}

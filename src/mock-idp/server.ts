/**
 * The mock IdP as a web application, answering like Microsoft Entra ID (../shared/ENTRA.md):
 * one `/saml2` endpoint for sign-in and sign-out, a sign-in page, "My Apps" for IdP-initiated
 * sign-in, front-channel Single Logout, and the app's Federation Metadata. For development, demos
 * and tests only; never mounted by the production configuration.
 *
 * Routes, under `<basePath>/<tenantId>` (Entra: https://login.microsoftonline.com/<tenant>):
 *
 *   GET  /saml2?SAMLRequest=<AuthnRequest>&RelayState&login_hint   sign-in (HTTP-Redirect)
 *   POST /saml2 SAMLRequest=<AuthnRequest>&RelayState                sign-in (HTTP-POST)
 *   GET  /saml2?SAMLRequest=<LogoutRequest>&RelayState               SP-initiated sign-out
 *   GET  /saml2?SAMLResponse=<LogoutResponse>                        an app's answer to our
 *                                                                    IdP-initiated sign-out
 *   POST /login                                                      the sign-in form
 *   GET  /apps, GET /apps/signin/<appId>, POST /apps/signout         My Apps
 *   GET  /federationmetadata/2007-06/federationmetadata.xml?appid=   Federation Metadata
 *
 * Choices where Entra's behaviour is not what a test needs:
 *
 * - A user who is not assigned to the application: Entra shows its own error page (AADSTS50105)
 *   and the app never hears of it. Here the failure is POSTed to the app's ACS as a SAML Response
 *   (Requester / RequestDenied, StatusMessage AADSTS50105) so the SP's handling of IdP failure
 *   statuses is exercised end to end. Reaching Entra's own error page needs no SP code anyway.
 * - SP-initiated sign-out ends the IdP session and answers the app; it does not propagate to the
 *   other apps of the session (use "Sign out everywhere" on My Apps for that).
 * - "Sign out everywhere" sends one LogoutRequest per app, front-channel, each in an iframe of
 *   the signed-out page: no script needed, all apps at once, and one misbehaving app cannot stop
 *   the others (a chain of redirects stops at the first app that does not redirect back). An app
 *   that refuses framing still receives its request; its own session cookie is not sent (it is
 *   a third-party frame), so the app must end sessions by SessionIndex, as Entra requires anyway.
 */

import { createHash, type KeyObject, timingSafeEqual } from "node:crypto";
import fastifyFormbody from "@fastify/formbody";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { parseAuthnRequest, REQUESTABLE_NAMEID_FORMATS } from "../saml/authn-request.ts";
import { decodeMessage as decodePostMessage } from "../saml/message.ts";
import { SAML_ASSERTION_NS, SAML_PROTOCOL_NS } from "../saml/namespaces.ts";
import { decodeRedirectMessage } from "../saml/redirect.ts";
import { parseXml } from "../saml/xml/parse.ts";
import { attr, child, directText, type XmlElement } from "../saml/xml/tree.ts";
import { buildEntraLogoutRequest, buildEntraLogoutResponse } from "./logout.ts";
import { buildEntraFederationMetadata } from "./metadata.ts";
import { createPages } from "./pages.ts";
import {
  buildEntraFailure,
  buildEntraResponse,
  entraId,
  type MockResponseOptions,
  type MockUser,
  type SigningOption,
} from "./response.ts";
import { ExpiringMap, newHandle } from "./state.ts";

export interface MockIdpUser extends MockUser {
  /** A demo password, shown on the sign-in page. */
  readonly password: string;
  /** Not assigned to the applications: signing in yields AADSTS50105. */
  readonly notAssigned?: boolean;
}

/** An "enterprise application" registered at the IdP (Entra's Basic SAML Configuration). */
export interface MockIdpApp {
  /** Identifier (Entity ID): the AuthnRequest Issuer and the Audience. */
  readonly spEntityId: string;
  /** Reply URL (Assertion Consumer Service URL). */
  readonly acsUrl: string;
  /** Logout URL: where LogoutResponses and IdP-initiated LogoutRequests go. */
  readonly sloUrl?: string;
  /** Relay State of IdP-initiated sign-in. */
  readonly relayState?: string;
  /** The name on My Apps; default the Identifier. */
  readonly name?: string;
  /** The application (client) ID; default a GUID derived from the Identifier. */
  readonly appId?: string;
  /** Overrides the IdP-wide signing option for this app. */
  readonly signing?: SigningOption;
  /** The "Unique User Identifier" claim source; default userPrincipalName. */
  readonly nameIdSource?: "upn" | "email";
}

export interface MockIdpOptions {
  /** The tenant GUID: in the paths, the Issuer and the tenantid claim. */
  readonly tenantId: string;
  /** Where the routes are mounted, e.g. "/mock-idp" ("" for the root). Do not also use a prefix. */
  readonly basePath: string;
  /**
   * The absolute URL of the server the plugin is registered on (scheme, host, and any path a
   * reverse proxy puts before it), without basePath: e.g. "http://localhost:3000".
   */
  readonly publicUrl: string;
  readonly signingKey: KeyObject;
  /** Base64 DER of the signing certificate. */
  readonly signingCertificate: string;
  readonly users: readonly MockIdpUser[];
  readonly apps: readonly MockIdpApp[];
  /** Default "assertion" (Entra's default). */
  readonly signing?: SigningOption;
  /** The clock; default the system clock. */
  readonly now?: () => Date;
  /** List the demo users and their passwords on the sign-in page. Default true. */
  readonly showDemoUsers?: boolean;
}

/** The absolute URLs of a mock IdP, for configuring an SP connection to it. */
export interface MockIdpUrls {
  /** The IdP's entity ID (Entra's "Microsoft Entra Identifier"). */
  readonly entityId: string;
  /** Login URL and Logout URL (the same endpoint, as in Entra). */
  readonly saml2: string;
  readonly myApps: string;
  metadata(appId?: string): string;
}

export function mockIdpUrls(o: Pick<MockIdpOptions, "tenantId" | "basePath" | "publicUrl">) {
  const base = `${o.publicUrl.replace(/\/+$/, "")}${o.basePath}/${o.tenantId}`;
  const urls: MockIdpUrls = {
    entityId: `https://sts.windows.net/${o.tenantId}/`,
    saml2: `${base}/saml2`,
    myApps: `${base}/apps`,
    metadata: (appId) =>
      `${base}/federationmetadata/2007-06/federationmetadata.xml${appId === undefined ? "" : `?appid=${encodeURIComponent(appId)}`}`,
  };
  return Object.freeze(urls);
}

/** The application ID of an app: configured, or a stable GUID derived from its Identifier. */
export function appIdOf(app: MockIdpApp): string {
  if (app.appId !== undefined) return app.appId;
  const h = createHash("sha256").update(app.spEntityId).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const STATUS = {
  requester: "urn:oasis:names:tc:SAML:2.0:status:Requester",
  responder: "urn:oasis:names:tc:SAML:2.0:status:Responder",
  requestDenied: "urn:oasis:names:tc:SAML:2.0:status:RequestDenied",
  noPassive: "urn:oasis:names:tc:SAML:2.0:status:NoPassive",
} as const;

const SESSION_COOKIE = "MOCKIDP_SESSION";
/** Entra's sign-in "flow token" lifetime, roughly. */
const FLOW_LIFETIME_MS = 15 * 60_000;
const SESSION_LIFETIME_MS = 24 * 60 * 60_000;
const MAX_MESSAGE_BYTES = 64 * 1024;

interface Login {
  readonly nameId: string;
  /** The Assertion ID of the login: Entra's SessionIndex. */
  readonly sessionIndex: string;
}

interface IdpSession {
  readonly username: string;
  readonly authnInstant: Date;
  /** Apps signed in to during this session, by Identifier. */
  readonly logins: Map<string, Login>;
}

/** A sign-in waiting for the user's password. */
interface Flow {
  readonly app: MockIdpApp;
  /** Present for SP-initiated sign-in; absent for My Apps. */
  readonly request?: { readonly id: string; readonly nameIdFormat: string | undefined };
  readonly relayState: string | undefined;
}

/** A refusal shown as Entra's error page. */
interface Refusal {
  readonly code: string;
  readonly message: string;
  readonly status: number;
}

export async function mockIdpPlugin(fastify: FastifyInstance, options: MockIdpOptions) {
  checkOptions(options);
  const now = options.now ?? (() => new Date());
  const pages = createPages();
  const tenantId = options.tenantId;
  const root = `${options.basePath}/${tenantId}`;
  const urls = mockIdpUrls(options);
  const secureCookie = options.publicUrl.startsWith("https:");
  const flows = new ExpiringMap<Flow>(10_000);
  const sessions = new ExpiringMap<IdpSession>(10_000);
  const sentLogouts = new ExpiringMap<string>(10_000);
  const appsById = new Map(options.apps.map((a) => [appIdOf(a), a]));

  if (!fastify.hasContentTypeParser("application/x-www-form-urlencoded")) {
    await fastify.register(fastifyFormbody);
  }

  fastify.addHook("onSend", async (_request, reply) => {
    reply.header("cache-control", "no-store");
    // Our own signed-out page frames our /saml2 answers; nothing else may frame us.
    reply.header("content-security-policy", "frame-ancestors 'self'");
    reply.header("x-content-type-options", "nosniff");
  });

  fastify.setErrorHandler((error: { statusCode?: number }, request, reply) => {
    request.log.error({ err: error }, "mock IdP error");
    const status =
      typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500
        ? error.statusCode
        : 500;
    return sendRefusal(
      reply,
      status < 500
        ? { code: "AADSTS90014", message: "The request is malformed or incomplete.", status }
        : {
            code: "AADSTS90033",
            message: "A transient error has occurred. Please try again.",
            status,
          },
    );
  });

  // ---- sign-in and sign-out: one endpoint, as Entra has it ------------------------------------

  fastify.get(`${root}/saml2`, async (request, reply) => {
    const query = queryOf(request);
    const samlRequest = query.get("SAMLRequest");
    const samlResponse = query.get("SAMLResponse");
    if (samlRequest === null && samlResponse === null) {
      return sendRefusal(reply, {
        code: "AADSTS750054",
        message:
          "SAMLRequest or SAMLResponse must be present as query string parameters in HTTP request for SAML Redirect binding.",
        status: 400,
      });
    }
    const decoded = decodeMessage((samlRequest ?? samlResponse)!);
    if ("code" in decoded) return sendRefusal(reply, decoded);
    const { xml, root: message } = decoded;
    const relayState = query.get("RelayState") ?? undefined;

    if (samlRequest !== null && isProtocol(message, "AuthnRequest")) {
      return onAuthnRequest(request, reply, xml, relayState, query.get("login_hint") ?? undefined);
    }
    if (samlRequest !== null && isProtocol(message, "LogoutRequest")) {
      return onLogoutRequest(request, reply, message, relayState);
    }
    if (samlResponse !== null && isProtocol(message, "LogoutResponse")) {
      return onLogoutResponse(reply, message);
    }
    return sendRefusal(reply, {
      code: "AADSTS75005",
      message: `The request is not a valid Saml2 protocol message: unexpected ${message.local} in ${samlRequest !== null ? "SAMLRequest" : "SAMLResponse"}.`,
      status: 400,
    });
  });

  // The HTTP-POST binding of AuthnRequests (bindings 3.5), which the metadata also lists. Logout
  // stays Redirect-only, as at Entra. A cross-site POST carries no SameSite=Lax cookie, so this
  // path always shows the sign-in form.
  fastify.post(`${root}/saml2`, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const samlRequest = formField(body, "SAMLRequest");
    if (samlRequest === undefined) {
      return sendRefusal(reply, {
        code: "AADSTS750054",
        message:
          "SAMLRequest must be present as a form parameter in HTTP request for SAML POST binding.",
        status: 400,
      });
    }
    let xml: string;
    try {
      xml = decodePostMessage(samlRequest, MAX_MESSAGE_BYTES);
    } catch {
      return sendRefusal(reply, {
        code: "AADSTS750056",
        message: "SAML message was not properly base64 encoded (HTTP-POST binding).",
        status: 400,
      });
    }
    const loginHint = formField(body, "login_hint") ?? queryOf(request).get("login_hint");
    return onAuthnRequest(
      request,
      reply,
      xml,
      formField(body, "RelayState"),
      loginHint ?? undefined,
    );
  });

  async function onAuthnRequest(
    request: FastifyRequest,
    reply: FastifyReply,
    xml: string,
    relayState: string | undefined,
    loginHint: string | undefined,
  ) {
    let authn: ReturnType<typeof parseAuthnRequest>;
    try {
      authn = parseAuthnRequest(xml);
    } catch (e) {
      return sendRefusal(reply, {
        code: "AADSTS75005",
        message: `The request is not a valid Saml2 protocol message. ${(e as Error).message}`,
        status: 400,
      });
    }
    // Entra's checks, in the order a misconfigured SP meets them (ENTRA.md, AuthnRequest).
    if (/^[0-9]/.test(authn.id)) {
      return sendRefusal(reply, {
        code: "AADSTS7500529",
        message: `The value '${authn.id}' is not a valid SAML ID. The ID must not begin with a number.`,
        status: 400,
      });
    }
    if (authn.hasSubject) {
      return sendRefusal(reply, {
        code: "AADSTS900236",
        message:
          "The SAML authentication request property 'Subject' is not supported and must not be set. Pass the user's name as the login_hint query parameter instead.",
        status: 400,
      });
    }
    const app = options.apps.find((a) => a.spEntityId === authn.issuer);
    if (app === undefined) return sendRefusal(reply, appNotFound(authn.issuer));
    if (authn.acsUrl !== undefined && authn.acsUrl !== app.acsUrl) {
      return sendRefusal(reply, {
        code: "AADSTS50011",
        message: `The redirect URI '${authn.acsUrl}' specified in the request does not match the redirect URIs configured for the application '${appIdOf(app)}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.`,
        status: 400,
      });
    }
    if (
      authn.nameIdFormat !== undefined &&
      !(Object.values(REQUESTABLE_NAMEID_FORMATS) as string[]).includes(authn.nameIdFormat)
    ) {
      return sendRefusal(reply, {
        code: "AADSTS75016",
        message: `SAML2 Authentication Request has invalid NameIdPolicy: the format '${authn.nameIdFormat}' is not supported.`,
        status: 400,
      });
    }

    const flow: Flow = {
      app,
      request: { id: authn.id, nameIdFormat: authn.nameIdFormat },
      relayState,
    };
    const session = currentSession(request);
    const reusable =
      session !== undefined && !authn.forceAuthn && matchesHint(session.username, loginHint);
    if (reusable) return signedIn(reply, session, flow);
    // IsPassive: no interaction allowed (core 3.4.1), so without a usable session the answer is
    // NoPassive; ForceAuthn with IsPassive cannot be satisfied either.
    if (authn.isPassive) {
      return postFailure(reply, flow, [STATUS.responder, STATUS.noPassive], {
        code: "AADSTS50058",
        text: "A silent sign-in request was sent but no user is signed in.",
      });
    }
    return showSignIn(reply, flow, loginHint ?? session?.username ?? "", undefined);
  }

  function onLogoutRequest(
    request: FastifyRequest,
    reply: FastifyReply,
    message: XmlElement,
    relayState: string | undefined,
  ) {
    const id = attr(message, "ID");
    const issuerEl = child(message, SAML_ASSERTION_NS, "Issuer");
    if (id === undefined || issuerEl === undefined) {
      return sendRefusal(reply, {
        code: "AADSTS75005",
        message:
          "The request is not a valid Saml2 protocol message: LogoutRequest without ID or Issuer.",
        status: 400,
      });
    }
    const issuer = directText(issuerEl);
    const app = options.apps.find((a) => a.spEntityId === issuer);
    if (app === undefined) return sendRefusal(reply, appNotFound(issuer));
    const nameId = child(message, SAML_ASSERTION_NS, "NameID");
    if (nameId === undefined || directText(nameId).trim() === "") {
      return sendRefusal(reply, {
        code: "AADSTS7500530",
        message: "The SAML logout request must contain a NameID element identifying the user.",
        status: 400,
      });
    }
    endSession(request, reply);
    if (app.sloUrl === undefined) {
      return sendPage(
        reply,
        200,
        pages.message({
          title: "You signed out of your account",
          message: `${nameOf(app)} has no Logout URL configured, so you stay on this page. It's a good idea to close all browser windows.`,
          link: { href: `${root}/apps`, text: "My Apps" },
        }),
      );
    }
    // Entra's LogoutResponse: unsigned, HTTP-Redirect, to the app's Logout URL (ENTRA.md).
    const answer = buildEntraLogoutResponse({
      tenantId,
      destination: app.sloUrl,
      inResponseTo: id,
      now: now(),
      relayState,
    });
    return reply.redirect(answer.url, 302);
  }

  function onLogoutResponse(reply: FastifyReply, message: XmlElement) {
    const inResponseTo = attr(message, "InResponseTo");
    const appName = inResponseTo === undefined ? undefined : sentLogouts.get(inResponseTo, now());
    if (inResponseTo !== undefined) sentLogouts.delete(inResponseTo);
    const status = child(message, SAML_PROTOCOL_NS, "Status");
    const code = status === undefined ? undefined : child(status, SAML_PROTOCOL_NS, "StatusCode");
    const success = code !== undefined && attr(code, "Value")?.endsWith(":status:Success") === true;
    return sendPage(
      reply,
      200,
      pages.message({
        title: success ? "Signed out" : "Sign-out not confirmed",
        message:
          appName === undefined
            ? "An application answered a sign-out request this identity provider does not know."
            : success
              ? `${appName} confirmed the sign-out.`
              : `${appName} answered without confirming the sign-out.`,
        link: undefined,
      }),
    );
  }

  // Another tenant's endpoint: Entra answers that the tenant does not exist (a wrong tenant ID
  // in the SP's Login URL is a common misconfiguration). Static routes win over this one.
  fastify.route<{ Params: { tenant: string } }>({
    method: ["GET", "POST"],
    url: `${options.basePath}/:tenant/saml2`,
    handler: async (request, reply) =>
      sendRefusal(reply, {
        code: "AADSTS90002",
        message: `Tenant '${request.params.tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
        status: 400,
      }),
  });

  // ---- the sign-in form --------------------------------------------------------------------

  fastify.post(`${root}/login`, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const flowId = formField(body, "flow");
    const username = formField(body, "username") ?? "";
    const password = formField(body, "password") ?? "";
    const flow = flowId === undefined ? undefined : flows.get(flowId, now());
    if (flowId === undefined || flow === undefined) {
      return sendRefusal(reply, {
        code: "AADSTS50089",
        message: "Flow token expired. Authentication failed. Have the user try signing in again.",
        status: 400,
      });
    }
    const user = findUser(username);
    if (user === undefined || !samePassword(user.password, password)) {
      return showSignIn(
        reply,
        flow,
        username,
        "Your account or password is incorrect. If you don't remember your password, reset it now.",
        flowId,
      );
    }
    flows.delete(flowId);
    // Signing in again as the same user (ForceAuthn) keeps the apps of the session, so that
    // "Sign out everywhere" still reaches them.
    const previous = currentSession(request);
    const logins =
      previous?.username === user.upn ? new Map(previous.logins) : new Map<string, Login>();
    const session: IdpSession = { username: user.upn, authnInstant: now(), logins };
    startSession(request, reply, session);
    return signedIn(reply, session, flow);
  });

  // ---- My Apps: IdP-initiated sign-in and "Sign out everywhere" ------------------------------

  fastify.get(`${root}/apps`, async (request, reply) => {
    const session = currentSession(request);
    return sendPage(
      reply,
      200,
      pages.apps({
        user: session?.username,
        apps: options.apps.map((a) => ({
          name: nameOf(a),
          launchUrl: `${root}/apps/signin/${encodeURIComponent(appIdOf(a))}`,
          identifier: a.spEntityId,
          signedIn: session?.logins.has(a.spEntityId) === true,
        })),
        signOutAction: `${root}/apps/signout`,
        canSignOut: session !== undefined,
      }),
    );
  });

  fastify.get<{ Params: { appId: string } }>(
    `${root}/apps/signin/:appId`,
    async (request, reply) => {
      const app = appsById.get(request.params.appId);
      if (app === undefined) return sendRefusal(reply, appNotFound(request.params.appId));
      // Unsolicited: no request, so no InResponseTo; RelayState is the app's configured one.
      const flow: Flow = { app, relayState: app.relayState };
      const session = currentSession(request);
      if (session !== undefined) return signedIn(reply, session, flow);
      return showSignIn(reply, flow, "", undefined);
    },
  );

  fastify.post(`${root}/apps/signout`, async (request, reply) => {
    const session = currentSession(request);
    endSession(request, reply);
    const frames: { appName: string; url: string }[] = [];
    if (session !== undefined) {
      const at = now();
      for (const [spEntityId, login] of session.logins) {
        const app = options.apps.find((a) => a.spEntityId === spEntityId);
        if (app?.sloUrl === undefined) continue;
        // Entra's own LogoutRequest: signed over a lowercase-encoded query, NameID without
        // Format, SessionIndex = the Assertion ID of that login (ENTRA.md, Single Logout).
        const logout = buildEntraLogoutRequest({
          tenantId,
          destination: app.sloUrl,
          nameId: login.nameId,
          sessionIndex: login.sessionIndex,
          now: at,
          signingKey: options.signingKey,
        });
        sentLogouts.set(logout.id, nameOf(app), new Date(at.getTime() + FLOW_LIFETIME_MS), at);
        frames.push({ appName: nameOf(app), url: logout.url });
      }
    }
    return sendPage(reply, 200, pages.signOut({ frames, appsUrl: `${root}/apps` }));
  });

  // ---- Federation Metadata -----------------------------------------------------------------

  fastify.get(
    `${root}/federationmetadata/2007-06/federationmetadata.xml`,
    async (request, reply) => {
      const appId = queryOf(request).get("appid") ?? undefined;
      if (appId !== undefined && !appsById.has(appId)) {
        return sendRefusal(reply, { ...appNotFound(appId), status: 404 });
      }
      const xml = buildEntraFederationMetadata({
        tenantId,
        appId,
        certificates: [options.signingCertificate],
        signingKey: options.signingKey,
        signingCertificate: options.signingCertificate,
        now: now(),
        samlEndpoint: urls.saml2,
      });
      return reply.code(200).type("application/xml; charset=utf-8").send(xml);
    },
  );

  // ---- the steps ---------------------------------------------------------------------------

  function showSignIn(
    reply: FastifyReply,
    flow: Flow,
    username: string,
    error: string | undefined,
    existingFlowId?: string,
  ) {
    const at = now();
    const flowId = existingFlowId ?? newHandle();
    if (existingFlowId === undefined) {
      flows.set(flowId, flow, new Date(at.getTime() + FLOW_LIFETIME_MS), at);
    }
    return sendPage(
      reply,
      200,
      pages.signIn({
        action: `${root}/login`,
        flow: flowId,
        username,
        appName: nameOf(flow.app),
        error,
        demoUsers:
          options.showDemoUsers === false
            ? []
            : options.users.map((u) => ({
                username: u.upn,
                password: u.password,
                displayName: u.displayName ?? u.upn,
                notAssigned: u.notAssigned === true,
              })),
      }),
    );
  }

  /** The user is authenticated at the IdP: answer the app with a Response, by HTTP-POST. */
  function signedIn(reply: FastifyReply, session: IdpSession, flow: Flow) {
    const user = findUser(session.username);
    if (user === undefined) {
      // The user was removed from the configuration while signed in.
      return showSignIn(reply, flow, "", "This account no longer exists.");
    }
    const app = flow.app;
    if (user.notAssigned === true) {
      return postFailure(reply, flow, [STATUS.requester, STATUS.requestDenied], {
        code: "AADSTS50105",
        text: `The signed in user '${user.upn}' is not assigned to a role for the application '${appIdOf(app)}'(${nameOf(app)}).`,
      });
    }
    const assertionId = entraId();
    const requested = flow.request?.nameIdFormat;
    const nameIdSource: MockResponseOptions["nameIdSource"] =
      requested === REQUESTABLE_NAMEID_FORMATS.persistent
        ? "persistent"
        : requested === REQUESTABLE_NAMEID_FORMATS.unspecified
          ? "unspecified"
          : (app.nameIdSource ?? "upn");
    const xml = buildEntraResponse({
      tenantId,
      user,
      acsUrl: app.acsUrl,
      audience: app.spEntityId,
      inResponseTo: flow.request?.id,
      now: now(),
      authnInstant: session.authnInstant,
      signingKey: options.signingKey,
      signingCertificate: options.signingCertificate,
      signing: app.signing ?? options.signing ?? "assertion",
      assertionId,
      nameIdSource,
    });
    // Entra's own LogoutRequest later names the user by UPN, whatever the login's NameID was.
    session.logins.set(app.spEntityId, { nameId: user.upn, sessionIndex: assertionId });
    return postToAcs(reply, app, xml, flow.relayState);
  }

  function postFailure(
    reply: FastifyReply,
    flow: Flow,
    statusCodes: readonly string[],
    reason: { readonly code: string; readonly text: string },
  ) {
    const xml = buildEntraFailure({
      tenantId,
      acsUrl: flow.app.acsUrl,
      inResponseTo: flow.request?.id,
      now: now(),
      statusCodes,
      statusMessage: `${reason.code}: ${reason.text}`,
    });
    return postToAcs(reply, flow.app, xml, flow.relayState);
  }

  function postToAcs(
    reply: FastifyReply,
    app: MockIdpApp,
    xml: string,
    relayState: string | undefined,
  ) {
    const fields = [{ name: "SAMLResponse", value: Buffer.from(xml, "utf8").toString("base64") }];
    if (relayState !== undefined) fields.push({ name: "RelayState", value: relayState });
    return sendPage(reply, 200, pages.post({ action: app.acsUrl, fields, appName: nameOf(app) }));
  }

  // ---- sessions ----------------------------------------------------------------------------

  function currentSession(request: FastifyRequest): IdpSession | undefined {
    const id = cookieOf(request, SESSION_COOKIE);
    return id === undefined ? undefined : sessions.get(id, now());
  }

  function startSession(request: FastifyRequest, reply: FastifyReply, session: IdpSession): void {
    // A new identifier at every sign-in (no session fixation).
    const old = cookieOf(request, SESSION_COOKIE);
    if (old !== undefined) sessions.delete(old);
    const id = newHandle();
    const at = now();
    sessions.set(id, session, new Date(at.getTime() + SESSION_LIFETIME_MS), at);
    reply.header("set-cookie", sessionCookie(id, SESSION_LIFETIME_MS / 1000));
  }

  function endSession(request: FastifyRequest, reply: FastifyReply): void {
    const id = cookieOf(request, SESSION_COOKIE);
    if (id === undefined) return;
    sessions.delete(id);
    reply.header("set-cookie", sessionCookie("", 0));
  }

  function sessionCookie(value: string, maxAgeSeconds: number): string {
    // SameSite=Lax: sent on the top-level redirect from the app, not on cross-site POSTs.
    return `${SESSION_COOKIE}=${value}; Path=${root}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secureCookie ? "; Secure" : ""}`;
  }

  // ---- helpers -----------------------------------------------------------------------------

  function findUser(name: string): MockIdpUser | undefined {
    return options.users.find((u) => matchesUser(u, name));
  }

  function matchesHint(username: string, hint: string | undefined): boolean {
    if (hint === undefined || hint === "") return true;
    const user = findUser(username);
    return user !== undefined && matchesUser(user, hint);
  }

  function appNotFound(identifier: string): Refusal {
    return {
      code: "AADSTS700016",
      message: `Application with identifier '${identifier}' was not found in the directory '${tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`,
      status: 400,
    };
  }

  function sendRefusal(reply: FastifyReply, refusal: Refusal) {
    return sendPage(
      reply,
      refusal.status,
      pages.error({
        code: refusal.code,
        message: refusal.message,
        requestId: entraId().slice(1),
        timestamp: now()
          .toISOString()
          .replace("T", " ")
          .replace(/\.\d+Z$/, "Z"),
      }),
    );
  }

  function sendPage(reply: FastifyReply, status: number, html: string) {
    return reply.code(status).type("text/html; charset=utf-8").send(html);
  }

  function nameOf(app: MockIdpApp): string {
    return app.name ?? app.spEntityId;
  }

  function decodeMessage(value: string): { xml: string; root: XmlElement } | Refusal {
    let xml: string;
    try {
      // A '+' of the base64 that a sender left unencoded arrives as a space.
      xml = decodeRedirectMessage(value.replaceAll(" ", "+"), MAX_MESSAGE_BYTES);
    } catch {
      return {
        code: "AADSTS750056",
        message:
          "SAML message was not properly base64 encoded and deflated (HTTP-Redirect binding).",
        status: 400,
      };
    }
    try {
      return { xml, root: parseXml(xml) };
    } catch (e) {
      return {
        code: "AADSTS75005",
        message: `The request is not a valid Saml2 protocol message. ${(e as Error).message}`,
        status: 400,
      };
    }
  }
}

function checkOptions(o: MockIdpOptions): void {
  const problems: string[] = [];
  if (!/^[A-Za-z0-9.-]+$/.test(o.tenantId)) problems.push("tenantId must be a GUID or a domain");
  if (o.basePath !== "" && (!o.basePath.startsWith("/") || o.basePath.endsWith("/"))) {
    problems.push('basePath must be "" or start with "/" and not end with "/"');
  }
  if (!/^https?:\/\/[^/]/.test(o.publicUrl)) problems.push("publicUrl must be an absolute URL");
  const ids = new Set<string>();
  for (const app of o.apps) {
    if (ids.has(app.spEntityId)) problems.push(`two apps have the Identifier ${app.spEntityId}`);
    ids.add(app.spEntityId);
  }
  const appIds = new Set(o.apps.map(appIdOf));
  if (appIds.size !== o.apps.length) problems.push("two apps have the same appId");
  if (problems.length > 0) throw new TypeError(`mockIdpPlugin options: ${problems.join("; ")}`);
}

function isProtocol(el: XmlElement, local: string): boolean {
  return el.ns === SAML_PROTOCOL_NS && el.local === local;
}

function matchesUser(user: MockIdpUser, name: string): boolean {
  const n = name.trim().toLowerCase();
  return n !== "" && (user.upn.toLowerCase() === n || user.mail?.toLowerCase() === n);
}

function samePassword(expected: string, given: string): boolean {
  const a = createHash("sha256").update(expected).digest();
  const b = createHash("sha256").update(given).digest();
  return timingSafeEqual(a, b);
}

function queryOf(request: FastifyRequest): URLSearchParams {
  const q = request.url.indexOf("?");
  return new URLSearchParams(q === -1 ? "" : request.url.slice(q + 1));
}

function formField(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  return typeof v === "string" ? v : undefined;
}

function cookieOf(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq !== -1 && part.slice(0, eq).trim() === name) {
      const value = part.slice(eq + 1).trim();
      return value === "" ? undefined : value;
    }
  }
  return undefined;
}

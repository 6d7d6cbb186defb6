/**
 * The admin pages: the admin API's operations for a person at a browser, server-rendered, no
 * client-side framework. Own Fastify context under /admin: an admin session (the admin token
 * pasted once at /admin/login, then an HttpOnly cookie holding a random secret whose SHA-256 is
 * a store token of kind "admin-session", 8 hours), and a CSRF check on every form POST. Changes
 * go through src/domain/admin.ts with actor "admin-page".
 *
 * Copy buttons: the SP values are readonly inputs (selectable and copyable by hand), and a
 * small script, allowed by a per-response CSP nonce on the pages that show them, adds one-click
 * copying. Without the script the page works the same, minus the click.
 */

import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  type Actor,
  AdminError,
  addUser,
  connectionTested,
  createAccount,
  createConnection,
  importUsersCsv,
  removeBinding,
  requireAccount,
  requireConnection,
  setConnectionActive,
  updateAccount,
  updateConnection,
  updateUser,
} from "../../domain/admin.ts";
import { audit } from "../../domain/audit.ts";
import { type Account, type AccountSettings, ROLES, type Role } from "../../domain/model.ts";
import { type RollbackResult, rollbackSso } from "../../domain/rollback.ts";
import { constantTimeEqual, hashSecret, newSecret } from "../../domain/secrets.ts";
import { createSetupLink, listSetupLinks, revokeSetupLink } from "../../domain/setup-links.ts";
import { checkConnection } from "../../domain/test-sso.ts";
import type { AppContext } from "../context.ts";
import { cookieOptions } from "../cookies.ts";
import {
  type ConnectionBody,
  certificateViews,
  connectionInput,
  publicUser,
  spValues,
  withSamlFields,
} from "./admin-shared.ts";
import { startTest } from "./test-sso.ts";

export const ADMIN_SESSION_COOKIE = "gh_admin";
export const ADMIN_SESSION_KIND = "admin-session";
const ADMIN_SESSION_SECONDS = 8 * 3600;
const ACTOR = "admin-page";
/** Admin token attempts per IP per window (reset by a success) before /admin/login stops checking. */
const LOGIN_ATTEMPTS_ALLOWED = 10;
const LOGIN_ATTEMPT_WINDOW_SECONDS = 15 * 60;
const CERT_WARN_DAYS = 30;
const AUDIT_PAGE = 100;

const NOTICES: Record<string, string> = {
  created: "Account created.",
  settings: "General Settings saved.",
  connection: "Connection saved.",
  activated: "Connection activated.",
  deactivated: "Connection deactivated: nobody signs in through it until it is activated again.",
  user: "User created.",
  "user-saved": "User saved.",
  enabled: "User enabled.",
  disabled: "User disabled and signed out.",
  binding: "Identity binding removed: the next SSO login matches this user by email again.",
  "setup-link-revoked": "Setup link revoked: it no longer opens the setup page.",
};

type Body = Record<string, unknown>;
type Params = { id: string };

export function adminPageRoutes(app: FastifyInstance, ctx: AppContext): void {
  app.register(async (scope) => adminPages(scope, ctx), { prefix: "/admin" });
}

async function adminPages(scope: FastifyInstance, ctx: AppContext): Promise<void> {
  const { store } = ctx;
  const now = () => ctx.deps.now();
  const who = (req: FastifyRequest): Actor => ({ actor: ACTOR, ip: req.ip });
  const cookie = () => ({
    ...cookieOptions(ctx.deps.publicUrl, "session", ADMIN_SESSION_SECONDS),
    path: "/admin",
    sameSite: "strict" as const,
  });

  /** An admin page inside the layout; `copy` allows the copy-button script by nonce. */
  function render(
    req: FastifyRequest,
    reply: FastifyReply,
    template: string,
    title: string,
    data: Record<string, unknown>,
    status = 200,
  ): FastifyReply {
    const nonce = randomBytes(16).toString("base64");
    reply.header(
      "content-security-policy",
      `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`,
    );
    const q = req.query as Record<string, unknown>;
    const notice = typeof q.done === "string" ? NOTICES[q.done] : undefined;
    return ctx.page(
      reply,
      `admin/${template}`,
      { csrf: ctx.csrf(req, reply), nonce, notice, signedIn: template !== "login", ...data },
      {
        title: `${title} · Admin`,
        wide: true,
        ...(template === "login" ? {} : { signedInAs: "admin" }),
      },
      status,
    );
  }

  function message(
    req: FastifyRequest,
    reply: FastifyReply,
    status: number,
    heading: string,
    text: string,
  ): FastifyReply {
    return render(
      req,
      reply,
      "message",
      heading,
      { heading, text, signedIn: status !== 401 },
      status,
    );
  }

  // ------------------------------------------------------------------ session and CSRF hooks

  scope.addHook("onRequest", async (req, reply) => {
    reply.header("cache-control", "no-store");
    const path = req.url.split("?")[0];
    if (path === "/admin/login") return;
    if (await adminSessionValid(req)) return;
    if (req.method === "GET") return reply.redirect("/admin/login", 303);
    return message(
      req,
      reply,
      401,
      "Signed out",
      "Your admin session has ended. Sign in again, then repeat the change.",
    );
  });

  // After the body is parsed: every form POST carries the CSRF token of this browser.
  scope.addHook("preHandler", async (req, reply) => {
    if (req.method !== "POST" || ctx.csrfValid(req)) return;
    return message(
      req,
      reply,
      403,
      "Form expired",
      "This form has expired or did not come from this site. Reload the page and try again.",
    );
  });

  async function adminSessionValid(req: FastifyRequest): Promise<boolean> {
    const secret = req.cookies[ADMIN_SESSION_COOKIE];
    if (secret === undefined || !/^[A-Za-z0-9_-]{43}$/.test(secret)) return false;
    // Looked up by SHA-256: the stored value reveals nothing and the lookup compares digests.
    return (await store.tokens.peek(hashSecret(secret), ADMIN_SESSION_KIND, now())) !== undefined;
  }

  scope.setErrorHandler(async (error, req, reply) => {
    if (error instanceof AdminError && error.status === 404)
      return message(req, reply, 404, "Not found", error.message);
    throw error;
  });

  // ------------------------------------------------------------------------------- sign-in

  scope.get("/login", async (req, reply) => {
    if (await adminSessionValid(req)) return reply.redirect("/admin", 303);
    return render(req, reply, "login", "Sign in", {});
  });

  scope.post("/login", async (req, reply) => {
    const at = now();
    const token = text(req.body, "token");
    const key = `admin-login-attempt:${req.ip}`;
    const refuse = async (reason: string, status: number, error: string) => {
      await audit(
        store,
        { type: "admin.login", outcome: "failure", reason, actor: "anonymous", ip: req.ip },
        at,
      );
      return render(req, reply, "login", "Sign in", { error }, status);
    };
    // Every attempt counts, and past the limit the token is not even compared: guessing stops.
    const attempts = await store.counters.hit(key, LOGIN_ATTEMPT_WINDOW_SECONDS, at);
    if (attempts > LOGIN_ATTEMPTS_ALLOWED)
      return refuse(
        "rate_limited",
        429,
        "Too many wrong tokens from this address. Wait 15 minutes and try again.",
      );
    if (token === "" || !constantTimeEqual(token, ctx.deps.adminToken))
      return refuse("token_invalid", 401, "That is not the admin token.");
    await store.counters.reset(key);
    const secret = newSecret();
    await store.tokens.put({
      hash: hashSecret(secret),
      kind: ADMIN_SESSION_KIND,
      payload: { ip: req.ip },
      createdAt: at,
      expiresAt: new Date(at.getTime() + ADMIN_SESSION_SECONDS * 1000),
    });
    await audit(store, { type: "admin.login", outcome: "success", actor: ACTOR, ip: req.ip }, at);
    reply.setCookie(ADMIN_SESSION_COOKIE, secret, cookie());
    return reply.redirect("/admin", 303);
  });

  scope.post("/logout", async (req, reply) => {
    const secret = req.cookies[ADMIN_SESSION_COOKIE];
    if (secret !== undefined) await store.tokens.revoke(hashSecret(secret));
    reply.clearCookie(ADMIN_SESSION_COOKIE, { path: "/admin" });
    return reply.redirect("/admin/login", 303);
  });

  // ------------------------------------------------------------------------------ accounts

  async function accountsPage(
    req: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const accounts = await store.accounts.list();
    return render(req, reply, "accounts", "Accounts", { accounts, form: {}, ...extra }, status);
  }

  scope.get("/", async (req, reply) => accountsPage(req, reply));

  scope.post("/accounts", async (req, reply) => {
    const body = req.body as Body;
    try {
      const account = await createAccount(
        store,
        { name: text(body, "name"), displayName: text(body, "displayName") },
        who(req),
        now(),
      );
      return reply.redirect(`/admin/accounts/${account.id}?done=created`, 303);
    } catch (e) {
      if (!(e instanceof AdminError)) throw e;
      return accountsPage(
        req,
        reply,
        { error: e, form: { name: text(body, "name"), displayName: text(body, "displayName") } },
        e.status,
      );
    }
  });

  async function accountPage(
    req: FastifyRequest,
    reply: FastifyReply,
    account: Account,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const at = now();
    const connections = (await store.connections.list(account.id)).map((c) => ({
      connection: c,
      certificates: certificateViews(c, at),
      sp: spValues(ctx, c),
    }));
    const users = (await store.users.list(account.id)).map(publicUser);
    const setupLinks = await listSetupLinks(store, account.id, at);
    return render(
      req,
      reply,
      "account",
      account.displayName,
      {
        account,
        connections,
        users,
        roles: ROLES,
        certWarnDays: CERT_WARN_DAYS,
        userForm: {},
        connectionForm: {},
        setupLinks,
        ...extra,
      },
      status,
    );
  }

  /**
   * Runs a change for the account page: it returns a notice key or a path to redirect to, or
   * data to show on the page; an AdminError re-renders the page with the message.
   */
  async function onAccount(
    req: FastifyRequest<{ Params: Params }>,
    reply: FastifyReply,
    change: (account: Account) => Promise<string | Record<string, unknown>>,
    onError: Record<string, unknown> = {},
  ) {
    const account = await requireAccount(store, req.params.id);
    try {
      const done = await change(account);
      if (typeof done === "string")
        return reply.redirect(
          done.startsWith("/") ? done : `/admin/accounts/${account.id}?done=${done}`,
          303,
        );
      const fresh = await requireAccount(store, account.id);
      return accountPage(req, reply, fresh, done);
    } catch (e) {
      if (!(e instanceof AdminError) || e.status === 404) throw e;
      const fresh = await requireAccount(store, account.id);
      return accountPage(req, reply, fresh, { error: e, ...onError }, e.status);
    }
  }

  scope.get<{ Params: Params }>("/accounts/:id", async (req, reply) =>
    accountPage(req, reply, await requireAccount(store, req.params.id)),
  );

  scope.post<{ Params: Params }>("/accounts/:id/settings", async (req, reply) =>
    onAccount(req, reply, async (account) => {
      const body = req.body as Body;
      const settings = settingsFromForm(body);
      // Enforcing asks the admin to confirm who can still sign in with a password; the domain
      // refuses it outright when no enabled break-glass admin exists.
      if (
        settings.ssoEnforced &&
        !account.settings.ssoEnforced &&
        !checked(body, "confirmBreakGlass")
      )
        throw new AdminError(
          "confirmBreakGlass",
          "Enforcing SSO turns password login off for everyone but the break-glass admins: tick the box confirming they can still sign in, then save again.",
        );
      await updateAccount(
        store,
        account.id,
        { displayName: text(body, "displayName"), settings },
        who(req),
        now(),
      );
      return "settings";
    }),
  );

  scope.post<{ Params: Params }>("/accounts/:id/connections", async (req, reply) => {
    const form = connectionForm(req.body as Body);
    return onAccount(
      req,
      reply,
      async (account) => {
        const body = requireMetadata(form);
        const { connection } = await withSamlFields(source(body), async () =>
          createConnection(
            store,
            account.id,
            await connectionInput(ctx, account, body),
            who(req),
            now(),
          ),
        );
        return `/admin/connections/${connection.id}?done=connection`;
      },
      { connectionForm: form },
    );
  });

  scope.post<{ Params: Params }>("/accounts/:id/users", async (req, reply) => {
    const body = req.body as Body;
    const form = {
      username: text(body, "username"),
      email: text(body, "email"),
      role: text(body, "role") || "user",
      ssoId: text(body, "ssoId"),
      breakGlass: checked(body, "breakGlass"),
    };
    return onAccount(
      req,
      reply,
      async (account) => {
        await addUser(
          store,
          account.id,
          { ...form, role: form.role as Role, ssoId: form.ssoId || null },
          who(req),
          now(),
        );
        return "user";
      },
      { userForm: form },
    );
  });

  scope.post<{ Params: Params }>("/accounts/:id/users/import", async (req, reply) =>
    onAccount(req, reply, async (account) => ({
      imported: await importUsersCsv(store, account.id, text(req.body, "csv"), who(req), now()),
    })),
  );

  scope.post<{ Params: Params }>("/accounts/:id/setup-links", async (req, reply) =>
    onAccount(req, reply, async (account) => {
      const hours = Number(text(req.body, "expiresInHours") || "72");
      const { token } = await createSetupLink(
        store,
        account.id,
        { expiresInHours: hours },
        who(req),
        now(),
      );
      return { newSetupLink: ctx.url(`/setup/${token}`) };
    }),
  );

  scope.post<{ Params: Params & { linkId: string } }>(
    "/accounts/:id/setup-links/:linkId/revoke",
    async (req, reply) =>
      onAccount(req, reply, async (account) => {
        await revokeSetupLink(store, account.id, req.params.linkId, who(req), now());
        return "setup-link-revoked";
      }),
  );

  scope.get<{ Params: Params }>("/accounts/:id/rollback", async (req, reply) => {
    const account = await requireAccount(store, req.params.id);
    const users = (await store.users.list(account.id)).filter((u) => !u.disabled);
    return render(req, reply, "rollback", "Turn SSO off", { account, userCount: users.length });
  });

  scope.post<{ Params: Params }>("/accounts/:id/rollback", async (req, reply) => {
    const account = await requireAccount(store, req.params.id);
    if (text(req.body, "confirm").toLowerCase() !== account.name.toLowerCase()) {
      const users = (await store.users.list(account.id)).filter((u) => !u.disabled);
      return render(
        req,
        reply,
        "rollback",
        "Turn SSO off",
        {
          account,
          userCount: users.length,
          error: `Type the account name "${account.name}" to confirm.`,
        },
        400,
      );
    }
    const result: RollbackResult = await rollbackSso(
      store,
      ctx.deps.mailer,
      account.id,
      who(req),
      now(),
      ctx.url("/login"),
    );
    return render(req, reply, "rollback-done", "SSO turned off", { account, result });
  });

  // --------------------------------------------------------------------------- connections

  async function connectionPage(
    req: FastifyRequest,
    reply: FastifyReply,
    id: string,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const connection = await requireConnection(store, id);
    const account = await requireAccount(store, connection.accountId);
    const sp = spValues(ctx, connection);
    const findings = await checkConnection(store, connection, sp, now());
    return render(
      req,
      reply,
      "connection",
      connection.name,
      {
        account,
        connection,
        findings,
        tested: connectionTested(connection),
        certificates: certificateViews(connection, now()),
        sp,
        certWarnDays: CERT_WARN_DAYS,
        connectionForm: {},
        ...extra,
      },
      status,
    );
  }

  scope.get<{ Params: Params }>("/connections/:id", async (req, reply) =>
    connectionPage(req, reply, req.params.id),
  );

  // Test SSO from the connection page: the result opens in the new tab the button opened.
  scope.get<{ Params: Params }>("/connections/:id/test", async (req, reply) => {
    const connection = await requireConnection(store, req.params.id);
    return startTest(ctx, reply, connection, {
      connectionId: connection.id,
      origin: "admin",
      linkId: null,
    });
  });

  scope.post<{ Params: Params }>("/connections/:id", async (req, reply) => {
    const existing = await requireConnection(store, req.params.id);
    const account = await requireAccount(store, existing.accountId);
    const form = connectionForm(req.body as Body);
    try {
      const body = requireMetadata(form);
      await withSamlFields(source(body), async () =>
        updateConnection(
          store,
          existing.id,
          await connectionInput(ctx, account, body, existing),
          who(req),
          now(),
        ),
      );
      return reply.redirect(`/admin/connections/${existing.id}?done=connection`, 303);
    } catch (e) {
      if (!(e instanceof AdminError) || e.status === 404) throw e;
      return connectionPage(req, reply, existing.id, { error: e, connectionForm: form }, e.status);
    }
  });

  for (const [path, active] of [
    ["deactivate", false],
    ["activate", true],
  ] as const) {
    scope.post<{ Params: Params }>(`/connections/:id/${path}`, async (req, reply) => {
      await setConnectionActive(store, req.params.id, active, who(req), now());
      return reply.redirect(`/admin/connections/${req.params.id}?done=${path}d`, 303);
    });
  }

  // --------------------------------------------------------------------------------- users

  async function userPage(
    req: FastifyRequest,
    reply: FastifyReply,
    id: string,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    const user = await store.users.get(id);
    if (user === undefined) throw new AdminError("id", "No such user.", 404);
    const account = await requireAccount(store, user.accountId);
    const connections = new Map(
      (await store.connections.list(account.id)).map((c) => [c.id, c.name]),
    );
    const bindings = (await store.bindings.listForUser(user.id)).map((b) => ({
      ...b,
      connectionName: connections.get(b.connectionId) ?? b.connectionId,
    }));
    return render(
      req,
      reply,
      "user",
      user.username,
      { account, user: publicUser(user), bindings, roles: ROLES, ...extra },
      status,
    );
  }

  scope.get<{ Params: Params }>("/users/:id", async (req, reply) =>
    userPage(req, reply, req.params.id),
  );

  scope.post<{ Params: Params }>("/users/:id", async (req, reply) => {
    const body = req.body as Body;
    const password = text(body, "password");
    try {
      await updateUser(
        store,
        req.params.id,
        {
          email: text(body, "email"),
          role: text(body, "role") as Role,
          ssoId: text(body, "ssoId") || null,
          breakGlass: checked(body, "breakGlass"),
          disabled: checked(body, "disabled"),
          ...(password === "" ? {} : { password }),
        },
        who(req),
        now(),
      );
      return reply.redirect(`/admin/users/${req.params.id}?done=user-saved`, 303);
    } catch (e) {
      if (!(e instanceof AdminError) || e.status === 404) throw e;
      return userPage(req, reply, req.params.id, { error: e }, e.status);
    }
  });

  for (const [path, disabled] of [
    ["disable", true],
    ["enable", false],
  ] as const) {
    scope.post<{ Params: Params }>(`/users/:id/${path}`, async (req, reply) => {
      const user = await updateUser(store, req.params.id, { disabled }, who(req), now());
      return reply.redirect(`/admin/accounts/${user.accountId}?done=${path}d#users`, 303);
    });
  }

  scope.post<{ Params: Params }>("/bindings/:id/remove", async (req, reply) => {
    const userId = text(req.body, "userId");
    await removeBinding(store, req.params.id, who(req), now());
    return reply.redirect(
      /^usr_[0-9a-z]{26}$/.test(userId) ? `/admin/users/${userId}?done=binding` : "/admin",
      303,
    );
  });

  // --------------------------------------------------------------------------------- audit

  scope.get("/audit", async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    const filters = {
      account: typeof q.account === "string" ? q.account.trim() : "",
      reference: typeof q.reference === "string" ? q.reference.trim() : "",
      type: typeof q.type === "string" ? q.type.trim() : "",
      before: typeof q.before === "string" ? q.before : "",
    };
    const accounts = await store.accounts.list();
    const account =
      filters.account === ""
        ? undefined
        : accounts.find((a) => a.id === filters.account || a.name === filters.account);
    const before = filters.before === "" ? undefined : new Date(filters.before);
    let error: string | undefined;
    if (filters.account !== "" && account === undefined) error = `No account "${filters.account}".`;
    if (before !== undefined && Number.isNaN(before.getTime()))
      error = "The time to list events before is not a valid time.";
    const events =
      error !== undefined
        ? []
        : await store.audit.query({
            ...(account === undefined ? {} : { accountId: account.id }),
            ...(filters.reference === "" ? {} : { reference: filters.reference.toUpperCase() }),
            ...(filters.type === "" ? {} : { type: filters.type }),
            ...(before === undefined ? {} : { before }),
            limit: AUDIT_PAGE,
          });
    const names = new Map(accounts.map((a) => [a.id, a.name]));
    const userIds = [...new Set(events.map((e) => e.userId).filter((u) => u !== null))];
    const users = new Map<string, string>();
    for (const id of userIds) {
      const u = await store.users.get(id);
      if (u !== undefined) users.set(id, u.username);
    }
    const older =
      events.length === AUDIT_PAGE
        ? new URLSearchParams({
            ...(filters.account === "" ? {} : { account: filters.account }),
            ...(filters.reference === "" ? {} : { reference: filters.reference }),
            ...(filters.type === "" ? {} : { type: filters.type }),
            before: events[events.length - 1]!.at.toISOString(),
          }).toString()
        : undefined;
    return render(
      req,
      reply,
      "audit",
      "Login attempts and changes",
      {
        filters,
        accounts,
        older,
        error,
        events: events.map((e) => ({
          ...e,
          accountName: e.accountId === null ? "" : (names.get(e.accountId) ?? e.accountId),
          userName: e.userId === null ? "" : (users.get(e.userId) ?? e.userId),
          detailText: Object.keys(e.detail).length === 0 ? "" : JSON.stringify(e.detail, null, 1),
        })),
      },
      error === undefined ? 200 : 400,
    );
  });
}

function text(body: unknown, name: string): string {
  const v = (body as Body | undefined)?.[name];
  return typeof v === "string" ? v.trim() : "";
}

function checked(body: unknown, name: string): boolean {
  return (body as Body | undefined)?.[name] !== undefined;
}

/** The General Settings form as a settings patch (an unchecked box is absent: false). */
function settingsFromForm(body: Body): Partial<AccountSettings> {
  const emailChoice = text(body, "emailSource");
  const jit = text(body, "jitRole");
  return {
    samlLogin: Object.fromEntries(ROLES.map((r) => [r, checked(body, `samlLogin.${r}`)])) as Record<
      Role,
      boolean
    >,
    ssoEnforced: checked(body, "ssoEnforced"),
    multiLogin: checked(body, "multiLogin"),
    multiLoginClaim: text(body, "multiLoginClaim") || null,
    emailSource: (emailChoice === "attribute"
      ? `attribute:${text(body, "emailAttribute")}`
      : emailChoice) as AccountSettings["emailSource"],
    emailCaseInsensitive: checked(body, "emailCaseInsensitive"),
    jitRole: jit === "" ? null : (jit as Role),
    allowIdpInitiated: checked(body, "allowIdpInitiated"),
  };
}

/** The add/replace connection form: the metadata by URL or pasted, and a name. */
function connectionForm(body: Body): ConnectionBody {
  const name = text(body, "name");
  const metadataUrl = text(body, "metadataUrl");
  const metadataXml = text(body, "metadataXml");
  return {
    ...(name === "" ? {} : { name }),
    ...(metadataUrl === "" ? {} : { metadataUrl }),
    ...(metadataXml === "" ? {} : { metadataXml }),
  };
}

function requireMetadata(form: ConnectionBody): ConnectionBody {
  if (form.metadataUrl === undefined && form.metadataXml === undefined)
    throw new AdminError(
      "metadataXml",
      "Paste the Federation Metadata XML, or give its URL (Entra: App Federation Metadata Url).",
    );
  return form;
}

function source(body: ConnectionBody): string {
  return body.metadataUrl !== undefined ? "metadataUrl" : "metadataXml";
}

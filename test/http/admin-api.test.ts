// The admin API: bearer authentication in its own context, every route's happy path and its
// refusals (status and field), metadata by upload and by URL, CSV import, and the audit event
// each change writes with actor "admin-api".
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, afterEach, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import type { AuditEvent } from "../../src/domain/model.ts";
import { buildEntraFederationMetadata } from "../../src/mock-idp/metadata.ts";
import { readCertificate } from "../../src/saml/certs.ts";
import {
  ADMIN_TOKEN,
  addUser,
  adminApi,
  type Harness,
  harness,
  IDP_CERT,
  IDP_KEY,
  PUBLIC_URL,
  TENANT,
} from "./support.ts";

const IDP2_CERT = readCertificate(
  readFileSync(join(import.meta.dirname, "../fixtures/keys/idp2-rsa.crt"), "utf8"),
);
const OTHER_TENANT = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d";

function entraMetadata(tenantId = TENANT, certificates = [IDP_CERT.base64]) {
  return buildEntraFederationMetadata({
    tenantId,
    certificates,
    signingKey: IDP_KEY,
    signingCertificate: IDP_CERT.base64,
    now: new Date("2026-11-22T09:00:00Z"),
  });
}

async function lastAudit(h: Harness): Promise<AuditEvent> {
  const [event] = await h.store.audit.query({ limit: 1 });
  assert.ok(event, "an audit event was written");
  return event;
}

async function assertAudited(h: Harness, type: string) {
  // Changes in one test share the frozen clock: look the event up by its type.
  const [event] = await h.store.audit.query({ type, limit: 1 });
  assert.ok(event, `a ${type} event was written`);
  assert.equal(event.actor, "admin-api");
  assert.equal(event.outcome, "success");
  return event;
}

function refused(r: { status: number; json: unknown }, status: number, field: string) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  const body = r.json as { error: string; field: string; message: string };
  assert.equal(body.error, "invalid");
  assert.equal(body.field, field);
  assert.ok(body.message.length > 0);
  return body;
}

describe("admin API authentication", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("refuses a request without a token, with WWW-Authenticate, and audits it", async () => {
    h = await harness();
    const r = await adminApi(h, "GET", "/accounts", undefined, {});
    assert.equal(r.status, 401);
    assert.equal(r.json.error, "unauthorized");
    assert.match(String(r.res.headers["www-authenticate"]), /^Bearer realm="gatehouse-admin"/);
    const event = await lastAudit(h);
    assert.equal(event.type, "admin.api.auth");
    assert.equal(event.outcome, "failure");
    assert.equal(event.reason, "token_missing");
  });

  it("refuses a wrong token and a non-Bearer scheme", async () => {
    h = await harness();
    for (const authorization of [
      `Bearer ${ADMIN_TOKEN}x`,
      `Bearer ${ADMIN_TOKEN.slice(0, -1)}`,
      `Basic ${ADMIN_TOKEN}`,
      `Bearer  ${ADMIN_TOKEN}`,
    ]) {
      const r = await adminApi(h, "GET", "/accounts", undefined, { authorization });
      assert.equal(r.status, 401, authorization);
      assert.equal(r.json.message, "The admin token is not valid.");
    }
    const [event] = await h.store.audit.query({ type: "admin.api.auth" });
    assert.equal(event?.reason, "token_invalid");
  });

  it("refuses the token in the query string, even beside a good header", async () => {
    h = await harness();
    for (const q of [`access_token=${ADMIN_TOKEN}`, `token=${ADMIN_TOKEN}`]) {
      const alone = await adminApi(h, "GET", `/accounts?${q}`, undefined, {});
      assert.equal(alone.status, 401);
      const withHeader = await adminApi(h, "GET", `/accounts?${q}`);
      assert.equal(withHeader.status, 401);
      assert.equal(
        withHeader.json.message,
        "Send the admin token in the Authorization header, never in the URL.",
      );
    }
    const [event] = await h.store.audit.query({ type: "admin.api.auth" });
    assert.equal(event?.reason, "token_in_url");
  });

  it("audits failed attempts at most once a minute per IP", async () => {
    h = await harness();
    for (let i = 0; i < 5; i++) await adminApi(h, "GET", "/accounts", undefined, {});
    assert.equal((await h.store.audit.query({ type: "admin.api.auth" })).length, 1);
    h.clock.now = new Date(h.clock.now.getTime() + 61_000);
    await adminApi(h, "GET", "/accounts", undefined, {});
    assert.equal((await h.store.audit.query({ type: "admin.api.auth" })).length, 2);
  });

  it("answers an unknown admin API path with 401 before 404 (nothing to discover)", async () => {
    h = await harness();
    assert.equal((await adminApi(h, "GET", "/accounts/x/nothing", undefined, {})).status, 401);
    assert.equal((await adminApi(h, "GET", "/accounts/x/nothing")).status, 404);
  });

  it("keeps the hook inside its context: public pages need no token", async () => {
    h = await harness();
    const res = await h.app.inject({ method: "GET", url: "/login" });
    assert.equal(res.statusCode, 200);
  });
});

describe("admin API: accounts", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("lists, creates, reads by id or name, and updates settings, each change audited", async () => {
    h = await harness();
    const list = await adminApi(h, "GET", "/accounts");
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.json.accounts.map((a: { name: string }) => a.name),
      ["contoso"],
    );

    const created = await adminApi(h, "POST", "/accounts", {
      name: "fabrikam",
      displayName: "Fabrikam Inc",
      settings: { multiLogin: true },
    });
    assert.equal(created.status, 201);
    assert.equal(created.json.account.name, "fabrikam");
    assert.equal(created.json.account.settings.multiLogin, true);
    assert.equal(created.json.account.settings.emailCaseInsensitive, true);
    const createdEvent = await assertAudited(h, "admin.account.create");
    assert.equal(createdEvent.accountId, created.json.account.id);

    const byName = await adminApi(h, "GET", "/accounts/fabrikam");
    assert.equal(byName.json.account.id, created.json.account.id);
    const byId = await adminApi(h, "GET", `/accounts/${created.json.account.id}`);
    assert.equal(byId.json.account.name, "fabrikam");

    const patched = await adminApi(h, "PATCH", "/accounts/fabrikam", {
      displayName: "Fabrikam",
      settings: { samlLogin: { agent: true }, emailSource: "name", allowIdpInitiated: true },
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.account.displayName, "Fabrikam");
    assert.deepEqual(patched.json.account.settings.samlLogin, {
      admin: false,
      supervisor: false,
      agent: true,
      user: false,
    });
    assert.equal(patched.json.account.settings.emailSource, "name");
    assert.equal(patched.json.account.settings.multiLogin, true, "untouched settings kept");
    await assertAudited(h, "admin.account.update");
  });

  it("refuses bad names, duplicates, unknown accounts and unknown settings", async () => {
    h = await harness();
    refused(await adminApi(h, "POST", "/accounts", { name: "no spaces" }), 400, "name");
    refused(await adminApi(h, "POST", "/accounts", { name: "Contoso" }), 409, "name");
    refused(await adminApi(h, "GET", "/accounts/nobody"), 404, "account");
    refused(await adminApi(h, "PATCH", "/accounts/nobody", { displayName: "x" }), 404, "account");
    refused(
      await adminApi(h, "PATCH", "/accounts/contoso", { settings: { sso: true } }),
      400,
      "settings.sso",
    );
    refused(
      await adminApi(h, "PATCH", "/accounts/contoso", { settings: { samlLogin: { owner: true } } }),
      400,
      "settings.samlLogin.owner",
    );
    refused(
      await adminApi(h, "PATCH", "/accounts/contoso", { settings: { jitRole: "root" } }),
      400,
      "settings.jitRole",
    );
    refused(
      await adminApi(h, "PATCH", "/accounts/contoso", { settings: { ssoEnforced: true } }),
      400,
      "settings.ssoEnforced",
    );
  });

  it("refuses unknown properties and wrong types by schema, naming the field", async () => {
    h = await harness();
    const unknown = refused(
      await adminApi(h, "POST", "/accounts", { name: "ok", colour: "blue" }),
      400,
      "colour",
    );
    assert.equal(unknown.message, 'Unknown property "colour".');
    refused(await adminApi(h, "POST", "/accounts", { displayName: "x" }), 400, "name");
    // Fastify's Ajv coerces scalars ("42" for 42); what cannot be coerced is refused.
    refused(
      await adminApi(h, "PATCH", "/accounts/contoso", { displayName: {} }),
      400,
      "displayName",
    );
    refused(await adminApi(h, "PATCH", "/accounts/contoso", { settings: [] }), 400, "settings");
    assert.equal((await h.store.accounts.list()).length, 1, "nothing created");
  });

  it("answers malformed JSON with the app's JSON error, not a stack trace", async () => {
    h = await harness();
    const r = await adminApi(h, "POST", "/accounts", undefined, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      "content-type": "application/json",
    });
    assert.equal(r.status, 400);
    const bad = await h.app.inject({
      method: "POST",
      url: "/admin/api/accounts",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      payload: "{nope",
    });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().error, "bad_request");
  });
});

describe("admin API: connections", () => {
  let h: Harness;
  let idp: FastifyInstance;
  let idpUrl: string;

  before(async () => {
    idp = Fastify();
    idp.get("/federationmetadata.xml", async (_req, reply) =>
      reply.type("application/xml").send(entraMetadata(OTHER_TENANT)),
    );
    idp.get("/moved", async (_req, reply) => reply.redirect("/federationmetadata.xml", 302));
    idp.get("/huge", async (_req, reply) =>
      reply.type("application/xml").send("<a>".padEnd(1024 * 1024 + 10, " ")),
    );
    idp.get("/missing", async (_req, reply) => reply.status(404).send("no"));
    idp.get("/slow", async () => new Promise(() => {}));
    await idp.listen({ host: "127.0.0.1", port: 0 });
    idpUrl = `http://127.0.0.1:${(idp.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await idp.close();
  });
  afterEach(() => h?.close());

  it("creates a connection from Entra's Federation Metadata XML, with our defaults", async () => {
    h = await harness();
    const r = await adminApi(h, "POST", "/accounts/contoso/connections", {
      name: "Entra (new tenant)",
      metadataXml: entraMetadata(OTHER_TENANT, [IDP_CERT.base64, IDP2_CERT.base64]),
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    const c = r.json.connection;
    assert.equal(c.name, "Entra (new tenant)");
    assert.equal(c.idpEntityId, `https://sts.windows.net/${OTHER_TENANT}/`);
    assert.equal(c.ssoUrl, `https://login.microsoftonline.com/${OTHER_TENANT}/saml2`);
    assert.equal(c.spEntityId, `${PUBLIC_URL}/saml/contoso`);
    assert.equal(c.acsUrl, `${PUBLIC_URL}/api/auth/saml/callback`);
    assert.equal(c.active, true);
    assert.equal(r.json.certificates.length, 2);
    assert.equal(r.json.certificates[0].fingerprint256, IDP_CERT.fingerprint256);
    assert.equal(r.json.certificates[1].fingerprint256, IDP2_CERT.fingerprint256);
    assert.equal(typeof r.json.certificates[0].daysLeft, "number");
    assert.deepEqual(r.json.sp, {
      identifier: `${PUBLIC_URL}/saml/contoso`,
      replyUrl: `${PUBLIC_URL}/api/auth/saml/callback`,
      logoutUrl: `${PUBLIC_URL}/api/auth/saml/logout/callback`,
      signOnUrl: `${PUBLIC_URL}/login`,
      metadataUrl: `${PUBLIC_URL}/api/auth/saml/metadata/${c.id}`,
    });
    const event = await assertAudited(h, "admin.connection.create");
    assert.equal(event.connectionId, c.id);

    const list = await adminApi(h, "GET", "/accounts/contoso/connections");
    assert.equal(list.json.connections.length, 2);
    const one = await adminApi(h, "GET", `/connections/${c.id}`);
    assert.equal(one.status, 200);
    assert.equal(one.json.certificates[0].subject, IDP_CERT.subject);
    assert.equal(one.json.certificates[0].notAfter, IDP_CERT.notAfter.toISOString());
  });

  it("creates a connection from typed fields", async () => {
    h = await harness();
    const r = await adminApi(h, "POST", "/accounts/contoso/connections", {
      idpEntityId: "https://idp.example.org/",
      ssoUrl: "https://idp.example.org/sso",
      sloUrl: null,
      certificates: [IDP_CERT.pem],
      spEntityId: "https://sso.contoso.test/sp",
      requireSignedResponse: true,
    });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.equal(r.json.connection.spEntityId, "https://sso.contoso.test/sp");
    assert.equal(r.json.connection.requireSignedResponse, true);
    assert.deepEqual(r.json.connection.certificates, [IDP_CERT.base64]);
  });

  it("fetches the metadata by URL from a server on this machine, following a redirect", async () => {
    h = await harness();
    for (const path of ["/federationmetadata.xml", "/moved"]) {
      const r = await adminApi(h, "POST", "/accounts/contoso/connections", {
        metadataUrl: `${idpUrl}${path}`,
      });
      assert.equal(r.status, 201, JSON.stringify(r.json));
      assert.equal(r.json.connection.idpEntityId, `https://sts.windows.net/${OTHER_TENANT}/`);
      assert.equal(r.json.connection.metadataUrl, `${idpUrl}${path}`);
    }
  });

  it("refuses metadata URLs it cannot use, naming metadataUrl", async () => {
    h = await harness();
    const plain = refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", {
        metadataUrl: "http://idp.example.org/federationmetadata.xml",
      }),
      400,
      "metadataUrl",
    );
    assert.match(plain.message, /must use https/);
    refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", { metadataUrl: "not a url" }),
      400,
      "metadataUrl",
    );
    const missing = refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", {
        metadataUrl: `${idpUrl}/missing`,
      }),
      400,
      "metadataUrl",
    );
    assert.match(missing.message, /HTTP 404/);
    const huge = refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", { metadataUrl: `${idpUrl}/huge` }),
      400,
      "metadataUrl",
    );
    assert.match(huge.message, /larger than 1048576 bytes/);
    const closed = refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", {
        metadataUrl: "http://127.0.0.1:1/federationmetadata.xml",
      }),
      400,
      "metadataUrl",
    );
    assert.match(closed.message, /could not be fetched/);
    refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", {
        metadataUrl: `${idpUrl}/federationmetadata.xml`,
        metadataXml: entraMetadata(),
      }),
      400,
      "metadataUrl",
    );
    assert.equal((await h.store.connections.list(h.account.id)).length, 1, "nothing created");
  });

  it("gives up on a metadata server that does not answer within 5 seconds", async () => {
    h = await harness();
    const started = Date.now();
    const r = refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", { metadataUrl: `${idpUrl}/slow` }),
      400,
      "metadataUrl",
    );
    assert.match(r.message, /no answer within 5 seconds/);
    assert.ok(Date.now() - started < 8000);
  });

  it("refuses unusable metadata and fields, naming the field", async () => {
    h = await harness();
    const notMeta = refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", { metadataXml: "<a/>" }),
      400,
      "metadataXml",
    );
    assert.match(notMeta.message, /metadata/i);
    refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", {
        idpEntityId: "https://idp.example.org/",
        ssoUrl: "https://idp.example.org/sso",
        certificates: ["not a certificate"],
      }),
      400,
      "certificates[0]",
    );
    refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", {
        idpEntityId: "https://idp.example.org/",
        ssoUrl: "ftp://idp.example.org/sso",
        certificates: [IDP_CERT.base64],
      }),
      400,
      "ssoUrl",
    );
    refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", {
        ssoUrl: "https://idp.example.org/sso",
        certificates: [IDP_CERT.base64],
      }),
      400,
      "idpEntityId",
    );
    refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", {
        idpEntityId: "https://idp.example.org/",
        ssoUrl: "https://idp.example.org/sso",
      }),
      400,
      "certificates",
    );
    refused(
      await adminApi(h, "POST", "/accounts/contoso/connections", { metadataXml: "x", extra: 1 }),
      400,
      "extra",
    );
    refused(
      await adminApi(h, "POST", "/accounts/nobody/connections", { metadataXml: entraMetadata() }),
      404,
      "account",
    );
    refused(await adminApi(h, "GET", "/connections/con_nothing"), 404, "connection");
  });

  it("replaces the IdP side, keeping our side, and deactivates and activates", async () => {
    h = await harness();
    const id = h.connection.id;
    const r = await adminApi(h, "PUT", `/connections/${id}`, {
      metadataXml: entraMetadata(TENANT, [IDP2_CERT.base64]),
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.connection.certificates, [IDP2_CERT.base64]);
    assert.equal(r.json.connection.spEntityId, h.connection.spEntityId, "our side kept");
    assert.equal(r.json.connection.acsUrl, h.connection.acsUrl);
    assert.equal(r.json.connection.name, "Entra");
    await assertAudited(h, "admin.connection.update");
    refused(
      await adminApi(h, "PUT", `/connections/${id}`, { metadataXml: "<x/>" }),
      400,
      "metadataXml",
    );
    refused(
      await adminApi(h, "PUT", "/connections/con_nothing", { metadataXml: entraMetadata() }),
      404,
      "connection",
    );

    const off = await adminApi(h, "POST", `/connections/${id}/deactivate`, {});
    assert.equal(off.status, 200);
    assert.equal(off.json.connection.active, false);
    await assertAudited(h, "admin.connection.deactivate");
    const on = await adminApi(h, "POST", `/connections/${id}/activate`);
    assert.equal(on.json.connection.active, true);
    await assertAudited(h, "admin.connection.activate");
    refused(await adminApi(h, "POST", "/connections/con_nothing/deactivate"), 404, "connection");
  });
});

describe("admin API: users and bindings", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("creates, lists and updates users, never showing password hashes", async () => {
    h = await harness();
    const created = await adminApi(h, "POST", "/accounts/contoso/users", {
      username: "alice",
      email: "alice@contoso.com",
      role: "admin",
      password: "correct horse battery",
      breakGlass: true,
    });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.user.role, "admin");
    assert.equal(created.json.user.hasPassword, true);
    assert.equal("passwordHash" in created.json.user, false);
    assert.equal("totpSecret" in created.json.user, false);
    const event = await assertAudited(h, "admin.user.create");
    assert.equal(event.userId, created.json.user.id);

    const list = await adminApi(h, "GET", "/accounts/contoso/users");
    assert.equal(list.json.users.length, 1);
    assert.equal(list.res.body.includes("scrypt"), false);

    const patched = await adminApi(h, "PATCH", `/users/${created.json.user.id}`, {
      email: "alice@fabrikam.com",
      disabled: true,
      ssoId: "alice-sso",
    });
    assert.equal(patched.status, 200);
    assert.equal(patched.json.user.email, "alice@fabrikam.com");
    assert.equal(patched.json.user.disabled, true);
    assert.equal(patched.json.user.ssoId, "alice-sso");
    await assertAudited(h, "admin.user.update");
  });

  it("refuses bad users, naming the field", async () => {
    h = await harness();
    await addUser(h, "bob", "bob@contoso.com");
    const post = (body: unknown) => adminApi(h, "POST", "/accounts/contoso/users", body);
    refused(await post({ username: "x", email: "nope" }), 400, "email");
    refused(await post({ username: "bob", email: "b@contoso.com" }), 409, "username");
    refused(
      await post({ username: "x", email: "x@contoso.com", password: "short" }),
      400,
      "password",
    );
    refused(
      await post({ username: "x", email: "x@contoso.com", role: "user", breakGlass: true }),
      400,
      "breakGlass",
    );
    refused(await post({ username: "x", email: "x@contoso.com", role: "root" }), 400, "role");
    refused(await post({ username: "x" }), 400, "email");
    refused(await post({ username: "x", email: "x@contoso.com", admin: true }), 400, "admin");
    refused(
      await adminApi(h, "POST", "/accounts/nobody/users", { username: "x", email: "x@y.z" }),
      404,
      "account",
    );
    refused(await adminApi(h, "PATCH", "/users/usr_nothing", { disabled: true }), 404, "id");
    const bob = (await h.store.users.byUsername(h.account.id, "bob"))!;
    refused(
      await adminApi(h, "PATCH", `/users/${bob.id}`, { breakGlass: true }),
      400,
      "breakGlass",
    );
    refused(
      await adminApi(h, "PATCH", `/users/${bob.id}`, { passwordHash: "x" }),
      400,
      "passwordHash",
    );
  });

  it("imports CSV as text/csv or JSON, reporting the bad line and keeping the good ones", async () => {
    h = await harness();
    const csv = [
      "username,email,role,sso_id",
      "carol,carol@contoso.com,agent,carol-1",
      "dave,not-an-email,user,",
      "erin,erin@contoso.com,,",
    ].join("\r\n");
    const r = await adminApi(h, "POST", "/accounts/contoso/users/import", csv, {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      "content-type": "text/csv",
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.created, 2);
    assert.deepEqual(r.json.errors, [
      { line: 3, message: '"not-an-email" is not an email address.' },
    ]);
    const users = await h.store.users.list(h.account.id);
    assert.deepEqual(users.map((u) => u.username).sort(), ["carol", "erin"]);
    await assertAudited(h, "admin.user.create");

    const json = await adminApi(h, "POST", "/accounts/contoso/users/import", {
      csv: "username,email\nfrank,frank@contoso.com",
    });
    assert.equal(json.json.created, 1);
    refused(
      await adminApi(h, "POST", "/accounts/contoso/users/import", { csv: "name,mail\nx,y" }),
      400,
      "csv",
    );
    refused(
      await adminApi(h, "POST", "/accounts/contoso/users/import", { csv: "", other: 1 }),
      400,
      "body",
    );
  });

  it("lists and removes identity bindings", async () => {
    h = await harness();
    const user = await addUser(h, "alice", "alice@contoso.com");
    const binding = await h.store.bindings.create(
      { userId: user.id, connectionId: h.connection.id, subject: `entra:${TENANT}/abc` },
      h.clock.now,
    );
    const list = await adminApi(h, "GET", `/users/${user.id}/bindings`);
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.json.bindings.map((b: { subject: string }) => b.subject),
      [`entra:${TENANT}/abc`],
    );
    const del = await adminApi(h, "DELETE", `/bindings/${binding.id}`);
    assert.equal(del.status, 204);
    assert.deepEqual(await h.store.bindings.listForUser(user.id), []);
    const event = await assertAudited(h, "admin.binding.remove");
    assert.deepEqual(event.detail, { bindingId: binding.id });
    refused(await adminApi(h, "DELETE", `/bindings/${binding.id}`), 404, "binding");
    refused(await adminApi(h, "GET", "/users/usr_nothing/bindings"), 404, "id");
  });
});

describe("admin API: audit log", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("filters by account, reference, type and time, newest first", async () => {
    h = await harness();
    await adminApi(h, "POST", "/accounts", { name: "fabrikam" });
    h.clock.now = new Date(h.clock.now.getTime() + 1000);
    await adminApi(h, "PATCH", "/accounts/contoso", { displayName: "Contoso" });
    h.clock.now = new Date(h.clock.now.getTime() + 1000);
    await adminApi(h, "PATCH", "/accounts/contoso", { displayName: "Contoso 2" });

    const all = await adminApi(h, "GET", "/audit");
    assert.deepEqual(
      all.json.events.map((e: { type: string }) => e.type),
      ["admin.account.update", "admin.account.update", "admin.account.create"],
    );
    const contoso = await adminApi(h, "GET", "/audit?account=contoso");
    assert.equal(contoso.json.events.length, 2);
    const created = await adminApi(h, "GET", "/audit?type=admin.account.create");
    assert.equal(created.json.events.length, 1);
    const ref = all.json.events[1].reference as string;
    const byRef = await adminApi(h, "GET", `/audit?reference=${ref.toLowerCase()}`);
    assert.deepEqual(
      byRef.json.events.map((e: { reference: string }) => e.reference),
      [ref],
    );
    const limited = await adminApi(h, "GET", "/audit?limit=1");
    assert.equal(limited.json.events.length, 1);
    const older = await adminApi(
      h,
      "GET",
      `/audit?before=${encodeURIComponent(all.json.events[0].at)}`,
    );
    assert.equal(older.json.events.length, 2);
    refused(await adminApi(h, "GET", "/audit?before=yesterday"), 400, "before");
    refused(await adminApi(h, "GET", "/audit?limit=0"), 400, "limit");
    refused(await adminApi(h, "GET", "/audit?account=nobody"), 404, "account");
    refused(await adminApi(h, "GET", "/audit?colour=blue"), 400, "colour");
  });
});

describe("admin API: rollback", () => {
  let h: Harness;
  afterEach(() => h?.close());

  it("turns SSO off, deactivates connections and mails each user, reporting failures", async () => {
    const sent: string[] = [];
    h = await harness({ ssoEnforced: true }, [], {
      mailer: {
        send: async (m) => {
          if (m.to.startsWith("broken")) throw new Error("550 mailbox unavailable");
          sent.push(m.to);
        },
      },
    });
    const alice = await addUser(h, "alice", "alice@contoso.com");
    const broken = await addUser(h, "bob", "broken@contoso.com");
    await addUser(h, "carol", "carol@contoso.com", { disabled: true });

    const r = await adminApi(h, "POST", "/accounts/contoso/rollback", {});
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.connectionsDeactivated, 1);
    assert.equal(r.json.complete, false);
    assert.deepEqual(
      r.json.mailed.map((u: { email: string }) => u.email),
      ["alice@contoso.com"],
    );
    assert.deepEqual(
      r.json.failures.map((u: { userId: string; outcome: string; error: string }) => [
        u.userId,
        u.outcome,
        u.error,
      ]),
      [[broken.id, "mail_failed", "550 mailbox unavailable"]],
    );
    assert.deepEqual(sent, ["alice@contoso.com"]);
    const account = (await h.store.accounts.get(h.account.id))!;
    assert.equal(account.settings.ssoEnforced, false);
    assert.equal(Object.values(account.settings.samlLogin).includes(true), false);
    assert.equal((await h.store.connections.get(h.connection.id))!.active, false);
    assert.equal((await h.store.users.get(alice.id))!.mustChangePassword, true);
    const event = await assertAudited(h, "admin.sso.rollback");
    assert.equal(event.accountId, h.account.id);

    const retry = await adminApi(h, "POST", "/accounts/contoso/rollback", {
      onlyUserIds: [broken.id],
    });
    assert.equal(retry.json.users.length, 1);
    refused(await adminApi(h, "POST", "/accounts/nobody/rollback", {}), 404, "account");
    refused(await adminApi(h, "POST", "/accounts/contoso/rollback", { all: true }), 400, "all");
  });
});

// The mock IdP web application (src/mock-idp/server.ts), driven with fastify.inject(): Entra's
// refusals (ENTRA.md, AuthnRequest and "Errors the user sees at Entra"), SP- and IdP-initiated
// sign-in checked by our own validator, and Single Logout both ways checked by src/saml/logout.ts.
import assert from "node:assert/strict";
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import Fastify, { type FastifyInstance, type LightMyRequestResponse } from "fastify";
import {
  appIdOf,
  type MockIdpApp,
  type MockIdpOptions,
  type MockIdpUser,
  mockIdpPlugin,
  mockIdpUrls,
} from "../../src/mock-idp/server.ts";
import { buildAuthnRequest } from "../../src/saml/authn-request.ts";
import { readCertificate } from "../../src/saml/certs.ts";
import { SamlError } from "../../src/saml/errors.ts";
import {
  buildLogoutRequest,
  buildLogoutResponse,
  validateLogoutRequest,
  validateLogoutResponse,
} from "../../src/saml/logout.ts";
import { readIdpMetadata, verifyMetadataSignature } from "../../src/saml/metadata.ts";
import { encodeRedirectMessage } from "../../src/saml/redirect.ts";
import {
  type ResponseValidationOptions,
  type VerifiedResponse,
  validateResponse,
} from "../../src/saml/response.ts";

const KEYS = join(import.meta.dirname, "../fixtures/keys");
const idpKey = createPrivateKey(readFileSync(join(KEYS, "idp-rsa.key")));
const idpCert = readCertificate(readFileSync(join(KEYS, "idp-rsa.crt"), "utf8"));
const spKey = createPrivateKey(readFileSync(join(KEYS, "sp-rsa.key")));

const TENANT = "82869000-6ad1-48f0-8171-272ed18796e9";
const STS = `https://sts.windows.net/${TENANT}/`;
const LOGIN = `https://login.microsoftonline.com/${TENANT}/`;
const PUBLIC = "http://127.0.0.1:3000";
const BASE = "/mock-idp";
const ROOT = `${BASE}/${TENANT}`;
const URLS = mockIdpUrls({ tenantId: TENANT, basePath: BASE, publicUrl: PUBLIC });

const SP = "https://app.example.com/saml";
const ACS = "https://app.example.com/api/auth/saml/callback";
const SLO = "https://app.example.com/api/auth/saml/logout/callback";
const OTHER_SP = "spn:2b3c4d5e-0000-4000-8000-000000000001";
const OTHER_ACS = "https://other.example.com/acs";

const APP: MockIdpApp = {
  spEntityId: SP,
  acsUrl: ACS,
  sloUrl: SLO,
  relayState: "/dashboard",
  name: "Gatehouse demo",
};
const OTHER_APP: MockIdpApp = { spEntityId: OTHER_SP, acsUrl: OTHER_ACS, name: "No logout URL" };

const ALICE: MockIdpUser = {
  upn: "alice@contoso.onmicrosoft.com",
  mail: "Alice.Smith@contoso.com",
  objectId: "0f2a3b4c-0000-4000-8000-00000000a11c",
  givenName: "Alice",
  surname: "Smith",
  displayName: "Alice Smith",
  password: "alice-demo-pass",
};
const BOB: MockIdpUser = {
  upn: "bob@contoso.onmicrosoft.com",
  objectId: "0f2a3b4c-0000-4000-8000-000000000b0b",
  displayName: "Bob (not assigned)",
  password: "bob-demo-pass",
  notAssigned: true,
};

const START = new Date("2025-03-01T10:00:00.000Z");

interface Harness {
  readonly app: FastifyInstance;
  /** The mock IdP's clock, which the test moves. */
  readonly clock: { now: Date };
}

async function harness(overrides: Partial<MockIdpOptions> = {}): Promise<Harness> {
  const clock = { now: START };
  const app = Fastify();
  await app.register(mockIdpPlugin, {
    tenantId: TENANT,
    basePath: BASE,
    publicUrl: PUBLIC,
    signingKey: idpKey,
    signingCertificate: idpCert.base64,
    users: [ALICE, BOB],
    apps: [APP, OTHER_APP],
    now: () => clock.now,
    ...overrides,
  });
  await app.ready();
  return { app, clock };
}

/** The path and query of an SP-initiated sign-in, as our SP builds it. */
function authnRequestPath(
  o: {
    id?: string;
    issuer?: string;
    acsUrl?: string;
    forceAuthn?: boolean;
    isPassive?: boolean;
    loginHint?: string;
    relayState?: string;
    nameIdFormat?: string;
  } = {},
): { id: string; path: string } {
  const built = buildAuthnRequest({
    id: o.id,
    spEntityId: o.issuer ?? SP,
    acsUrl: o.acsUrl ?? ACS,
    destination: URLS.saml2,
    now: START,
    forceAuthn: o.forceAuthn,
    isPassive: o.isPassive,
    loginHint: o.loginHint,
    relayState: o.relayState,
    nameIdFormat: o.nameIdFormat,
  });
  return { id: built.id, path: built.url.slice(PUBLIC.length) };
}

/** A hand-written AuthnRequest (shapes our builder refuses to produce). */
function rawAuthnRequestPath(xml: string): string {
  return `${ROOT}/saml2?SAMLRequest=${encodeURIComponent(encodeRedirectMessage(xml))}`;
}

function unescapeHtml(s: string): string {
  return s
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&amp;", "&");
}

function hiddenField(html: string, name: string): string | undefined {
  const m = new RegExp(`<input type="hidden" name="${name}" value="([^"]*)">`).exec(html);
  return m === null ? undefined : unescapeHtml(m[1]!);
}

/** The SAML POST form the IdP answers with: action, SAMLResponse (decoded) and RelayState. */
function samlPost(res: LightMyRequestResponse): {
  action: string;
  samlResponse: string;
  xml: string;
  relayState: string | undefined;
} {
  assert.equal(res.statusCode, 200);
  const form = /<form method="post" action="([^"]*)" id="saml-post">/.exec(res.body);
  assert.ok(form, "the page holds the auto-submitting SAML form");
  assert.match(res.body, /<button type="submit">Continue<\/button>/);
  const samlResponse = hiddenField(res.body, "SAMLResponse");
  assert.ok(samlResponse !== undefined);
  return {
    action: unescapeHtml(form[1]!),
    samlResponse,
    xml: Buffer.from(samlResponse, "base64").toString("utf8"),
    relayState: hiddenField(res.body, "RelayState"),
  };
}

function sessionCookieOf(res: LightMyRequestResponse): string {
  const header = res.headers["set-cookie"];
  const value = Array.isArray(header) ? header[0] : header;
  assert.ok(value !== undefined, "a session cookie is set");
  const m = /^(MOCKIDP_SESSION=[^;]+);/.exec(value);
  assert.ok(m, `a session cookie: ${value}`);
  return m[1]!;
}

function signIn(
  app: FastifyInstance,
  page: LightMyRequestResponse,
  username: string,
  password: string,
  cookie?: string,
): Promise<LightMyRequestResponse> {
  assert.equal(page.statusCode, 200);
  const flow = hiddenField(page.body, "flow");
  assert.ok(flow !== undefined, "the sign-in page carries its flow reference");
  return app.inject({
    method: "POST",
    url: `${ROOT}/login`,
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(cookie === undefined ? {} : { cookie }),
    },
    payload: new URLSearchParams({ flow, username, password }).toString(),
  });
}

function spOptions(
  now: Date,
  extra: Partial<ResponseValidationOptions> = {},
): ResponseValidationOptions {
  return {
    idpCertificates: [idpCert],
    idpEntityId: STS,
    spEntityId: SP,
    acsUrl: ACS,
    now,
    replayCache: { consume: () => true },
    ...extra,
  };
}

/** Asserts the response is Entra's error page for `code`, readable and without a stack. */
function assertErrorPage(res: LightMyRequestResponse, code: string, status = 400): void {
  assert.equal(res.statusCode, status);
  assert.match(res.headers["content-type"] as string, /^text\/html/);
  assert.match(res.body, new RegExp(`<strong>${code}</strong>`));
  assert.match(res.body, /Sorry, but we're having trouble signing you in\./);
  assert.doesNotMatch(res.body, /\bat [\w.<>]+ \(|node:internal|\.ts:\d+/);
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<SamlError> {
  let caught: unknown;
  await p.then(
    () => assert.fail(`expected ${code}`),
    (e: unknown) => {
      caught = e;
    },
  );
  assert.ok(caught instanceof SamlError, String(caught));
  assert.equal(caught.code, code);
  return caught;
}

/** Signs Alice in to APP, SP-initiated; returns the verified response and the IdP cookie. */
async function aliceSignsIn(
  h: Harness,
): Promise<{ verified: VerifiedResponse; cookie: string; requestId: string }> {
  const { id, path } = authnRequestPath({ loginHint: ALICE.upn });
  const page = await h.app.inject({ method: "GET", url: path });
  const res = await signIn(h.app, page, ALICE.upn, ALICE.password);
  const cookie = sessionCookieOf(res);
  const post = samlPost(res);
  const verified = await validateResponse(
    post.samlResponse,
    spOptions(h.clock.now, { expectedRequestId: id }),
  );
  return { verified, cookie, requestId: id };
}

describe("mock IdP: SP-initiated sign-in (GET /saml2, POST /login)", () => {
  it("shows the sign-in page with login_hint prefilled, labelled fields and the demo users", async () => {
    const h = await harness();
    const { path } = authnRequestPath({ loginHint: ALICE.upn });
    const res = await h.app.inject({ method: "GET", url: path });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"] as string, /^text\/html; charset=utf-8/);
    assert.match(res.body, /<label for="username">/);
    assert.match(res.body, /<label for="password">/);
    assert.match(
      res.body,
      new RegExp(`id="username" name="username"[^>]* value="${ALICE.upn.replaceAll(".", "\\.")}"`),
    );
    assert.match(res.body, /<code>alice-demo-pass<\/code>/);
    assert.match(res.body, /<code>bob-demo-pass<\/code>/);
    assert.match(res.body, /to continue to Gatehouse demo/);
    assert.doesNotMatch(res.body, /set-cookie/i);
  });

  it("hides the demo users when showDemoUsers is false", async () => {
    const h = await harness({ showDemoUsers: false });
    const res = await h.app.inject({ method: "GET", url: authnRequestPath().path });
    assert.equal(res.statusCode, 200);
    assert.doesNotMatch(res.body, /alice-demo-pass/);
  });

  it("posts a Response our validator accepts: InResponseTo, Destination, Audience, RelayState", async () => {
    const h = await harness();
    const { id, path } = authnRequestPath({ loginHint: ALICE.upn, relayState: "rs-123" });
    const page = await h.app.inject({ method: "GET", url: path });
    const res = await signIn(h.app, page, ALICE.upn, ALICE.password);
    const post = samlPost(res);
    assert.equal(post.action, ACS);
    assert.equal(post.relayState, "rs-123");
    assert.match(post.xml, new RegExp(`Destination="${ACS}"`));
    assert.match(post.xml, new RegExp(`<Audience>${SP}</Audience>`));
    const verified = await validateResponse(
      post.samlResponse,
      spOptions(h.clock.now, { expectedRequestId: id, requireSignedAssertion: true }),
    );
    assert.equal(verified.inResponseTo, id);
    assert.equal(verified.issuer, STS);
    assert.equal(verified.nameId, ALICE.upn);
    assert.equal(verified.email, ALICE.mail);
    assert.equal(verified.signed.assertion, true);
    assert.equal(verified.signed.response, false);
    assert.equal(verified.sessionIndex, verified.assertionId);
    // A different outstanding request is refused: the InResponseTo is really this request's.
    await rejectsWith(
      validateResponse(
        post.samlResponse,
        spOptions(h.clock.now, { expectedRequestId: "_another" }),
      ),
      "in_response_to_mismatch",
    );
  });

  it("accepts the username case-insensitively, and the mail address as the username", async () => {
    const h = await harness();
    const page = await h.app.inject({ method: "GET", url: authnRequestPath().path });
    const res = await signIn(h.app, page, ALICE.mail!.toUpperCase(), ALICE.password);
    const post = samlPost(res);
    assert.match(post.xml, new RegExp(ALICE.upn.replaceAll(".", "\\.")));
  });

  it("shows the form again with an error on a wrong password, and the same flow still works", async () => {
    const h = await harness();
    const page = await h.app.inject({ method: "GET", url: authnRequestPath().path });
    const wrong = await signIn(h.app, page, ALICE.upn, "not-the-password");
    assert.equal(wrong.statusCode, 200);
    assert.match(wrong.body, /role="alert">Your account or password is incorrect\./);
    assert.equal(wrong.headers["set-cookie"], undefined);
    assert.doesNotMatch(wrong.body, /id="saml-post"/);
    assert.equal(hiddenField(wrong.body, "flow"), hiddenField(page.body, "flow"));
    const right = await signIn(h.app, wrong, ALICE.upn, ALICE.password);
    samlPost(right);
  });

  it("refuses an unknown user like a wrong password", async () => {
    const h = await harness();
    const page = await h.app.inject({ method: "GET", url: authnRequestPath().path });
    const res = await signIn(h.app, page, "mallory@contoso.com", "x");
    assert.match(res.body, /Your account or password is incorrect\./);
  });

  it("reuses the IdP session for a second sign-in (no form), keeping the AuthnInstant", async () => {
    const h = await harness();
    const first = await aliceSignsIn(h);
    h.clock.now = new Date(START.getTime() + 30 * 60_000);
    const { id, path } = authnRequestPath();
    const res = await h.app.inject({ method: "GET", url: path, headers: { cookie: first.cookie } });
    const post = samlPost(res);
    const verified = await validateResponse(
      post.samlResponse,
      spOptions(h.clock.now, { expectedRequestId: id }),
    );
    assert.equal(verified.nameId, ALICE.upn);
    assert.equal(verified.authnInstant.getTime(), START.getTime());
    assert.notEqual(verified.sessionIndex, first.verified.sessionIndex);
  });

  it("honours ForceAuthn: the form again despite the session", async () => {
    const h = await harness();
    const { cookie } = await aliceSignsIn(h);
    const res = await h.app.inject({
      method: "GET",
      url: authnRequestPath({ forceAuthn: true }).path,
      headers: { cookie },
    });
    assert.equal(res.statusCode, 200);
    assert.doesNotMatch(res.body, /id="saml-post"/);
    assert.match(res.body, /name="password"/);
  });

  it("shows the form when login_hint names another user than the session's", async () => {
    const h = await harness();
    const { cookie } = await aliceSignsIn(h);
    const res = await h.app.inject({
      method: "GET",
      url: authnRequestPath({ loginHint: BOB.upn }).path,
      headers: { cookie },
    });
    assert.doesNotMatch(res.body, /id="saml-post"/);
    assert.match(res.body, /name="password"/);
  });

  it("answers IsPassive without a session with a NoPassive failure (AADSTS50058)", async () => {
    const h = await harness();
    const { id, path } = authnRequestPath({ isPassive: true, relayState: "rs" });
    const res = await h.app.inject({ method: "GET", url: path });
    const post = samlPost(res);
    assert.equal(post.action, ACS);
    assert.equal(post.relayState, "rs");
    assert.match(
      post.xml,
      /<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:NoPassive"\/>/,
    );
    assert.match(post.xml, new RegExp(`InResponseTo="${id}"`));
    const e = await rejectsWith(
      validateResponse(post.samlResponse, spOptions(h.clock.now, { expectedRequestId: id })),
      "status_not_success",
    );
    assert.match(e.detail.note ?? "", /AADSTS50058/);
  });

  it("answers IsPassive with a session without showing anything", async () => {
    const h = await harness();
    const { cookie } = await aliceSignsIn(h);
    const { id, path } = authnRequestPath({ isPassive: true });
    const res = await h.app.inject({ method: "GET", url: path, headers: { cookie } });
    const post = samlPost(res);
    const verified = await validateResponse(
      post.samlResponse,
      spOptions(h.clock.now, { expectedRequestId: id }),
    );
    assert.equal(verified.nameId, ALICE.upn);
  });

  it("posts AADSTS50105 (Requester / RequestDenied) for a user not assigned to the app", async () => {
    const h = await harness();
    const { id, path } = authnRequestPath();
    const page = await h.app.inject({ method: "GET", url: path });
    const res = await signIn(h.app, page, BOB.upn, BOB.password);
    sessionCookieOf(res);
    const post = samlPost(res);
    assert.equal(post.action, ACS);
    assert.doesNotMatch(post.xml, /<Assertion/);
    assert.match(
      post.xml,
      /status:Requester"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2\.0:status:RequestDenied"/,
    );
    const e = await rejectsWith(
      validateResponse(post.samlResponse, spOptions(h.clock.now, { expectedRequestId: id })),
      "status_not_success",
    );
    assert.match(
      e.detail.note ?? "",
      /AADSTS50105: The signed in user 'bob@contoso\.onmicrosoft\.com' is not assigned to a role for the application/,
    );
  });

  it("sends an opaque persistent NameID when the request asks for it", async () => {
    const h = await harness();
    const { id, path } = authnRequestPath({ nameIdFormat: "persistent" });
    const page = await h.app.inject({ method: "GET", url: path });
    const post = samlPost(await signIn(h.app, page, ALICE.upn, ALICE.password));
    const verified = await validateResponse(
      post.samlResponse,
      spOptions(h.clock.now, { expectedRequestId: id }),
    );
    assert.equal(verified.nameIdFormat, "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
    assert.notEqual(verified.nameId, ALICE.upn);
  });

  it("signs the Response instead when the app is configured so", async () => {
    const h = await harness({ apps: [{ ...APP, signing: "response" }] });
    const { id, path } = authnRequestPath();
    const page = await h.app.inject({ method: "GET", url: path });
    const post = samlPost(await signIn(h.app, page, ALICE.upn, ALICE.password));
    const verified = await validateResponse(
      post.samlResponse,
      spOptions(h.clock.now, { expectedRequestId: id }),
    );
    assert.deepEqual(verified.signed, { response: true, assertion: false });
  });

  it("accepts the AuthnRequest on the HTTP-POST binding too", async () => {
    const h = await harness();
    const id = "_post0001";
    const xml = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="2025-03-01T10:00:00Z" AssertionConsumerServiceURL="${ACS}"><saml:Issuer>${SP}</saml:Issuer></samlp:AuthnRequest>`;
    const page = await h.app.inject({
      method: "POST",
      url: `${ROOT}/saml2?login_hint=${encodeURIComponent(ALICE.upn)}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: new URLSearchParams({
        SAMLRequest: Buffer.from(xml).toString("base64"),
        RelayState: "posted",
      }).toString(),
    });
    assert.match(page.body, /id="username" name="username"[^>]* value="alice@/);
    const post = samlPost(await signIn(h.app, page, ALICE.upn, ALICE.password));
    assert.equal(post.relayState, "posted");
    const verified = await validateResponse(
      post.samlResponse,
      spOptions(h.clock.now, { expectedRequestId: id }),
    );
    assert.equal(verified.inResponseTo, id);
  });

  it("refuses a POST without SAMLRequest (AADSTS750054) or with bad base64 (AADSTS750056)", async () => {
    const h = await harness();
    const post = (payload: string) =>
      h.app.inject({
        method: "POST",
        url: `${ROOT}/saml2`,
        headers: { "content-type": "application/x-www-form-urlencoded" },
        payload,
      });
    assertErrorPage(await post("RelayState=x"), "AADSTS750054");
    assertErrorPage(await post("SAMLRequest=%25%25%25"), "AADSTS750056");
  });

  it("refuses a sign-in form whose flow expired (AADSTS50089)", async () => {
    const h = await harness();
    const page = await h.app.inject({ method: "GET", url: authnRequestPath().path });
    h.clock.now = new Date(START.getTime() + 16 * 60_000);
    const res = await signIn(h.app, page, ALICE.upn, ALICE.password);
    assertErrorPage(res, "AADSTS50089");
    assert.equal(res.headers["set-cookie"], undefined);
  });

  it("refuses a sign-in form without a flow (AADSTS50089)", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "POST",
      url: `${ROOT}/login`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      payload: "username=a&password=b",
    });
    assertErrorPage(res, "AADSTS50089");
  });

  it("consumes the flow: a replayed form post is refused (AADSTS50089)", async () => {
    const h = await harness();
    const page = await h.app.inject({ method: "GET", url: authnRequestPath().path });
    samlPost(await signIn(h.app, page, ALICE.upn, ALICE.password));
    assertErrorPage(await signIn(h.app, page, ALICE.upn, ALICE.password), "AADSTS50089");
  });

  it("sets an HttpOnly, SameSite=Lax session cookie scoped to the tenant path", async () => {
    const h = await harness();
    const page = await h.app.inject({ method: "GET", url: authnRequestPath().path });
    const res = await signIn(h.app, page, ALICE.upn, ALICE.password);
    const header = String(res.headers["set-cookie"]);
    assert.match(header, new RegExp(`Path=${ROOT};`));
    assert.match(header, /HttpOnly/);
    assert.match(header, /SameSite=Lax/);
    assert.doesNotMatch(header, /Secure/);
    assert.equal(res.headers["cache-control"], "no-store");
  });
});

describe("mock IdP: Entra's refusals of AuthnRequests (error pages)", () => {
  it("AADSTS700016: unknown Issuer", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "GET",
      url: authnRequestPath({ issuer: "https://unknown.example.com" }).path,
    });
    assertErrorPage(res, "AADSTS700016");
    assert.match(
      res.body,
      /Application with identifier &#39;https:\/\/unknown\.example\.com&#39; was not found in the directory/,
    );
  });

  it("AADSTS50011: AssertionConsumerServiceURL not registered", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "GET",
      url: authnRequestPath({ acsUrl: "https://app.example.com/other" }).path,
    });
    assertErrorPage(res, "AADSTS50011");
    assert.match(
      res.body,
      new RegExp(
        `The redirect URI &#39;https://app\\.example\\.com/other&#39; specified in the request does not match the redirect URIs configured for the application &#39;${appIdOf(APP)}&#39;`,
      ),
    );
  });

  it("AADSTS7500529: request ID starting with a digit", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "GET",
      url: rawAuthnRequestPath(
        `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="1abc" Version="2.0" IssueInstant="2025-03-01T10:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${SP}</saml:Issuer></samlp:AuthnRequest>`,
      ),
    });
    assertErrorPage(res, "AADSTS7500529");
    assert.match(res.body, /The value &#39;1abc&#39; is not a valid SAML ID/);
  });

  it("AADSTS900236: a Subject in the request", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "GET",
      url: rawAuthnRequestPath(
        `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="2025-03-01T10:00:00Z"><saml:Issuer>${SP}</saml:Issuer><saml:Subject><saml:NameID>alice@contoso.com</saml:NameID></saml:Subject></samlp:AuthnRequest>`,
      ),
    });
    assertErrorPage(res, "AADSTS900236");
    assert.match(res.body, /Subject/);
  });

  it("AADSTS75016: a NameIDPolicy format Entra does not issue", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "GET",
      url: rawAuthnRequestPath(
        `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0" IssueInstant="2025-03-01T10:00:00Z"><saml:Issuer>${SP}</saml:Issuer><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos"/></samlp:AuthnRequest>`,
      ),
    });
    assertErrorPage(res, "AADSTS75016");
  });

  it("AADSTS90002: another tenant's /saml2", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "GET",
      url: `${BASE}/00000000-0000-0000-0000-000000000000/saml2?SAMLRequest=x`,
    });
    assertErrorPage(res, "AADSTS90002");
    assert.match(res.body, /Tenant &#39;00000000-0000-0000-0000-000000000000&#39; not found/);
  });

  it("AADSTS750054: neither SAMLRequest nor SAMLResponse", async () => {
    const h = await harness();
    assertErrorPage(await h.app.inject({ method: "GET", url: `${ROOT}/saml2` }), "AADSTS750054");
  });

  it("AADSTS750056: a SAMLRequest that is not deflated base64", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "GET",
      url: `${ROOT}/saml2?SAMLRequest=${encodeURIComponent(Buffer.from("<x/>").toString("base64"))}`,
    });
    assertErrorPage(res, "AADSTS750056");
  });

  it("AADSTS75005: not a SAML protocol message, or not well-formed", async () => {
    const h = await harness();
    assertErrorPage(
      await h.app.inject({ method: "GET", url: rawAuthnRequestPath("<foo/>") }),
      "AADSTS75005",
    );
    assertErrorPage(
      await h.app.inject({ method: "GET", url: rawAuthnRequestPath("<foo") }),
      "AADSTS75005",
    );
    assertErrorPage(
      await h.app.inject({
        method: "GET",
        url: rawAuthnRequestPath(
          '<!DOCTYPE x [<!ENTITY a "b">]><samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>',
        ),
      }),
      "AADSTS75005",
    );
  });

  it("escapes every interpolated value of an error page", async () => {
    const h = await harness();
    const evil = `"><script>alert(1)</script>`;
    const res = await h.app.inject({
      method: "GET",
      url: rawAuthnRequestPath(
        `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_a1" Version="2.0" IssueInstant="2025-03-01T10:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</saml:Issuer></samlp:AuthnRequest>`,
      ),
    });
    assertErrorPage(res, "AADSTS700016");
    assert.ok(!res.body.includes(evil));
    assert.ok(!res.body.includes("<script>alert(1)"));
    assert.match(res.body, /&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  });

  it("escapes login_hint in the sign-in page", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "GET",
      url: `${authnRequestPath().path}&login_hint=${encodeURIComponent('"><script>x</script>')}`,
    });
    assert.equal(res.statusCode, 200);
    assert.ok(!res.body.includes("<script>x"));
    assert.match(res.body, /value="&quot;&gt;&lt;script&gt;x&lt;\/script&gt;"/);
  });

  it("answers a malformed request body with an error page, not a stack trace (AADSTS90014)", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "POST",
      url: `${ROOT}/login`,
      headers: { "content-type": "application/xml" },
      payload: "<x/>",
    });
    assertErrorPage(res, "AADSTS90014", 415);
  });
});

describe("mock IdP: My Apps (IdP-initiated sign-in)", () => {
  it("lists the registered apps", async () => {
    const h = await harness();
    const res = await h.app.inject({ method: "GET", url: `${ROOT}/apps` });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /<h1>My Apps<\/h1>/);
    assert.match(res.body, new RegExp(`href="${ROOT}/apps/signin/${appIdOf(APP)}"`));
    assert.match(res.body, /Gatehouse demo/);
    assert.match(res.body, /No logout URL/);
    assert.doesNotMatch(res.body, /Sign out everywhere/);
  });

  it("signs in after the form and posts an unsolicited Response with the app's Relay State", async () => {
    const h = await harness();
    const page = await h.app.inject({ method: "GET", url: `${ROOT}/apps/signin/${appIdOf(APP)}` });
    assert.match(page.body, /name="password"/);
    const res = await signIn(h.app, page, ALICE.upn, ALICE.password);
    const post = samlPost(res);
    assert.equal(post.action, ACS);
    assert.equal(post.relayState, "/dashboard");
    assert.doesNotMatch(post.xml, /InResponseTo/);
    await rejectsWith(
      validateResponse(post.samlResponse, spOptions(h.clock.now, { expectedRequestId: "_x" })),
      "in_response_to_missing",
    );
    const verified = await validateResponse(
      post.samlResponse,
      spOptions(h.clock.now, { allowUnsolicited: true }),
    );
    assert.equal(verified.inResponseTo, undefined);
    assert.equal(verified.nameId, ALICE.upn);
  });

  it("signs straight in with an IdP session; no RelayState when none is configured", async () => {
    const h = await harness();
    const { cookie } = await aliceSignsIn(h);
    const apps = await h.app.inject({ method: "GET", url: `${ROOT}/apps`, headers: { cookie } });
    assert.match(apps.body, /Signed in as <strong>alice@contoso\.onmicrosoft\.com<\/strong>/);
    assert.match(apps.body, /Sign out everywhere/);
    const res = await h.app.inject({
      method: "GET",
      url: `${ROOT}/apps/signin/${appIdOf(OTHER_APP)}`,
      headers: { cookie },
    });
    const post = samlPost(res);
    assert.equal(post.action, OTHER_ACS);
    assert.equal(post.relayState, undefined);
    const verified = await validateResponse(
      post.samlResponse,
      spOptions(h.clock.now, { allowUnsolicited: true, spEntityId: OTHER_SP, acsUrl: OTHER_ACS }),
    );
    assert.equal(verified.nameId, ALICE.upn);
  });

  it("AADSTS700016 for an unknown app ID", async () => {
    const h = await harness();
    assertErrorPage(
      await h.app.inject({ method: "GET", url: `${ROOT}/apps/signin/nope` }),
      "AADSTS700016",
    );
  });
});

describe("mock IdP: Single Logout", () => {
  it("SP-initiated: ends the IdP session and redirects Entra's unsigned LogoutResponse to the Logout URL", async () => {
    const h = await harness();
    const { verified, cookie } = await aliceSignsIn(h);
    const request = buildLogoutRequest({
      spEntityId: SP,
      destination: URLS.saml2,
      nameId: verified.nameId,
      nameIdFormat: verified.nameIdFormat,
      sessionIndex: verified.sessionIndex,
      now: h.clock.now,
      relayState: "bye",
      signing: { privateKey: spKey },
    });
    const res = await h.app.inject({
      method: "GET",
      url: request.url.slice(PUBLIC.length),
      headers: { cookie },
    });
    assert.equal(res.statusCode, 302);
    const location = String(res.headers.location);
    assert.ok(location.startsWith(`${SLO}?SAMLResponse=`), location);
    assert.match(String(res.headers["set-cookie"]), /^MOCKIDP_SESSION=; .*Max-Age=0/);
    const answer = validateLogoutResponse(
      { binding: "redirect", query: location.slice(SLO.length + 1) },
      {
        certificates: [idpCert],
        idpEntityIds: [STS, LOGIN],
        sloUrl: SLO,
        now: h.clock.now,
        expectedInResponseTo: request.id,
        requireSignature: false,
      },
    );
    assert.equal(answer.success, true);
    assert.equal(answer.signed, false);
    assert.equal(answer.relayState, "bye");
    // The session is gone: the next sign-in asks for the password again.
    const next = await h.app.inject({
      method: "GET",
      url: authnRequestPath().path,
      headers: { cookie },
    });
    assert.match(next.body, /name="password"/);
    assert.doesNotMatch(next.body, /id="saml-post"/);
  });

  it("SP-initiated for an app without a Logout URL: a signed-out page", async () => {
    const h = await harness();
    const request = buildLogoutRequest({
      spEntityId: OTHER_SP,
      destination: URLS.saml2,
      nameId: ALICE.upn,
      now: h.clock.now,
    });
    const res = await h.app.inject({ method: "GET", url: request.url.slice(PUBLIC.length) });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /You signed out of your account/);
  });

  it("SP-initiated refusals: AADSTS700016 (unknown Issuer), AADSTS7500530 (no NameID)", async () => {
    const h = await harness();
    const unknown = buildLogoutRequest({
      spEntityId: "https://nobody.example.com",
      destination: URLS.saml2,
      nameId: ALICE.upn,
      now: h.clock.now,
    });
    assertErrorPage(
      await h.app.inject({ method: "GET", url: unknown.url.slice(PUBLIC.length) }),
      "AADSTS700016",
    );
    const noNameId = `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_l1" Version="2.0" IssueInstant="2025-03-01T10:00:00Z"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${SP}</saml:Issuer></samlp:LogoutRequest>`;
    assertErrorPage(
      await h.app.inject({
        method: "GET",
        url: `${ROOT}/saml2?SAMLRequest=${encodeURIComponent(encodeRedirectMessage(noNameId))}`,
      }),
      "AADSTS7500530",
    );
  });

  it("IdP-initiated: a signed, lowercase-encoded LogoutRequest per signed-in app with a Logout URL", async () => {
    const h = await harness();
    const { verified, cookie } = await aliceSignsIn(h);
    // Also signed in to the app without a Logout URL: it gets no request.
    samlPost(
      await h.app.inject({
        method: "GET",
        url: `${ROOT}/apps/signin/${appIdOf(OTHER_APP)}`,
        headers: { cookie },
      }),
    );
    h.clock.now = new Date(START.getTime() + 60_000);
    const res = await h.app.inject({
      method: "POST",
      url: `${ROOT}/apps/signout`,
      headers: { cookie },
    });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["set-cookie"]), /^MOCKIDP_SESSION=; .*Max-Age=0/);
    assert.match(res.body, /You signed out of your account/);
    const frames = [...res.body.matchAll(/<iframe src="([^"]*)" title="([^"]*)"/g)];
    assert.equal(frames.length, 1);
    assert.equal(frames[0]![2], "Sign-out of Gatehouse demo");
    const url = unescapeHtml(frames[0]![1]!);
    assert.ok(url.startsWith(`${SLO}?SAMLRequest=`), url);
    const query = url.slice(SLO.length + 1);
    assert.match(query, /%2f|%3d|%2b/, "Entra's lowercase percent-encoding");
    assert.doesNotMatch(query, /%[0-9A-F][A-F]|%[A-F][0-9A-F]/);
    const logout = validateLogoutRequest(
      { binding: "redirect", query },
      { certificates: [idpCert], idpEntityIds: [STS, LOGIN], sloUrl: SLO, now: h.clock.now },
    );
    assert.equal(logout.signed, true);
    assert.equal(logout.issuer, STS);
    assert.equal(logout.nameId, ALICE.upn);
    assert.equal(logout.nameIdFormat, undefined);
    assert.deepEqual(logout.sessionIndexes, [verified.sessionIndex]);

    // The app answers at /saml2 (inside the frame); the IdP shows which app confirmed.
    const answer = buildLogoutResponse({
      spEntityId: SP,
      destination: URLS.saml2,
      inResponseTo: logout.id,
      now: h.clock.now,
    });
    const confirmed = await h.app.inject({ method: "GET", url: answer.url.slice(PUBLIC.length) });
    assert.equal(confirmed.statusCode, 200);
    assert.match(confirmed.body, /Gatehouse demo confirmed the sign-out\./);
    assert.match(String(confirmed.headers["content-security-policy"]), /frame-ancestors 'self'/);

    // The session is over.
    const apps = await h.app.inject({ method: "GET", url: `${ROOT}/apps`, headers: { cookie } });
    assert.match(apps.body, /Not signed in/);
  });

  it("IdP-initiated after a ForceAuthn re-sign-in: the earlier app login is still signed out", async () => {
    const h = await harness();
    const { verified, cookie } = await aliceSignsIn(h);
    const page = await h.app.inject({
      method: "GET",
      url: authnRequestPath({ forceAuthn: true, issuer: OTHER_SP, acsUrl: OTHER_ACS }).path,
      headers: { cookie },
    });
    const again = await signIn(h.app, page, ALICE.upn, ALICE.password, cookie);
    const newCookie = sessionCookieOf(again);
    assert.notEqual(newCookie, cookie, "a new session identifier at every sign-in");
    const res = await h.app.inject({
      method: "POST",
      url: `${ROOT}/apps/signout`,
      headers: { cookie: newCookie },
    });
    const frames = [...res.body.matchAll(/<iframe src="([^"]*)"/g)];
    assert.equal(frames.length, 1);
    const query = unescapeHtml(frames[0]![1]!).slice(SLO.length + 1);
    const logout = validateLogoutRequest(
      { binding: "redirect", query },
      { certificates: [idpCert], idpEntityIds: [STS], sloUrl: SLO, now: h.clock.now },
    );
    assert.deepEqual(logout.sessionIndexes, [verified.sessionIndex]);
    // The old identifier no longer names a session.
    const apps = await h.app.inject({ method: "GET", url: `${ROOT}/apps`, headers: { cookie } });
    assert.match(apps.body, /Not signed in/);
  });

  it("IdP-initiated without a session: nothing to sign out of", async () => {
    const h = await harness();
    const res = await h.app.inject({ method: "POST", url: `${ROOT}/apps/signout` });
    assert.equal(res.statusCode, 200);
    assert.match(res.body, /No application needed to be signed out\./);
    assert.doesNotMatch(res.body, /<iframe/);
  });

  it("an unknown LogoutResponse is reported, not trusted", async () => {
    const h = await harness();
    const answer = buildLogoutResponse({
      spEntityId: SP,
      destination: URLS.saml2,
      inResponseTo: "_never_sent",
      now: h.clock.now,
    });
    const res = await h.app.inject({ method: "GET", url: answer.url.slice(PUBLIC.length) });
    assert.match(res.body, /does not know/);
  });
});

describe("mock IdP: Federation Metadata", () => {
  it("serves Entra-shaped, signed metadata pointing at the mock's /saml2", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "GET",
      url: URLS.metadata(appIdOf(APP)).slice(PUBLIC.length),
    });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"] as string, /^application\/xml/);
    assert.ok(res.body.startsWith("\uFEFF"), "a UTF-8 byte-order mark first, as Entra's");
    const metadata = readIdpMetadata(res.body, { now: h.clock.now });
    assert.equal(metadata.entityId, STS);
    assert.equal(metadata.ssoRedirectUrl, `${PUBLIC}${ROOT}/saml2`);
    assert.equal(metadata.sloRedirectUrl, `${PUBLIC}${ROOT}/saml2`);
    assert.deepEqual(
      metadata.certificates.map((c) => c.fingerprint256),
      [idpCert.fingerprint256],
    );
    verifyMetadataSignature(res.body, [idpCert]);
  });

  it("serves the tenant-wide document without appid, and AADSTS700016 for an unknown appid", async () => {
    const h = await harness();
    const tenant = await h.app.inject({ method: "GET", url: URLS.metadata().slice(PUBLIC.length) });
    assert.equal(tenant.statusCode, 200);
    assertErrorPage(
      await h.app.inject({ method: "GET", url: URLS.metadata("nope").slice(PUBLIC.length) }),
      "AADSTS700016",
      404,
    );
  });
});

describe("mock IdP: options", () => {
  it("refuses inconsistent options when registered", async () => {
    const app = Fastify();
    await assert.rejects(
      async () => {
        await app.register(mockIdpPlugin, {
          tenantId: TENANT,
          basePath: "mock-idp/",
          publicUrl: "localhost",
          signingKey: idpKey,
          signingCertificate: idpCert.base64,
          users: [ALICE],
          apps: [APP, APP],
        });
        await app.ready();
      },
      (e: Error) =>
        e instanceof TypeError &&
        /basePath/.test(e.message) &&
        /publicUrl/.test(e.message) &&
        /two apps have the Identifier/.test(e.message),
    );
  });

  it("marks the cookie Secure behind an https public URL", async () => {
    const h = await harness({ publicUrl: "https://idp.example.com" });
    const page = await h.app.inject({ method: "GET", url: authnRequestPath().path });
    const res = await signIn(h.app, page, ALICE.upn, ALICE.password);
    assert.match(String(res.headers["set-cookie"]), /; Secure$/);
  });
});

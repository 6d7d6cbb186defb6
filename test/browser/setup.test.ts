// The setup link in Chromium, as the customer's IT admin lives it: the service's admin creates
// the link on /admin, the IT admin follows the seven steps in a browser of their own, the doctor
// explains broken metadata and a failed test sign-in, Test SSO finds the UPN/mail mismatch and
// its fix, SSO goes on and a real SSO login works; then revoked and expired links stop working.
// The tests run in order: each builds on the state the previous one left (one demo server).
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Locator, Page, Response } from "playwright-core";
import { DEMO_SETUP_ACCOUNT } from "../../src/cli/demo.ts";
import type { Account } from "../../src/domain/model.ts";
import { listSetupLinks, setupActor } from "../../src/domain/setup-links.ts";
import { SESSION_COOKIE } from "../../src/http/cookies.ts";
import { appIdOf, mockIdpUrls } from "../../src/mock-idp/server.ts";
import {
  ADMIN_TOKEN,
  type DemoServer,
  lastEvent,
  launchBrowser,
  newPage,
  SCREENSHOTS,
  screenshot,
  signInAtMockIdp,
  startDemoServer,
  startSso,
} from "./support.ts";

const FIXTURES = join(import.meta.dirname, "../fixtures/metadata");
const ENTRA_TENANT = "82869000-6ad1-48f0-8171-272ed18796e9";

let server: DemoServer;
let browser: Browser;
let account: Account;
/** The setup link the admin creates in the first test; the others use it. */
let setupUrl = "";

before(async () => {
  [server, browser] = await Promise.all([startDemoServer(), launchBrowser()]);
  account = (await server.store.accounts.byName(DEMO_SETUP_ACCOUNT))!;
});
after(async () => {
  await browser?.close();
  await server?.close();
});

function fixture(dir: string): string {
  return readFileSync(join(FIXTURES, dir, "metadata.xml"), "utf8");
}

/** The mock IdP's Federation Metadata URL of the app registered for demo-setup. */
function mockIdpMetadataUrl(): string {
  const options = server.seed.mockIdpOptions;
  const app = options.apps.find(
    (a) => a.spEntityId === `${server.publicUrl}/saml/${DEMO_SETUP_ACCOUNT}`,
  );
  assert.ok(app !== undefined, "the mock IdP knows demo-setup's default Identifier");
  return mockIdpUrls(options).metadata(appIdOf(app));
}

async function linkActor(): Promise<string> {
  const [link] = await listSetupLinks(server.store, account.id, new Date());
  assert.ok(link !== undefined);
  return setupActor(link.id);
}

async function elementShot(locator: Locator, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await locator.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
}

/** The admin signed in on /admin, on demo-setup's account page. */
async function adminOnAccount(): Promise<Page> {
  const { page } = await newPage(browser, server);
  await page.goto("/admin");
  await page.waitForURL(/\/admin\/login$/);
  await page.getByLabel("Admin token").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: DEMO_SETUP_ACCOUNT, exact: true }).click();
  await page.getByRole("heading", { name: "Demo Setup", level: 1 }).waitFor();
  return page;
}

/** Creates a setup link in the Setup links card and returns the URL shown once. */
async function createLink(admin: Page, hours: number): Promise<string> {
  const card = admin.locator("#setup-links");
  await card.getByLabel("Valid for (hours, at most 168)").fill(String(hours));
  await card.getByRole("button", { name: "Create a setup link" }).click();
  await card.getByRole("status").waitFor();
  assert.equal(
    (await card.getByRole("status").textContent())?.trim(),
    "Setup link created. Copy it now: it is shown only once.",
  );
  return card.getByLabel("New setup link").inputValue();
}

/** Posts step 5's form with pasted text; answers the response status. */
async function pasteMetadata(page: Page, xml: string): Promise<number> {
  await page.getByLabel("App Federation Metadata Url").fill("");
  await page.getByLabel("or paste its contents").fill(xml);
  return saveMetadata(page);
}

async function saveMetadata(page: Page): Promise<number> {
  const response = page.waitForResponse(
    (r) => r.request().method() === "POST" && r.url().endsWith("/metadata"),
  );
  await page.getByRole("button", { name: "Save the metadata" }).click();
  const status = (await response).status();
  await page.waitForLoadState();
  return status;
}

/** Chooses a file in step 5; the page's script reads it into the text area. */
async function chooseMetadataFile(page: Page, name: string, xml: string): Promise<void> {
  await page.getByLabel("or paste its contents").fill("");
  await page
    .getByLabel("Federation Metadata XML file")
    .setInputFiles({ name, mimeType: "application/xml", buffer: Buffer.from(xml) });
  // Cleared above, so any text there now is the file's (a text area normalises line ends).
  await page.waitForFunction(
    () => (document.getElementById("metadata-xml") as HTMLTextAreaElement).value !== "",
  );
  const read = await page.getByLabel("or paste its contents").inputValue();
  assert.equal(read, xml.replace(/\r\n?/g, "\n").replace(/^\uFEFF/, ""));
}

/** Step 5's "Problems with the metadata": the one error finding, message and fix. */
async function uploadError(page: Page): Promise<{ message: string; fix: string }> {
  const errors = page.getByRole("list", { name: "Problems with the metadata" }).locator("li.error");
  assert.equal(await errors.count(), 1, "one error finding");
  return findingText(errors.first());
}

async function findingText(li: Locator): Promise<{ message: string; fix: string }> {
  const all = (await li.textContent()) ?? "";
  const fix = ((await li.locator(".fix").textContent()) ?? "").trim();
  return { message: all.replace(fix, "").trim(), fix };
}

/** Step 6's connection check, error findings only. */
function checkErrors(page: Page): Locator {
  return page.getByRole("list", { name: "Connection check" }).locator("li.error");
}

/** Clicks "Test sign-in (opens a new tab)" and returns the new tab. */
async function startTest(context: BrowserContext, page: Page): Promise<Page> {
  const [tab] = await Promise.all([
    context.waitForEvent("page"),
    page.getByRole("link", { name: "Test sign-in (opens a new tab)" }).click(),
  ]);
  return tab;
}

/** In the test tab: waits for the ACS's answer (the result page) and returns its status. */
function resultResponse(tab: Page): Promise<Response> {
  return tab.waitForResponse(
    (r) => r.request().method() === "POST" && r.url().endsWith("/api/auth/saml/callback"),
  );
}

/** Nobody is signed in in this browser: no session cookie, and /dashboard sends to /login. */
async function expectNoSession(context: BrowserContext): Promise<void> {
  const cookies = await context.cookies();
  assert.equal(
    cookies.find((c) => c.name === SESSION_COOKIE),
    undefined,
    "no session cookie",
  );
  const p = await context.newPage();
  await p.goto("/dashboard");
  assert.equal(new URL(p.url()).pathname, "/login");
  await p.close();
}

/** Nothing wider than the 1366px window: no value pushes the page into sideways scrolling. */
async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  assert.ok(scroll <= client, `page ${scroll}px wide in a ${client}px window`);
}

function cellAfter(page: Page, header: string): Locator {
  return page
    .locator("table.facts tr", { has: page.locator("th", { hasText: header }) })
    .locator("td");
}

describe("setup link in Chromium (1366x768)", () => {
  it("the admin creates a link, shown once; the IT admin opens it: seven steps, our values, copy buttons, both IdP tabs", async () => {
    const admin = await adminOnAccount();
    setupUrl = await createLink(admin, 72);
    assert.match(setupUrl, new RegExp(`^${server.publicUrl}/setup/[A-Za-z0-9_-]{43}$`));
    await elementShot(admin.locator("#setup-links"), "setup-admin-links");
    const created = await lastEvent(server.store, "admin.setup_link.create");
    assert.equal(created.accountId, account.id);
    assert.ok(!JSON.stringify(created).includes(setupUrl.split("/").pop()!), "token not audited");
    // Shown once: the account page opened again lists the link, never its URL.
    await admin.goto(`/admin/accounts/${account.id}`);
    const card = admin.locator("#setup-links");
    assert.equal(await card.getByLabel("New setup link").count(), 0);
    assert.ok(!(await admin.content()).includes(setupUrl));
    assert.equal((await card.locator("tbody tr .badge").allTextContents()).join(), "active");
    await admin.context().close();

    // The IT admin, in a browser of their own.
    const { context, page } = await newPage(browser, server);
    await context.grantPermissions(["clipboard-read", "clipboard-write"], {
      origin: server.publicUrl,
    });
    const res = await page.goto(setupUrl);
    assert.equal(res?.status(), 200);
    assert.equal(res?.headers()["cache-control"], "no-store");
    await page.getByRole("heading", { name: "Set up single sign-on for Demo Setup" }).waitFor();
    const steps = (await page.locator("section.card h2").allTextContents()).map((t) =>
      t.replace(/\s+/g, " ").trim(),
    );
    assert.deepEqual(steps, [
      "1 Create the enterprise application",
      "2 Basic SAML Configuration",
      "3 Attributes & Claims",
      "4 SAML Certificates",
      "5 Give us the metadata",
      "6 Check and test",
      "7 Turn SSO on",
    ]);
    await screenshot(page, "setup-entra-top", false);
    await expectNoSidewaysScroll(page);

    const step2 = page.locator("#step-2");
    const values = {
      "Identifier (Entity ID)": `${server.publicUrl}/saml/${DEMO_SETUP_ACCOUNT}`,
      "Reply URL (Assertion Consumer Service URL)": `${server.publicUrl}/api/auth/saml/callback`,
      "Sign on URL (optional)": `${server.publicUrl}/login`,
      "Logout URL (optional)": `${server.publicUrl}/api/auth/saml/logout/callback`,
    };
    for (const [label, value] of Object.entries(values)) {
      assert.equal(await step2.getByLabel(label, { exact: true }).inputValue(), value, label);
    }
    assert.equal(await step2.locator("input.copy").count(), 4);
    await elementShot(step2, "setup-step-2");

    // Copy puts the exact value on the clipboard and says so on the button.
    for (const label of ["Identifier (Entity ID)", "Reply URL (Assertion Consumer Service URL)"]) {
      const button = step2.getByRole("button", { name: `Copy ${label}` });
      await button.click();
      await page.waitForFunction(
        (el) => el?.textContent === "Copied",
        await button.elementHandle(),
      );
      assert.equal(
        await page.evaluate(() => navigator.clipboard.readText()),
        values[label as keyof typeof values],
      );
    }

    // Any other SAML IdP: generic wording, and our SP metadata file.
    await page.getByRole("link", { name: "Any other SAML IdP" }).click();
    await page.waitForURL(/\?idp=other$/);
    assert.equal(
      await page.getByRole("link", { name: "Any other SAML IdP" }).getAttribute("aria-current"),
      "page",
    );
    const generic = (
      await page.locator("#step-1, #step-2, #step-3, #step-4, #step-5").allTextContents()
    ).join(" ");
    assert.doesNotMatch(generic, /Entra|Azure|Microsoft/);
    assert.match(generic, /Create a SAML application/);
    const other = page.locator("#step-2");
    assert.equal(
      await other.getByLabel("SP entity ID (Audience)", { exact: true }).inputValue(),
      values["Identifier (Entity ID)"],
    );
    assert.equal(
      await other.getByLabel("ACS URL (HTTP-POST binding)", { exact: true }).inputValue(),
      values["Reply URL (Assertion Consumer Service URL)"],
    );
    const link = other.getByRole("link", { name: "SP metadata file" });
    const href = await link.getAttribute("href");
    assert.equal(href, `${setupUrl}/sp-metadata`);
    const metadata = await page.request.get(href!);
    assert.equal(metadata.status(), 200);
    assert.match(metadata.headers()["content-type"] ?? "", /^application\/samlmetadata\+xml/);
    const xml = await metadata.text();
    assert.ok(xml.includes(`entityID="${values["Identifier (Entity ID)"]}"`));
    assert.ok(xml.includes(`Location="${values["Reply URL (Assertion Consumer Service URL)"]}"`));
    await screenshot(page, "setup-other-idp", false);
    await context.close();
  });

  it("the doctor in step 5 and 6: SP metadata, no SSO endpoint, expired certificates, unreadable text, Entra issuer without its slash, a failed test sign-in", async () => {
    const { context, page } = await newPage(browser, server);
    await page.goto(setupUrl);

    // 1. Gatehouse's own SP metadata, pasted back.
    const own = await (await page.request.get(`${setupUrl}/sp-metadata`)).text();
    assert.equal(await pasteMetadata(page, own), 400);
    let finding = await uploadError(page);
    assert.match(finding.message, /service-provider metadata \(perhaps Gatehouse's own\)/);
    assert.match(
      finding.fix,
      /^Fix: In Entra, .*download Federation Metadata XML \(not the SP metadata from step 2\)/,
    );

    // 2. No single sign-on endpoint.
    assert.equal(await pasteMetadata(page, fixture("bad-metadata_missing_endpoint-no-sso")), 400);
    finding = await uploadError(page);
    assert.match(finding.message, /no single sign-on URL/);
    assert.match(
      finding.fix,
      /Login URL is https:\/\/login\.microsoftonline\.com\/<tenant-id>\/saml2/,
    );

    // 3. Every certificate expired, chosen as a file.
    await chooseMetadataFile(
      page,
      "Contoso.xml",
      fixture("bad-certificate_expired-every-certificate"),
    );
    assert.equal(await saveMetadata(page), 400);
    finding = await uploadError(page);
    assert.match(finding.message, /Every signing certificate in the metadata has expired/);
    assert.match(finding.fix, /SAML Certificates: add a new certificate, make it active/);
    await elementShot(page.locator("#step-5"), "setup-step-5-errors");

    // 4. Text that is not metadata at all.
    assert.equal(await pasteMetadata(page, "Federation Metadata? Here you go: see attached"), 400);
    finding = await uploadError(page);
    assert.match(finding.message, /^error ?The metadata could not be read/);
    assert.match(finding.fix, /Federation Metadata XML, Download/);

    // None of them became a connection.
    assert.equal((await server.store.connections.list(account.id)).length, 0);

    // 5. Entra metadata whose entity ID lost its trailing slash: saved, and step 6 says so.
    const slashless = fixture("good-entra-rotation").replace(
      `entityID="https://sts.windows.net/${ENTRA_TENANT}/"`,
      `entityID="https://sts.windows.net/${ENTRA_TENANT}"`,
    );
    assert.ok(slashless.includes(`entityID="https://sts.windows.net/${ENTRA_TENANT}"`));
    assert.equal(await pasteMetadata(page, slashless), 303);
    assert.match(new URL(page.url()).search, /done=metadata/);
    assert.equal(await checkErrors(page).count(), 1);
    finding = await findingText(checkErrors(page).first());
    assert.match(finding.message, new RegExp(`${ENTRA_TENANT} lacks its trailing slash`));
    assert.match(
      finding.fix,
      new RegExp(
        `ends with a slash: set the IdP entity ID to https://sts\\.windows\\.net/${ENTRA_TENANT}/`,
      ),
    );
    assert.equal((await server.store.connections.list(account.id)).length, 1);

    // 6. The mock IdP's metadata by URL, then a test sign-in by someone not assigned (heidi).
    await page.getByLabel("or paste its contents").fill("");
    await page.getByLabel("App Federation Metadata Url").fill(mockIdpMetadataUrl());
    assert.equal(await saveMetadata(page), 303);
    assert.equal(await checkErrors(page).count(), 0, "the mock IdP's metadata is fine");
    const tab = await startTest(context, page);
    const answered = resultResponse(tab);
    await signInAtMockIdp(tab, "heidi@demo.test");
    assert.equal((await answered).status(), 400);
    await tab.getByRole("heading", { name: "Test sign-in failed" }).waitFor();
    assert.match(
      (await cellAfter(tab, "Reason").textContent()) ?? "",
      /status_not_success: The identity provider reported a failure/,
    );
    assert.match((await cellAfter(tab, "Detail").textContent()) ?? "", /AADSTS50105/);
    assert.match(
      (await tab.locator(".fix").textContent()) ?? "",
      /How to fix it: In Entra, Users and groups: assign this user/,
    );
    await screenshot(tab, "setup-test-failed");
    await expectNoSession(context);

    // The setup page, reloaded, explains the latest failure in step 6.
    await page.goto(setupUrl);
    const latest = page
      .getByRole("list", { name: "Connection check" })
      .locator("li.error", { hasText: "The latest failed sign-in" });
    finding = await findingText(latest);
    assert.match(
      finding.message,
      /was refused: status_not_success\. The IdP reported: .*AADSTS50105/,
    );
    assert.match(finding.fix, /In Entra, Users and groups: assign this user/);
    assert.match(
      (await page.locator("#step-6").textContent()) ?? "",
      /Last test: failed \(status_not_success\)/,
    );
    await elementShot(page.locator("#step-6"), "setup-step-6-failure");
    const failure = await lastEvent(server.store, "sso.test");
    assert.equal(failure.outcome, "failure");
    assert.equal(failure.actor, await linkActor());
    await context.close();
  });

  it("Test SSO with a UPN/mail mismatch: every claim, the candidates, the suggestion, no session; the name claim chosen, the test passes, SSO on, grace signs in", async () => {
    const { context, page } = await newPage(browser, server);
    await page.goto(setupUrl);
    const metadata = await page.request.get(mockIdpMetadataUrl());
    assert.equal(metadata.status(), 200);
    const xml = await metadata.text();
    await page.getByLabel("App Federation Metadata Url").fill("");
    await chooseMetadataFile(page, "Demo Setup.xml", xml);
    assert.equal(await saveMetadata(page), 303);
    assert.equal(
      (await page.getByRole("status").textContent())?.trim(),
      "Your IdP's metadata is saved. Check the findings below, then run a test sign-in.",
    );
    const step7 = page.locator("#step-7");
    assert.ok(await step7.getByRole("button", { name: "Turn SSO on" }).isDisabled());

    // Grace signs in at the IdP with her UPN; her mail there is grace@demo.test.
    let tab = await startTest(context, page);
    let answered = resultResponse(tab);
    await signInAtMockIdp(tab, "ggordon@demo.onmicrosoft.com");
    assert.equal((await answered).status(), 422);
    await tab
      .getByRole("heading", { name: "The IdP answered, but this sign-in would be refused" })
      .waitFor();
    assert.match((await cellAfter(tab, "Read from").textContent()) ?? "", /^emailaddress claim\b/);
    assert.equal((await cellAfter(tab, "Value").textContent())?.trim(), "grace@demo.test");
    // Every claim received, the NameID first.
    const claims = tab.locator("table", { has: tab.getByRole("columnheader", { name: "Values" }) });
    const received = new Map(
      await claims
        .locator("tbody tr")
        .evaluateAll((trs) =>
          trs.map((tr) => [
            tr.querySelector("td strong")?.textContent?.trim() ?? "",
            tr.querySelector("td:last-child")?.textContent?.trim() ?? "",
          ]),
        ),
    );
    assert.equal([...received.keys()][0], "NameID");
    assert.equal(received.get("NameID"), "ggordon@demo.onmicrosoft.com");
    assert.equal(received.get("emailaddress"), "grace@demo.test");
    assert.equal(received.get("name"), "ggordon@demo.onmicrosoft.com");
    for (const name of ["objectidentifier", "tenantid", "displayname", "givenname", "surname"])
      assert.ok(received.has(name), name);
    // The candidates: only the name claim (the UPN) matches a user of the account.
    const candidates = tab.locator("table", {
      has: tab.getByRole("columnheader", { name: "Users with this email" }),
    });
    const rows = await candidates
      .locator("tbody tr")
      .evaluateAll((trs) =>
        trs.map((tr) => Array.from(tr.querySelectorAll("td"), (td) => td.textContent?.trim())),
      );
    assert.deepEqual(
      rows.find((r) => r[0] === "emailaddress claim"),
      ["emailaddress claim", "grace@demo.test", "none"],
    );
    assert.deepEqual(
      rows.find((r) => r[0] === "name claim (UPN)"),
      ["name claim (UPN)", "ggordon@demo.onmicrosoft.com", "grace"],
    );
    const suggestion = (await tab.getByRole("note").textContent()) ?? "";
    assert.match(
      suggestion,
      /^Suggestion: .*name claim \(UPN\) ggordon@demo\.onmicrosoft\.com matches grace/,
    );
    assert.match(suggestion, /user\.userprincipalname/);
    await screenshot(tab, "setup-test-suggestion");
    await expectNoSidewaysScroll(tab);
    await expectNoSession(context);
    await tab.close();

    // Step 7 stays closed after a refused test.
    await page.reload();
    assert.ok(await step7.getByRole("button", { name: "Turn SSO on" }).isDisabled());
    assert.match((await step7.textContent()) ?? "", /Available after a successful test sign-in/);

    // The suggestion taken: the email is read from the name claim.
    await page
      .getByLabel("Read each person's email address from")
      .selectOption({ label: "the name claim (Entra: user.userprincipalname, the UPN)" });
    await page.locator("#step-6").getByRole("button", { name: "Save", exact: true }).click();
    await page.waitForURL(/done=email-claim/);
    assert.equal(
      (await page.getByRole("status").textContent())?.trim(),
      "Saved. Run the test sign-in again to check that it now matches your users.",
    );
    assert.equal((await server.store.accounts.get(account.id))?.settings.emailSource, "name");

    // Again: the IdP session is still there, so the answer comes straight back.
    tab = await startTest(context, page);
    answered = resultResponse(tab);
    assert.equal((await answered).status(), 200);
    await tab.getByRole("heading", { name: "Test sign-in succeeded" }).waitFor();
    assert.match((await cellAfter(tab, "Read from").textContent()) ?? "", /^name claim\b/);
    assert.equal(
      (await cellAfter(tab, "Value").textContent())?.trim(),
      "ggordon@demo.onmicrosoft.com",
    );
    assert.match(
      (await tab.getByRole("status").textContent()) ?? "",
      /The connection is marked as tested .*: SSO can now be turned on\./,
    );
    assert.equal(await tab.getByRole("note").count(), 0, "no suggestion any more");
    await screenshot(tab, "setup-test-success");
    await expectNoSidewaysScroll(tab);
    await expectNoSession(context);
    await tab.close();

    await page.reload();
    assert.equal((await page.locator("#step-6 h2 .status").textContent())?.trim(), "tested");
    const turnOn = step7.getByRole("button", { name: "Turn SSO on" });
    assert.ok(await turnOn.isEnabled());
    await elementShot(step7, "setup-step-7-enabled");
    await turnOn.click();
    await page.waitForURL(/done=enabled/);
    assert.equal(
      (await page.getByRole("status").textContent())?.trim(),
      "SSO is on. People sign in with their IdP account from now on.",
    );
    assert.equal((await step7.locator("h2 .status").textContent())?.trim(), "on");
    const settings = (await server.store.accounts.get(account.id))!.settings;
    assert.deepEqual(settings.samlLogin, {
      admin: true,
      supervisor: true,
      agent: true,
      user: true,
    });
    await context.close();

    // A real SSO login, in another browser: grace, known here by her UPN.
    const { context: user, page: p } = await newPage(browser, server);
    await startSso(p, "ggordon@demo.onmicrosoft.com");
    await p.waitForURL(/\/mock-idp\//);
    assert.equal(
      await p.getByLabel("Email or username").inputValue(),
      "ggordon@demo.onmicrosoft.com",
    );
    await signInAtMockIdp(p);
    await p.waitForURL(/\/dashboard$/);
    await p.getByRole("heading", { name: "You're signed in" }).waitFor();
    assert.equal(await p.locator("main p.lead strong").textContent(), "grace");
    const login = await lastEvent(server.store, "login.sso");
    assert.equal(login.outcome, "success");
    assert.equal(login.accountId, account.id);
    await user.close();

    // The audit trail of the tests, newest first, all by the setup link.
    const tests = await server.store.audit.query({ type: "sso.test", accountId: account.id });
    assert.deepEqual(
      tests.map((e) => [e.outcome, e.reason]),
      [
        ["success", null],
        ["failure", "no_matching_user"],
        ["failure", "status_not_success"],
      ],
    );
    const actor = await linkActor();
    assert.ok(
      tests.every((e) => e.actor === actor),
      actor,
    );
  });

  it("a revoked link and an expired link no longer work (410), and say why", async () => {
    const { context, page } = await newPage(browser, server);
    assert.equal((await page.goto(setupUrl))?.status(), 200);

    const admin = await adminOnAccount();
    const card = admin.locator("#setup-links");
    await card.getByRole("button", { name: "Revoke" }).click();
    await admin.waitForURL(/done=setup-link-revoked/);
    assert.match(
      (await admin.getByRole("status").first().textContent()) ?? "",
      /Setup link revoked: it no longer opens the setup page\./,
    );
    assert.equal((await card.locator("tbody tr .badge").allTextContents()).join(), "revoked");
    assert.equal(await card.getByRole("button", { name: "Revoke" }).count(), 0);

    // The IT admin's open page: a save is refused, and a reload says why.
    await page.getByLabel("or paste its contents").fill(fixture("good-entra-rotation"));
    const before = await server.store.connections.list(account.id);
    assert.equal(await saveMetadata(page), 410);
    assert.deepEqual(await server.store.connections.list(account.id), before);
    const res = await page.reload();
    assert.equal(res?.status(), 410);
    await page.getByRole("heading", { name: "This setup link no longer works" }).waitFor();
    assert.match(
      (await page.locator("main").textContent()) ?? "",
      /This setup link was revoked by the service's administrator\./,
    );
    await screenshot(page, "setup-link-revoked", false);
    assert.equal((await page.goto(`${setupUrl}/sp-metadata`))?.status(), 410);

    // A link for an hour, opened, then two hours later.
    const shortLived = await createLink(admin, 1);
    assert.equal((await page.goto(shortLived))?.status(), 200);
    server.advance(2 * 3600_000);
    try {
      const expired = await page.reload();
      assert.equal(expired?.status(), 410);
      await page.getByRole("heading", { name: "This setup link no longer works" }).waitFor();
      assert.match(
        (await page.locator("main").textContent()) ?? "",
        /This setup link has expired\./,
      );
    } finally {
      server.advance(-2 * 3600_000);
    }

    // A link that never existed.
    const unknown = await page.goto(`/setup/${"A".repeat(43)}`);
    assert.equal(unknown?.status(), 404);
    assert.match((await page.locator("main").textContent()) ?? "", /This setup link is not valid/);
    await admin.context().close();
    await context.close();
  });
});

// The demo seed: what it creates, that a second run changes nothing, the IdP key kept in the
// data directory, and the mock IdP options matching the connections.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  DEMO_ACCOUNTS,
  DEMO_IDP_USERS,
  DEMO_SETUP_ACCOUNT,
  DEMO_TENANT_ID,
  loadDemoIdpKey,
  seedDemo,
} from "../../src/cli/demo.ts";
import { ssoEnabled } from "../../src/domain/discovery.ts";
import { verifyPassword } from "../../src/domain/passwords.ts";
import type { Store } from "../../src/domain/store.ts";
import { readCertificate } from "../../src/saml/certs.ts";
import { openSqliteStore } from "../../src/store/sqlite.ts";

const PUBLIC_URL = "http://localhost:3000";
const now = () => new Date("2026-11-22T09:00:00.000Z");

describe("seedDemo", () => {
  let dir: string;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "gatehouse-demo-"));
    store = await openSqliteStore(join(dir, "gatehouse.db"));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates the demo accounts, users and one connection each to the mock IdP (none for demo-setup)", async () => {
    const seed = await seedDemo(store, { publicUrl: PUBLIC_URL, now, dataDir: dir });
    const names = (await store.accounts.list()).map((a) => a.name).sort();
    assert.deepEqual(names, ["demo", "demo-enforced", "demo-multi", "demo-setup"]);
    const demo = seed.accounts.demo!;
    assert.equal(demo.displayName, "Demo Company");
    assert.equal(demo.settings.allowIdpInitiated, true);
    assert.equal(demo.settings.multiLogin, false);
    assert.ok(Object.values(demo.settings.samlLogin).every((on) => on));
    assert.equal(seed.accounts["demo-multi"]!.settings.multiLogin, true);
    assert.equal(seed.accounts["demo-enforced"]!.settings.ssoEnforced, true);

    const users = (await store.users.list(demo.id)).map((u) => `${u.username}:${u.role}`).sort();
    assert.deepEqual(users, [
      "alice:user",
      "bob:agent",
      "carol-admin:admin",
      "carol-agent:agent",
      "dave:user",
      "grace:user",
    ]);
    const dave = await store.users.byUsername(demo.id, "dave");
    assert.equal(await verifyPassword("dave-demo-password", dave!.passwordHash!), true);
    const breakglass = await store.users.byUsername(
      seed.accounts["demo-enforced"]!.id,
      "breakglass",
    );
    assert.equal(breakglass?.breakGlass, true);

    const [connection] = await store.connections.list(demo.id);
    assert.equal(connection?.idpEntityId, `https://sts.windows.net/${DEMO_TENANT_ID}/`);
    assert.equal(connection?.ssoUrl, `${PUBLIC_URL}/mock-idp/${DEMO_TENANT_ID}/saml2`);
    assert.equal(connection?.acsUrl, `${PUBLIC_URL}/api/auth/saml/callback`);
    assert.deepEqual(connection?.certificates, [seed.mockIdpOptions.signingCertificate]);
    // The other accounts' connections share the IdP, so each has its own ACS path.
    const [multi] = await store.connections.list(seed.accounts["demo-multi"]!.id);
    assert.equal(multi?.acsUrl, `${PUBLIC_URL}/api/auth/saml/callback/${multi?.id}`);

    // The mock IdP knows exactly these apps, with the connections' Identifier and Reply URL.
    const apps = seed.mockIdpOptions.apps.map((a) => [a.spEntityId, a.acsUrl]);
    const connections = [];
    for (const spec of DEMO_ACCOUNTS) {
      const [c] = await store.connections.list(seed.accounts[spec.name]!.id);
      if (spec.connected === false) {
        // Not connected: the app has the values the setup page shows for the account.
        assert.equal(c, undefined);
        connections.push([
          `${PUBLIC_URL}/saml/${spec.name}`,
          `${PUBLIC_URL}/api/auth/saml/callback`,
        ]);
      } else connections.push([c!.spEntityId, c!.acsUrl]);
    }
    assert.deepEqual(apps, connections);
    assert.equal(ssoEnabled(seed.accounts[DEMO_SETUP_ACCOUNT]!), false);
    assert.equal(seed.mockIdpOptions.users, DEMO_IDP_USERS);
    assert.match(seed.summary, /alice@demo\.test/);
    assert.match(seed.summary, /dave-demo-password/);
  });

  it("a second run creates nothing and keeps the IdP key", async () => {
    const before = await store.audit.query({ limit: 1000 });
    const key = readFileSync(join(dir, "demo-idp.key"), "utf8");
    const seed = await seedDemo(store, { publicUrl: PUBLIC_URL, now, dataDir: dir });
    assert.equal((await store.audit.query({ limit: 1000 })).length, before.length);
    assert.equal(readFileSync(join(dir, "demo-idp.key"), "utf8"), key);
    assert.equal((await store.users.list(seed.accounts.demo!.id)).length, 6);
    assert.equal((await store.connections.list(seed.accounts.demo!.id)).length, 1);
  });

  it("a new public URL re-points the existing connections", async () => {
    const seed = await seedDemo(store, {
      publicUrl: "http://127.0.0.1:4000/",
      now,
      dataDir: dir,
    });
    const [connection] = await store.connections.list(seed.accounts.demo!.id);
    assert.equal(connection?.ssoUrl, `http://127.0.0.1:4000/mock-idp/${DEMO_TENANT_ID}/saml2`);
    assert.equal(connection?.acsUrl, "http://127.0.0.1:4000/api/auth/saml/callback");
    assert.equal(seed.mockIdpOptions.publicUrl, "http://127.0.0.1:4000");
  });
});

describe("loadDemoIdpKey", () => {
  it("makes an RSA-2048 key and certificate once, readable only by the owner", () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-demo-key-"));
    try {
      const warnings: string[] = [];
      const first = loadDemoIdpKey(join(dir, "data"), (m) => warnings.push(m));
      assert.equal(warnings.length, 0);
      assert.equal(first.privateKey.asymmetricKeyDetails?.modulusLength, 2048);
      const cert = readCertificate(first.certificate, "demo cert");
      assert.equal(cert.publicKey.asymmetricKeyDetails?.modulusLength, 2048);
      assert.equal(statSync(join(dir, "data/demo-idp.key")).mode & 0o077, 0);
      const second = loadDemoIdpKey(join(dir, "data"), (m) => warnings.push(m));
      assert.equal(second.certificate, first.certificate);
      assert.equal(warnings.length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("without openssl: the committed test key, with a warning", () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-demo-key-"));
    const path = process.env.PATH;
    process.env.PATH = join(dir, "empty");
    try {
      const warnings: string[] = [];
      const key = loadDemoIdpKey(join(dir, "data"), (m) => warnings.push(m));
      const fixture = readCertificate(
        readFileSync(join(import.meta.dirname, "../fixtures/keys/idp-rsa.crt"), "utf8"),
        "fixture",
      );
      assert.equal(key.certificate, fixture.base64);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /openssl/);
    } finally {
      process.env.PATH = path;
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A certificate rotation at the IdP reaches the connection through its published metadata, and
// a broken or foreign document changes nothing.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import {
  refreshAllMetadata,
  refreshConnectionMetadata,
} from "../../src/domain/metadata-refresh.ts";
import { buildEntraFederationMetadata, entraSamlEndpoint } from "../../src/mock-idp/metadata.ts";
import { readCertificate } from "../../src/saml/certs.ts";
import { addUser, type Harness, harness, IDP_KEY, TENANT } from "../http/support.ts";

const keys = join(import.meta.dirname, "../fixtures/keys");
const ROTATED = readCertificate(readFileSync(join(keys, "idp2-rsa.crt"), "utf8"));
const CURRENT = readCertificate(readFileSync(join(keys, "idp-rsa.crt"), "utf8"));
const URL_ = `https://login.microsoftonline.com/${TENANT}/federationmetadata/2007-06/federationmetadata.xml`;

function metadata(certificates: string[], tenant = TENANT): string {
  return buildEntraFederationMetadata({
    tenantId: tenant,
    certificates,
    signingKey: IDP_KEY,
    signingCertificate: CURRENT.base64,
    now: new Date("2026-11-22T09:00:00Z"),
  });
}

describe("metadata refresh", () => {
  let h: Harness;
  afterEach(() => h?.close());

  async function withUrl() {
    return h.store.connections.update(h.connection.id, { metadataUrl: URL_ }, h.clock.now);
  }

  it("adds the certificate Entra published for a rotation, keeping the active one, and audits it", async () => {
    h = await harness();
    await addUser(h, "alice", "alice@contoso.com");
    const connection = await withUrl();
    const outcome = await refreshConnectionMetadata(
      h.store,
      connection,
      async (u) => {
        assert.equal(u, URL_);
        return metadata([CURRENT.base64, ROTATED.base64]);
      },
      h.clock.now,
    );
    assert.equal(outcome.kind, "updated");
    const after = (await h.store.connections.get(connection.id))!;
    assert.deepEqual([...after.certificates].sort(), [CURRENT.base64, ROTATED.base64].sort());
    assert.equal(after.ssoUrl, entraSamlEndpoint(TENANT));
    const [event] = await h.store.audit.query({ type: "connection.metadata.refresh" });
    assert.equal(event?.outcome, "success");
    assert.deepEqual(event?.detail.added, [ROTATED.fingerprint256]);
    // Nothing new the second time.
    const again = await refreshConnectionMetadata(
      h.store,
      after,
      async () => metadata([CURRENT.base64, ROTATED.base64]),
      h.clock.now,
    );
    assert.equal(again.kind, "unchanged");
  });

  it("changes nothing when the document is unreadable, names another IdP, or cannot be fetched", async () => {
    h = await harness();
    const connection = await withUrl();
    const cases: [() => Promise<string>, string][] = [
      [async () => "<html>Sign in</html>", "metadata_invalid"],
      [
        async () => metadata([ROTATED.base64], "00000000-0000-0000-0000-000000000001"),
        "entity_id_changed",
      ],
      [async () => Promise.reject(new Error("connect ECONNREFUSED")), "fetch_failed"],
    ];
    for (const [fetchXml, reason] of cases) {
      const outcome = await refreshConnectionMetadata(h.store, connection, fetchXml, h.clock.now);
      assert.equal(outcome.kind, "failed");
      assert.equal(outcome.kind === "failed" ? outcome.reason : "", reason);
      assert.deepEqual((await h.store.connections.get(connection.id))!.certificates, [
        CURRENT.base64,
      ]);
    }
    const events = await h.store.audit.query({ type: "connection.metadata.refresh" });
    assert.equal(events.length, 3);
    assert.ok(events.every((e) => e.outcome === "failure"));
  });

  it("refreshes every active connection with a metadata URL, skipping the others", async () => {
    h = await harness();
    await withUrl();
    const results = await refreshAllMetadata(
      h.store,
      async () => metadata([ROTATED.base64, CURRENT.base64]),
      h.clock.now,
    );
    assert.equal(results.size, 1);
    assert.equal(results.get(h.connection.id)?.kind, "updated");
    await h.store.connections.update(h.connection.id, { active: false }, h.clock.now);
    assert.equal(
      (await refreshAllMetadata(h.store, async () => metadata([ROTATED.base64]), h.clock.now)).size,
      0,
    );
  });
});

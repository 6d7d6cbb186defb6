/**
 * Keeps a connection's certificates in step with the IdP's published metadata. Outages happen
 * when Entra starts signing with a certificate the SP has not seen (ENTRA.md): Entra lists every
 * certificate of the app, inactive ones included, as soon as an admin creates it, so refreshing
 * the Federation Metadata regularly means a rotation never surprises us.
 */

import type { TrustedCertificate } from "../saml/certs.ts";
import { isSamlError } from "../saml/errors.ts";
import { readIdpMetadata } from "../saml/metadata.ts";
import { audit } from "./audit.ts";
import type { Connection } from "./model.ts";
import type { Store } from "./store.ts";

export type RefreshOutcome =
  | { readonly kind: "unchanged" }
  | {
      readonly kind: "updated";
      readonly added: readonly string[];
      readonly removed: readonly string[];
    }
  | { readonly kind: "failed"; readonly reason: string; readonly message: string };

/**
 * Fetches (`fetchXml`, I/O supplied by the caller) and reads the connection's metadata, then
 * replaces its certificate set and endpoints with the published ones. Nothing changes when the
 * metadata cannot be read, names another entity, or lists no certificate: the connection keeps
 * working with what it has, and the failure is audited.
 */
export async function refreshConnectionMetadata(
  store: Store,
  connection: Connection,
  fetchXml: (url: string) => Promise<string>,
  now: Date,
): Promise<RefreshOutcome> {
  if (connection.metadataUrl === null) return { kind: "unchanged" };
  const fail = async (reason: string, message: string): Promise<RefreshOutcome> => {
    await audit(
      store,
      {
        type: "connection.metadata.refresh",
        outcome: "failure",
        reason,
        accountId: connection.accountId,
        connectionId: connection.id,
        actor: "system",
        detail: { metadataUrl: connection.metadataUrl, message },
      },
      now,
    );
    return { kind: "failed", reason, message };
  };

  let certificates: TrustedCertificate[];
  let meta: ReturnType<typeof readIdpMetadata>;
  try {
    meta = readIdpMetadata(await fetchXml(connection.metadataUrl), { now });
    // Expired ones too: Entra keeps signing with an expired active certificate.
    certificates = [...meta.certificates, ...meta.expiredCertificates];
  } catch (e) {
    return fail(
      isSamlError(e) ? e.code : "fetch_failed",
      e instanceof Error ? e.message : String(e),
    );
  }
  if (meta.entityId !== connection.idpEntityId) {
    return fail(
      "entity_id_changed",
      `the metadata names ${meta.entityId}, the connection trusts ${connection.idpEntityId}; update the connection by hand if this is intended`,
    );
  }
  if (certificates.length === 0)
    return fail("no_certificate", "the metadata lists no signing certificate");

  const next = [...new Set(certificates.map((c) => c.base64))];
  const before = new Set(connection.certificates);
  const added = next.filter((c) => !before.has(c));
  const removed = connection.certificates.filter((c) => !next.includes(c));
  const sloUrl = meta.sloRedirectUrl ?? connection.sloUrl;
  if (
    added.length === 0 &&
    removed.length === 0 &&
    meta.ssoRedirectUrl === connection.ssoUrl &&
    sloUrl === connection.sloUrl
  ) {
    return { kind: "unchanged" };
  }
  await store.connections.update(
    connection.id,
    { certificates: next, ssoUrl: meta.ssoRedirectUrl, sloUrl },
    now,
  );
  const fingerprint = (b64: string) =>
    certificates.find((c) => c.base64 === b64)?.fingerprint256 ?? "(no longer listed)";
  await audit(
    store,
    {
      type: "connection.metadata.refresh",
      outcome: "success",
      reason: "updated",
      accountId: connection.accountId,
      connectionId: connection.id,
      actor: "system",
      detail: {
        added: added.map(fingerprint),
        removedCount: removed.length,
        ssoUrl: meta.ssoRedirectUrl,
        sloUrl,
      },
    },
    now,
  );
  return { kind: "updated", added, removed };
}

/** Refreshes every active connection that has a metadata URL; one failure does not stop the rest. */
export async function refreshAllMetadata(
  store: Store,
  fetchXml: (url: string) => Promise<string>,
  now: Date,
): Promise<Map<string, RefreshOutcome>> {
  const results = new Map<string, RefreshOutcome>();
  for (const c of await store.connections.listActive()) {
    if (c.metadataUrl !== null)
      results.set(c.id, await refreshConnectionMetadata(store, c, fetchXml, now));
  }
  return results;
}

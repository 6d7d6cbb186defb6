/**
 * The connection doctor: what is wrong with a connection (or the metadata about to become one),
 * each finding with a fix in the IdP's own words ("In Entra, Basic SAML Configuration, set
 * Identifier (Entity ID) to ..."). Pure: the connection, the metadata text, the other
 * connections, the latest failed login and the clock are all arguments.
 *
 * It runs before SSO is switched on (setup step 6) and on the connection page after every
 * failed login, which it explains from the audit event's typed SAML error.
 */

import { readCertificate, type TrustedCertificate } from "../saml/certs.ts";
import { SAML_ERRORS, SamlError, type SamlErrorCode } from "../saml/errors.ts";
import { readIdpMetadata } from "../saml/metadata.ts";
import type { AuditEvent, Connection } from "./model.ts";

export type Severity = "error" | "warning" | "ok";

export interface Finding {
  /** Stable: tests and the pages key on it. */
  readonly code: string;
  readonly severity: Severity;
  /** What was found, in a sentence. */
  readonly message: string;
  /** What to do, in the IdP's terms; empty for ok findings. */
  readonly fix: string;
}

/** Our side, as the IdP admin pastes it (Entra's Basic SAML Configuration). */
export interface SpSide {
  readonly identifier: string;
  readonly replyUrl: string;
  readonly logoutUrl: string;
}

export interface DoctorInput {
  /** The saved connection, if there is one yet. */
  readonly connection?: Pick<
    Connection,
    "id" | "idpEntityId" | "ssoUrl" | "sloUrl" | "certificates" | "allowSha1"
  >;
  /** Metadata text being uploaded (checked instead of the connection's IdP side). */
  readonly metadataXml?: string;
  readonly sp: SpSide;
  /** Every other connection of the installation (shared Identifier check). */
  readonly otherConnections?: readonly Pick<Connection, "id" | "spEntityId" | "accountId">[];
  /** The latest failed login through this connection ("login.sso" or a failed Test SSO). */
  readonly lastFailure?: AuditEvent;
  readonly now: Date;
}

const DAY_MS = 86_400_000;
/** Entra mails its certificate expiry warnings at these points (ENTRA.md). */
const EXPIRY_WARNINGS_DAYS = [7, 30, 60] as const;
const TENANT_ID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
const ENTRA_ISSUER = new RegExp(`^https://sts\\.windows\\.net/(${TENANT_ID.source})/$`, "i");
const ENTRA_LOGIN_HOSTS = new Set(["login.microsoftonline.com", "login.microsoftonline.us"]);
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const CERT_STEP =
  "In Entra, Single sign-on, SAML Certificates: add a new certificate, make it active, then upload the Federation Metadata XML here again.";
/**
 * Every unreadable upload has the same cure. Not the SamlError's own fix: the codes a damaged
 * file raises (malformed_xml, input_too_large...) are shared with SAML Responses, and their
 * fixes speak of capturing a POST to the Reply URL.
 */
const METADATA_AGAIN =
  "Download the Federation Metadata XML again from Entra (Single sign-on, SAML Certificates, Federation Metadata XML, Download) and upload that file unchanged: not a page saved from the browser, not a copy opened and edited.";

interface IdpSide {
  readonly entityId: string;
  readonly ssoUrl: string | undefined;
  readonly sloUrl: string | undefined;
  readonly certificates: readonly TrustedCertificate[];
}

export function diagnose(input: DoctorInput): Finding[] {
  const findings: Finding[] = [];
  const add = (code: string, severity: Severity, message: string, fix = ""): void => {
    findings.push({ code, severity, message, fix });
  };

  const idp = idpSide(input, add);
  if (idp !== undefined) {
    checkEndpoints(idp, add);
    checkCertificates(idp.certificates, input.now, add);
    checkEntityId(idp, add);
  }
  if (input.connection?.allowSha1 === true) {
    add(
      "sha1_allowed",
      "warning",
      "SHA-1 signatures are accepted for this connection.",
      "In Entra, SAML Certificates, Signing Algorithm: choose SHA-256, then turn SHA-1 off here.",
    );
  }
  checkOurSide(input, add);
  if (input.lastFailure !== undefined) explainFailure(input.lastFailure, input.sp, add);
  // Errors first, then warnings, then what is fine.
  const rank: Record<Severity, number> = { error: 0, warning: 1, ok: 2 };
  return findings.sort((a, b) => rank[a.severity] - rank[b.severity]);
}

type Add = (code: string, severity: Severity, message: string, fix?: string) => void;

function idpSide(input: DoctorInput, add: Add): IdpSide | undefined {
  if (input.metadataXml !== undefined) {
    let meta: ReturnType<typeof readIdpMetadata>;
    try {
      meta = readIdpMetadata(input.metadataXml, { now: input.now });
    } catch (e) {
      if (!(e instanceof SamlError)) throw e;
      metadataRefusal(e, add);
      return undefined;
    }
    add("metadata_readable", "ok", `The metadata describes the IdP ${meta.entityId}.`);
    return {
      entityId: meta.entityId,
      ssoUrl: meta.ssoRedirectUrl,
      sloUrl: meta.sloRedirectUrl,
      certificates: [...meta.certificates, ...meta.expiredCertificates],
    };
  }
  const c = input.connection;
  if (c === undefined) {
    add(
      "metadata_missing",
      "error",
      "No IdP is configured yet.",
      "In Entra, Single sign-on, SAML Certificates: download Federation Metadata XML (or copy App Federation Metadata Url) and give it here.",
    );
    return undefined;
  }
  const certificates: TrustedCertificate[] = [];
  c.certificates.forEach((text, i) => {
    try {
      certificates.push(readCertificate(text, `certificate ${i + 1}`));
    } catch (e) {
      if (!(e instanceof SamlError)) throw e;
      add("certificate_unreadable", "error", e.message, e.fix);
    }
  });
  return {
    entityId: c.idpEntityId,
    ssoUrl: c.ssoUrl === "" ? undefined : c.ssoUrl,
    sloUrl: c.sloUrl ?? undefined,
    certificates,
  };
}

function metadataRefusal(e: SamlError, add: Add): void {
  switch (e.code) {
    case "metadata_is_sp":
      add(
        "metadata_is_sp",
        "error",
        "This is service-provider metadata (perhaps Gatehouse's own), not your IdP's.",
        "In Entra, Single sign-on, SAML Certificates: download Federation Metadata XML (not the SP metadata from step 2) and upload that.",
      );
      return;
    case "metadata_missing_endpoint":
      add(
        "sso_endpoint_missing",
        "error",
        "The metadata lists no single sign-on URL with the HTTP-Redirect binding.",
        "Download the metadata again from the IdP. In Entra it is the Federation Metadata XML of this application; its Login URL is https://login.microsoftonline.com/<tenant-id>/saml2.",
      );
      return;
    case "certificate_expired":
      add(
        "certificates_all_expired",
        "error",
        `Every signing certificate in the metadata has expired (${e.detail.note ?? ""}).`,
        CERT_STEP,
      );
      return;
    default:
      add(
        "metadata_unreadable",
        "error",
        `The metadata could not be read: ${e.message}.`,
        METADATA_AGAIN,
      );
  }
}

function checkEndpoints(idp: IdpSide, add: Add): void {
  if (idp.ssoUrl === undefined) {
    add(
      "sso_endpoint_missing",
      "error",
      "The IdP has no single sign-on URL.",
      "In Entra, Set up <your app>: copy Login URL (https://login.microsoftonline.com/<tenant-id>/saml2), or upload the Federation Metadata XML.",
    );
  } else {
    add("sso_endpoint", "ok", `Sign-in goes to ${idp.ssoUrl}.`);
  }
  if (idp.sloUrl === undefined) {
    add(
      "slo_endpoint_missing",
      "warning",
      "The IdP has no logout URL: signing out of the app will not sign out of the IdP.",
      "In Entra, Set up <your app>: copy Logout URL, or upload the Federation Metadata XML, which lists it.",
    );
  }
}

function checkCertificates(certs: readonly TrustedCertificate[], now: Date, add: Add): void {
  if (certs.length === 0) {
    add("certificates_missing", "error", "No IdP signing certificate is configured.", CERT_STEP);
    return;
  }
  const t = now.getTime();
  const live = certs.filter((c) => c.notAfter.getTime() > t);
  const expired = certs.filter((c) => c.notAfter.getTime() <= t);
  if (live.length === 0) {
    add(
      "certificates_all_expired",
      "error",
      `Every signing certificate has expired (the latest on ${day(latest(certs))}).`,
      `Entra keeps signing with an expired active certificate, but an expired certificate is a broken trust anchor. ${CERT_STEP}`,
    );
    return;
  }
  if (expired.length > 0) {
    add(
      "certificate_expired_in_set",
      "warning",
      `${expired.length} expired certificate(s) are still in the set (${expired.map((c) => `${c.thumbprint} expired ${day(c.notAfter)}`).join("; ")}).`,
      "Entra keeps signing with an expired active certificate, so it stays accepted here. In Entra, SAML Certificates: make the newest certificate active, delete the expired one, then upload the metadata again.",
    );
  }
  const best = latest(live);
  const daysLeft = Math.floor((best.getTime() - t) / DAY_MS);
  const threshold = EXPIRY_WARNINGS_DAYS.find((d) => daysLeft < d);
  if (threshold !== undefined) {
    add(
      `certificate_expires_${threshold}d`,
      "warning",
      `The newest signing certificate expires in ${daysLeft} day(s), on ${day(best)} (within ${threshold} days: Entra mails its warning now).`,
      `In Entra, SAML Certificates: add a new certificate and make it active before ${day(best)}, then upload the Federation Metadata XML here again (or wait for the automatic refresh when the metadata came from its URL).`,
    );
  } else {
    add("certificates_valid", "ok", `Signing certificate valid until ${day(best)}.`);
  }
}

function checkEntityId(idp: IdpSide, add: Add): void {
  let entraLogin = false;
  try {
    entraLogin = idp.ssoUrl !== undefined && ENTRA_LOGIN_HOSTS.has(new URL(idp.ssoUrl).hostname);
  } catch {
    entraLogin = false;
  }
  if (!entraLogin) return;
  const tenant = TENANT_ID.exec(idp.ssoUrl ?? "")?.[0];
  const issuerTenant = ENTRA_ISSUER.exec(idp.entityId)?.[1];
  if (issuerTenant !== undefined) {
    // Entra's Set up section shows both with the one tenant ID; two IDs mean values copied from
    // two tenants' applications (a test tenant's issuer beside production's Login URL).
    if (tenant !== undefined && tenant.toLowerCase() !== issuerTenant.toLowerCase()) {
      add(
        "idp_tenant_mismatch",
        "error",
        `The IdP entity ID ${idp.entityId} names the Entra tenant ${issuerTenant}, but the Login URL ${idp.ssoUrl} names another, ${tenant}.`,
        "Both come from the Set up section of the same Entra application, in one tenant: upload the Federation Metadata XML of that one application again (Single sign-on, SAML Certificates, Federation Metadata XML, Download).",
      );
    }
    return;
  }
  const expected = `https://sts.windows.net/${tenant ?? "<tenant-id>"}/`;
  if (`${idp.entityId}/` === expected) {
    add(
      "idp_entity_id_slash",
      "error",
      `The IdP entity ID ${idp.entityId} lacks its trailing slash.`,
      `In Entra the Microsoft Entra Identifier ends with a slash: set the IdP entity ID to ${expected}, exactly as Entra's Set up section shows it.`,
    );
    return;
  }
  add(
    "idp_entity_id_not_entra",
    "error",
    `The sign-in URL is Entra's but the IdP entity ID ${idp.entityId} is not an Entra issuer.`,
    `In Entra, Set up <your app>: copy Microsoft Entra Identifier (${expected}) into the IdP entity ID.`,
  );
}

function checkOurSide(input: DoctorInput, add: Add): void {
  const { sp } = input;
  const shared = (input.otherConnections ?? []).filter(
    (o) => o.spEntityId === sp.identifier && o.id !== input.connection?.id,
  );
  if (shared.length > 0) {
    add(
      "identifier_shared",
      "error",
      `Our Identifier (Entity ID) ${sp.identifier} is also used by ${shared.length} other connection(s): the IdP cannot tell them apart.`,
      "Give each connection its own Identifier: change it here, then in Entra, Basic SAML Configuration, set Identifier (Entity ID) to the new value.",
    );
  }
  let reply: URL | undefined;
  try {
    reply = new URL(sp.replyUrl);
  } catch {
    reply = undefined;
  }
  if (reply === undefined) {
    add(
      "reply_url_invalid",
      "error",
      `The Reply URL ${sp.replyUrl} is not a URL.`,
      "Set Gatehouse's PUBLIC_URL to the https address people use to reach it (https://sso.example.com) and restart it, then in Entra, Basic SAML Configuration, paste the Reply URL (Assertion Consumer Service URL) shown here.",
    );
  } else if (reply.protocol !== "https:" && !LOCAL_HOSTS.has(reply.hostname)) {
    add(
      "reply_url_not_https",
      "error",
      `The Reply URL ${sp.replyUrl} is not https: Entra refuses http Reply URLs other than localhost.`,
      "Serve Gatehouse over https (set its public URL to https://...), then in Entra, Basic SAML Configuration, set Reply URL (Assertion Consumer Service URL) to the new value.",
    );
  } else {
    add("reply_url", "ok", `Reply URL ${sp.replyUrl}.`);
  }
}

/**
 * A failed sign-in's audit event as a finding: the Test SSO result page shows its fix, so a
 * failed test names the field to change in the IdP (AADSTS50105: Users and groups), as the
 * doctor does afterwards.
 */
export function explainFailedLogin(event: AuditEvent, sp: SpSide): Finding {
  const found: Finding[] = [];
  explainFailure(event, sp, (code, severity, message, fix = "") => {
    found.push({ code, severity, message, fix });
  });
  return found[0]!;
}

/** The latest failure's typed SAML error, in Entra's terms. */
function explainFailure(event: AuditEvent, sp: SpSide, add: Add): void {
  const code = event.reason ?? "unknown";
  const d = event.detail as {
    expected?: string;
    received?: string;
    note?: string;
    fix?: string;
    message?: string;
  };
  const when = event.at.toISOString().replace("T", " ").slice(0, 16);
  const prefix = `The latest failed sign-in (${when} UTC, ref ${event.reference}) was refused: ${code}.`;
  let message = prefix;
  let fix = d.fix ?? (code in SAML_ERRORS ? SAML_ERRORS[code as SamlErrorCode].fix : "");
  switch (code) {
    case "audience_invalid":
      message = `${prefix} The Audience was ${d.received ?? "(none)"}.`;
      fix = `In Entra, Basic SAML Configuration, set Identifier (Entity ID) to ${sp.identifier}.`;
      break;
    case "destination_invalid":
    case "recipient_invalid":
      message = `${prefix} The response was sent to ${d.received ?? "(none)"}.`;
      fix = `In Entra, Basic SAML Configuration, set Reply URL (Assertion Consumer Service URL) to ${sp.replyUrl}.`;
      break;
    case "issuer_invalid":
      message = `${prefix} The Issuer was ${d.received ?? "(none)"}, expected ${d.expected ?? "?"}.`;
      fix = `Set the IdP entity ID to ${d.received ?? "the Issuer the IdP sends"} (Entra: Microsoft Entra Identifier, with its trailing slash), or upload the Federation Metadata XML again.`;
      break;
    case "signature_unknown_key":
      message = `${prefix} The response was signed with a certificate this connection does not know.`;
      break;
    case "status_not_success":
      message = `${prefix} The IdP reported: ${d.note ?? d.received ?? "a failure"}.`;
      fix = aadstsFix(d.note ?? "") ?? fix;
      break;
    case "email_claim_missing":
      message = `${prefix} No email was found in the claim this account reads.`;
      fix =
        "In Entra, Attributes & Claims: keep emailaddress with source user.mail (or user.userprincipalname when mail is empty), or change which claim Gatehouse reads in General Settings. Run Test SSO to see every claim received.";
      break;
    case "no_matching_user":
      message = `${prefix} No user has the email ${String((event.detail as { emailRead?: unknown }).emailRead ?? "")}.`;
      fix =
        "Add the user, or run Test SSO: it shows which claim carries the address your users have (Entra often sends the UPN where the mail was expected).";
      break;
    default:
      if (d.expected !== undefined || d.received !== undefined)
        message = `${prefix} Expected ${d.expected ?? "(nothing)"}, received ${d.received ?? "(nothing)"}.`;
  }
  add("last_failure", "error", message, fix);
}

/** The AADSTS codes of ENTRA.md, and the field to fix. */
function aadstsFix(statusMessage: string): string | undefined {
  const code = /AADSTS\d+/.exec(statusMessage)?.[0];
  switch (code) {
    case "AADSTS50105":
      return "In Entra, Users and groups: assign this user (or a group they are in) to the application.";
    case "AADSTS50011":
      return "In Entra, Basic SAML Configuration: the Reply URL must be exactly this connection's Reply URL.";
    case "AADSTS700016":
      return "In Entra, Basic SAML Configuration: the Identifier (Entity ID) must be exactly this connection's Identifier.";
    case "AADSTS75011":
      return "The authentication method does not match what was requested: sign in again with the method your organisation requires.";
    case "AADSTS76021":
      return 'In Entra, SAML Certificates, Verification certificates: turn "Require verification certificates" off, or turn on request signing for this connection.';
    default:
      return undefined;
  }
}

function latest(certs: readonly TrustedCertificate[]): Date {
  return new Date(Math.max(...certs.map((c) => c.notAfter.getTime())));
}

function day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

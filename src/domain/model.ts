/**
 * The things Gatehouse keeps, in the words of the seed pages: accounts (customer companies),
 * their users, their connections to an IdP, identity bindings, sessions, and the audit trail.
 * Plain data; the rules live beside them in src/domain/, storage behind the port in store.ts.
 */

export type Role = "admin" | "supervisor" | "agent" | "user";
export const ROLES: readonly Role[] = ["admin", "supervisor", "agent", "user"];

/**
 * Where the email used to match users comes from (Aircall's email-vs-UPN case):
 * the emailaddress claim, the NameID, the `name` claim (Entra puts the UPN there), or any
 * attribute by its full Name ("attribute:<uri>").
 */
export type EmailSource = "emailaddress" | "nameid" | "name" | `attribute:${string}`;

/** An account's "General Settings" (XCALLY) and SSO policy (Netcore). */
export interface AccountSettings {
  /** "Login with SAML", per role (XCALLY enables it for administrators, users and agents separately). */
  readonly samlLogin: Readonly<Record<Role, boolean>>;
  /** Password and 2FA login off for everyone but break-glass admins (Netcore). */
  readonly ssoEnforced: boolean;
  /** One IdP identity may sign in as several users, who then pick a profile (XCALLY 3.51). */
  readonly multiLogin: boolean;
  /**
   * The claim several users share for multi-login (XCALLY's XC_SAML_MULTI_USER_FIELD): a claim
   * URI or short name matched against users' SSO ID; null means the email.
   */
  readonly multiLoginClaim: string | null;
  readonly emailSource: EmailSource;
  /** Compare emails ignoring case (default true: XCALLY's case-sensitivity trap removed). */
  readonly emailCaseInsensitive: boolean;
  /** Just-in-time creation of unknown users with this role; null means off (the default). */
  readonly jitRole: Role | null;
  /** Accept IdP-initiated logins (My Apps tile, Entra's Test button). */
  readonly allowIdpInitiated: boolean;
}

export const DEFAULT_ACCOUNT_SETTINGS: AccountSettings = Object.freeze({
  samlLogin: Object.freeze({ admin: false, supervisor: false, agent: false, user: false }),
  ssoEnforced: false,
  multiLogin: false,
  multiLoginClaim: null,
  emailSource: "emailaddress",
  emailCaseInsensitive: true,
  jitRole: null,
  allowIdpInitiated: false,
});

export interface Account {
  /** "acc_" + 26 random base32 characters. */
  readonly id: string;
  /** Unique across the installation, compared case-insensitively (what users type). */
  readonly name: string;
  readonly displayName: string;
  readonly settings: AccountSettings;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface User {
  readonly id: string;
  readonly accountId: string;
  /** Unique within the account. */
  readonly username: string;
  readonly email: string;
  /** The multi-login key (a claim value several users share), if any. */
  readonly ssoId: string | null;
  readonly role: Role;
  /** scrypt hash in PHC-like form; null when the user has no password. */
  readonly passwordHash: string | null;
  /** Base32 TOTP secret (encrypted at rest by the store's caller), null when TOTP is off. */
  readonly totpSecret: string | null;
  /** An admin who may still use password login when SSO is enforced. */
  readonly breakGlass: boolean;
  readonly mustChangePassword: boolean;
  readonly disabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Connection {
  readonly id: string;
  readonly accountId: string;
  readonly name: string;
  readonly active: boolean;
  readonly idpEntityId: string;
  /** The IdP's HTTP-Redirect SSO URL ("Login URL" in Entra). */
  readonly ssoUrl: string;
  /** The IdP's logout URL ("Logout URL" in Entra), null when SLO is not set up. */
  readonly sloUrl: string | null;
  /** Base64 DER of every certificate accepted for this IdP (all of Entra's, inactive ones too). */
  readonly certificates: readonly string[];
  /** Our Identifier (Entity ID) as configured in the IdP. */
  readonly spEntityId: string;
  /** Our Reply URL (ACS) as configured in the IdP. */
  readonly acsUrl: string;
  readonly allowSha1: boolean;
  readonly signRequests: boolean;
  readonly requireSignedAssertion: boolean;
  readonly requireSignedResponse: boolean;
  /** Where the metadata was fetched from, to refresh it; null when typed or uploaded. */
  readonly metadataUrl: string | null;
  /** When a test login last succeeded since the connection last changed; null if never. */
  readonly testedAt: Date | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** The IdP's stable subject for a user, remembered after the first match by email. */
export interface IdentityBinding {
  readonly id: string;
  readonly userId: string;
  readonly connectionId: string;
  /** Entra: "<tenantid>/<objectidentifier>"; else the persistent NameID. */
  readonly subject: string;
  readonly createdAt: Date;
  readonly lastUsedAt: Date;
}

export type LoginMethod = "saml" | "password";

export interface Session {
  /** SHA-256 (hex) of the session token; the token itself is only ever in the cookie. */
  readonly id: string;
  readonly userId: string;
  readonly accountId: string;
  readonly connectionId: string | null;
  readonly method: LoginMethod;
  readonly mfa: boolean;
  /** SAML NameID, its Format and SessionIndex, kept for Single Logout. */
  readonly nameId: string | null;
  readonly nameIdFormat: string | null;
  readonly sessionIndex: string | null;
  readonly createdAt: Date;
  readonly lastSeenAt: Date;
  /** Idle timeout: pushed forward on use, never beyond absoluteExpiresAt. */
  readonly idleExpiresAt: Date;
  /** Absolute timeout, never beyond the IdP's SessionNotOnOrAfter. */
  readonly absoluteExpiresAt: Date;
  readonly endedAt: Date | null;
  readonly endReason: string | null;
}

/** An AuthnRequest we sent and have not seen answered, bound to the browser that started it. */
export interface PendingRequest {
  /** The AuthnRequest ID. */
  readonly id: string;
  readonly connectionId: string;
  /** SHA-256 of the per-browser nonce kept in a cookie (login CSRF protection). */
  readonly browserHash: string;
  /** Same-origin path to return to after login. */
  readonly returnTo: string | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

/** Single-use tokens: setup links, account-chooser tickets, password-reset and similar. */
export interface OneTimeToken {
  /** SHA-256 of the token. */
  readonly hash: string;
  readonly kind: string;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

export type AuditOutcome = "success" | "failure";

export interface AuditEvent {
  readonly id: string;
  readonly at: Date;
  /** The reference ID shown to users on error pages, for the admin to look up. */
  readonly reference: string;
  readonly type: string;
  readonly outcome: AuditOutcome;
  /** The typed reason (a SAML error code or a domain refusal code). */
  readonly reason: string | null;
  readonly accountId: string | null;
  readonly userId: string | null;
  readonly connectionId: string | null;
  /** Who did it: "user:<id>", "admin-api", "cli", "idp", "system". */
  readonly actor: string;
  readonly ip: string | null;
  /** Expected vs received, the AADSTS message, which claim was read... */
  readonly detail: Readonly<Record<string, unknown>>;
}

/**
 * Rows to model objects, one function per entity, and nowhere else. Every object handed to the
 * domain is frozen; JSON read back is frozen deeply.
 */

import {
  type Account,
  type AccountSettings,
  type AuditEvent,
  type AuditOutcome,
  type Connection,
  DEFAULT_ACCOUNT_SETTINGS,
  type IdentityBinding,
  type LoginMethod,
  type OneTimeToken,
  type PendingRequest,
  type Role,
  type Session,
  type User,
} from "../domain/model.ts";
import type { OidcClientRecord, OidcRecord, OidcSigningKey } from "../domain/store.ts";
import {
  type AccountsTable,
  type AuditEventsTable,
  type BindingsTable,
  type Codec,
  type ConnectionsTable,
  type OidcClientsTable,
  type OidcKeysTable,
  type OidcRecordsTable,
  type PendingRequestsTable,
  readBool,
  readDate,
  readDateOrNull,
  readJson,
  type SessionsTable,
  type TokensTable,
  type UsersTable,
  writeJson,
} from "./schema.ts";

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === "object" && !Object.isFrozen(v)) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

/**
 * Stored settings over the defaults: a setting added by a later release reads as its default in
 * accounts saved before it existed.
 */
function readSettings(stored: unknown): AccountSettings {
  const s = (stored ?? {}) as Partial<AccountSettings>;
  return deepFreeze({
    ...DEFAULT_ACCOUNT_SETTINGS,
    ...s,
    samlLogin: { ...DEFAULT_ACCOUNT_SETTINGS.samlLogin, ...s.samlLogin },
  });
}

export function toAccount(r: AccountsTable): Account {
  return Object.freeze({
    id: r.id,
    name: r.name,
    displayName: r.display_name,
    settings: readSettings(readJson(r.settings)),
    createdAt: readDate(r.created_at),
    updatedAt: readDate(r.updated_at),
  });
}

export function toUser(r: UsersTable): User {
  return Object.freeze({
    id: r.id,
    accountId: r.account_id,
    username: r.username,
    email: r.email,
    ssoId: r.sso_id,
    role: r.role as Role,
    passwordHash: r.password_hash,
    totpSecret: r.totp_secret,
    breakGlass: readBool(r.break_glass),
    mustChangePassword: readBool(r.must_change_password),
    disabled: readBool(r.disabled),
    createdAt: readDate(r.created_at),
    updatedAt: readDate(r.updated_at),
  });
}

export function toConnection(r: ConnectionsTable): Connection {
  return Object.freeze({
    id: r.id,
    accountId: r.account_id,
    name: r.name,
    active: readBool(r.active),
    idpEntityId: r.idp_entity_id,
    ssoUrl: r.sso_url,
    sloUrl: r.slo_url,
    certificates: deepFreeze(readJson(r.certificates) as string[]),
    spEntityId: r.sp_entity_id,
    acsUrl: r.acs_url,
    allowSha1: readBool(r.allow_sha1),
    signRequests: readBool(r.sign_requests),
    requireSignedAssertion: readBool(r.require_signed_assertion),
    requireSignedResponse: readBool(r.require_signed_response),
    metadataUrl: r.metadata_url,
    testedAt: readDateOrNull(r.tested_at),
    createdAt: readDate(r.created_at),
    updatedAt: readDate(r.updated_at),
  });
}

export function toBinding(r: BindingsTable): IdentityBinding {
  return Object.freeze({
    id: r.id,
    userId: r.user_id,
    connectionId: r.connection_id,
    subject: r.subject,
    createdAt: readDate(r.created_at),
    lastUsedAt: readDate(r.last_used_at),
  });
}

export function toSession(r: SessionsTable): Session {
  return Object.freeze({
    id: r.id,
    userId: r.user_id,
    accountId: r.account_id,
    connectionId: r.connection_id,
    method: r.method as LoginMethod,
    mfa: readBool(r.mfa),
    nameId: r.name_id,
    nameIdFormat: r.name_id_format,
    sessionIndex: r.session_index,
    createdAt: readDate(r.created_at),
    lastSeenAt: readDate(r.last_seen_at),
    idleExpiresAt: readDate(r.idle_expires_at),
    absoluteExpiresAt: readDate(r.absolute_expires_at),
    endedAt: readDateOrNull(r.ended_at),
    endReason: r.end_reason,
  });
}

export function toPendingRequest(r: PendingRequestsTable): PendingRequest {
  return Object.freeze({
    id: r.id,
    connectionId: r.connection_id,
    browserHash: r.browser_hash,
    returnTo: r.return_to,
    createdAt: readDate(r.created_at),
    expiresAt: readDate(r.expires_at),
  });
}

export function toToken(r: TokensTable): OneTimeToken {
  return Object.freeze({
    hash: r.hash,
    kind: r.kind,
    payload: deepFreeze(readJson(r.payload) as Record<string, unknown>),
    createdAt: readDate(r.created_at),
    expiresAt: readDate(r.expires_at),
  });
}

export function toAuditEvent(r: AuditEventsTable): AuditEvent {
  return Object.freeze({
    id: r.id,
    at: readDate(r.at),
    reference: r.reference,
    type: r.type,
    outcome: r.outcome as AuditOutcome,
    reason: r.reason,
    accountId: r.account_id,
    userId: r.user_id,
    connectionId: r.connection_id,
    actor: r.actor,
    ip: r.ip,
    detail: deepFreeze(readJson(r.detail) as Record<string, unknown>),
  });
}

/*
 * Model fields to columns for inserts and patches: only the keys present are written, so a patch
 * changes exactly what it names.
 */

type UserFields = Partial<Omit<User, "id" | "accountId" | "createdAt" | "updatedAt">>;

export function userColumns(u: UserFields, c: Codec): Partial<UsersTable> {
  const out: Partial<UsersTable> = {};
  if (u.username !== undefined) out.username = u.username;
  if (u.email !== undefined) {
    out.email = u.email;
    out.email_key = emailKey(u.email);
  }
  if (u.ssoId !== undefined) out.sso_id = u.ssoId;
  if (u.role !== undefined) out.role = u.role;
  if (u.passwordHash !== undefined) out.password_hash = u.passwordHash;
  if (u.totpSecret !== undefined) out.totp_secret = u.totpSecret;
  if (u.breakGlass !== undefined) out.break_glass = c.bool(u.breakGlass);
  if (u.mustChangePassword !== undefined) out.must_change_password = c.bool(u.mustChangePassword);
  if (u.disabled !== undefined) out.disabled = c.bool(u.disabled);
  return out;
}

type ConnectionFields = Partial<Omit<Connection, "id" | "accountId" | "createdAt" | "updatedAt">>;

export function connectionColumns(k: ConnectionFields, c: Codec): Partial<ConnectionsTable> {
  const out: Partial<ConnectionsTable> = {};
  if (k.name !== undefined) out.name = k.name;
  if (k.active !== undefined) out.active = c.bool(k.active);
  if (k.idpEntityId !== undefined) out.idp_entity_id = k.idpEntityId;
  if (k.ssoUrl !== undefined) out.sso_url = k.ssoUrl;
  if (k.sloUrl !== undefined) out.slo_url = k.sloUrl;
  if (k.certificates !== undefined) out.certificates = writeJson(k.certificates);
  if (k.spEntityId !== undefined) out.sp_entity_id = k.spEntityId;
  if (k.acsUrl !== undefined) out.acs_url = k.acsUrl;
  if (k.allowSha1 !== undefined) out.allow_sha1 = c.bool(k.allowSha1);
  if (k.signRequests !== undefined) out.sign_requests = c.bool(k.signRequests);
  if (k.requireSignedAssertion !== undefined)
    out.require_signed_assertion = c.bool(k.requireSignedAssertion);
  if (k.requireSignedResponse !== undefined)
    out.require_signed_response = c.bool(k.requireSignedResponse);
  if (k.metadataUrl !== undefined) out.metadata_url = k.metadataUrl;
  if (k.testedAt !== undefined) out.tested_at = k.testedAt === null ? null : c.date(k.testedAt);
  return out;
}

export function sessionColumns(s: Omit<Session, "endedAt" | "endReason">, c: Codec): SessionsTable {
  return {
    id: s.id,
    user_id: s.userId,
    account_id: s.accountId,
    connection_id: s.connectionId,
    method: s.method,
    mfa: c.bool(s.mfa),
    name_id: s.nameId,
    name_id_format: s.nameIdFormat,
    session_index: s.sessionIndex,
    created_at: c.date(s.createdAt),
    last_seen_at: c.date(s.lastSeenAt),
    idle_expires_at: c.date(s.idleExpiresAt),
    absolute_expires_at: c.date(s.absoluteExpiresAt),
    ended_at: null,
    end_reason: null,
  };
}

export function auditColumns(e: AuditEvent, c: Codec): AuditEventsTable {
  return {
    id: e.id,
    at: c.date(e.at),
    reference: e.reference,
    type: e.type,
    outcome: e.outcome,
    reason: e.reason,
    account_id: e.accountId,
    user_id: e.userId,
    connection_id: e.connectionId,
    actor: e.actor,
    ip: e.ip,
    detail: writeJson(e.detail),
  };
}

/**
 * The case-insensitive keys, computed here rather than with SQL lower() (SQLite's folds ASCII
 * only): the same function writes the column and reads it.
 */
export function nameKey(name: string): string {
  return name.toLowerCase();
}

export function emailKey(email: string): string {
  return email.toLowerCase();
}

export function toOidcRecord(r: OidcRecordsTable): OidcRecord {
  return deepFreeze({
    payload: readJson(r.payload) as Record<string, unknown>,
    expiresAt: readDateOrNull(r.expires_at),
    consumedAt: readDateOrNull(r.consumed_at),
  });
}

export function toOidcKey(r: OidcKeysTable): OidcSigningKey {
  return deepFreeze({
    kid: r.kid,
    jwk: readJson(r.jwk) as Record<string, unknown>,
    createdAt: readDate(r.created_at),
  });
}

export function toOidcClient(r: OidcClientsTable): OidcClientRecord {
  return deepFreeze({
    clientId: r.client_id,
    metadata: readJson(r.metadata) as Record<string, unknown>,
    createdAt: readDate(r.created_at),
  });
}

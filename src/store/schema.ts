/**
 * The tables as Kysely sees them, shared by both backends. The three column kinds that differ
 * between SQLite and PostgreSQL go through a Codec (dates, booleans, JSON); everything else is
 * text or integer in both.
 */

/** Integer milliseconds since the epoch (SQLite) or timestamptz (PostgreSQL, read as a Date). */
export type DbDate = number | Date;
/** 0/1 (SQLite) or boolean (PostgreSQL). */
export type DbBool = number | boolean;
/** JSON text (SQLite TEXT, and what we send to PostgreSQL) or the value pg parsed from jsonb. */
export type DbJson = string | object;

export interface AccountsTable {
  id: string;
  name: string;
  /** name.toLowerCase(): the case-insensitive unique key. */
  name_key: string;
  display_name: string;
  settings: DbJson;
  created_at: DbDate;
  updated_at: DbDate;
}

export interface UsersTable {
  id: string;
  account_id: string;
  username: string;
  email: string;
  /** email.toLowerCase(): case-insensitive lookups use the index on this column. */
  email_key: string;
  sso_id: string | null;
  role: string;
  password_hash: string | null;
  totp_secret: string | null;
  break_glass: DbBool;
  must_change_password: DbBool;
  disabled: DbBool;
  created_at: DbDate;
  updated_at: DbDate;
}

export interface ConnectionsTable {
  id: string;
  account_id: string;
  name: string;
  active: DbBool;
  idp_entity_id: string;
  sso_url: string;
  slo_url: string | null;
  certificates: DbJson;
  sp_entity_id: string;
  acs_url: string;
  allow_sha1: DbBool;
  sign_requests: DbBool;
  require_signed_assertion: DbBool;
  require_signed_response: DbBool;
  metadata_url: string | null;
  tested_at: DbDate | null;
  created_at: DbDate;
  updated_at: DbDate;
}

export interface BindingsTable {
  id: string;
  user_id: string;
  connection_id: string;
  subject: string;
  created_at: DbDate;
  last_used_at: DbDate;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  account_id: string;
  connection_id: string | null;
  method: string;
  mfa: DbBool;
  name_id: string | null;
  name_id_format: string | null;
  session_index: string | null;
  created_at: DbDate;
  last_seen_at: DbDate;
  idle_expires_at: DbDate;
  absolute_expires_at: DbDate;
  ended_at: DbDate | null;
  end_reason: string | null;
}

export interface PendingRequestsTable {
  id: string;
  connection_id: string;
  browser_hash: string;
  return_to: string | null;
  created_at: DbDate;
  expires_at: DbDate;
}

export interface ReplayCacheTable {
  key: string;
  expires_at: DbDate;
}

export interface TokensTable {
  hash: string;
  kind: string;
  payload: DbJson;
  created_at: DbDate;
  expires_at: DbDate;
}

export interface AuditEventsTable {
  id: string;
  at: DbDate;
  reference: string;
  type: string;
  outcome: string;
  reason: string | null;
  account_id: string | null;
  user_id: string | null;
  connection_id: string | null;
  actor: string;
  ip: string | null;
  detail: DbJson;
}

export interface CountersTable {
  key: string;
  window_start: DbDate;
  /** When the window ends: sweep deletes the counter after that. */
  expires_at: DbDate;
  count: number;
}

export interface OidcRecordsTable {
  model: string;
  id: string;
  payload: DbJson;
  grant_id: string | null;
  user_code: string | null;
  uid: string | null;
  expires_at: DbDate | null;
  consumed_at: DbDate | null;
}

export interface OidcKeysTable {
  kid: string;
  jwk: DbJson;
  created_at: DbDate;
}

export interface OidcClientsTable {
  client_id: string;
  metadata: DbJson;
  created_at: DbDate;
}

export interface Database {
  accounts: AccountsTable;
  users: UsersTable;
  connections: ConnectionsTable;
  identity_bindings: BindingsTable;
  sessions: SessionsTable;
  pending_requests: PendingRequestsTable;
  replay_cache: ReplayCacheTable;
  tokens: TokensTable;
  audit_events: AuditEventsTable;
  counters: CountersTable;
  oidc_records: OidcRecordsTable;
  oidc_keys: OidcKeysTable;
  oidc_clients: OidcClientsTable;
}

/** How one backend writes the column kinds that differ; reading accepts either form. */
export interface Codec {
  date(d: Date): DbDate;
  bool(b: boolean): DbBool;
}

export const sqliteCodec: Codec = Object.freeze({
  date: (d: Date) => d.getTime(),
  bool: (b: boolean) => (b ? 1 : 0),
});

export const postgresCodec: Codec = Object.freeze({
  date: (d: Date) => new Date(d.getTime()),
  bool: (b: boolean) => b,
});

export function readDate(v: DbDate): Date {
  return new Date(typeof v === "number" ? v : v instanceof Date ? v.getTime() : Number(v));
}

export function readDateOrNull(v: DbDate | null): Date | null {
  return v === null ? null : readDate(v);
}

export function readBool(v: DbBool): boolean {
  return v === true || v === 1;
}

/** JSON is always written as text: pg would turn a JS array into a PostgreSQL array literal. */
export function writeJson(v: unknown): string {
  return JSON.stringify(v);
}

export function readJson(v: DbJson): unknown {
  return typeof v === "string" ? JSON.parse(v) : v;
}

/**
 * The storage port: what the domain needs from storage, and nothing else. src/store/ implements
 * it on SQLite (node:sqlite, the embedded default) and PostgreSQL; one conformance suite
 * (test/store/) runs against both.
 *
 * Single-use records (pending AuthnRequests, the replay cache, one-time tokens) are consumed
 * atomically: when several instances share one database, exactly one consumer wins.
 */

import type {
  Account,
  AccountSettings,
  AuditEvent,
  Connection,
  IdentityBinding,
  OneTimeToken,
  PendingRequest,
  Session,
  User,
} from "./model.ts";

export type NewAccount = Pick<Account, "name" | "displayName"> & {
  readonly settings?: AccountSettings;
};
export type NewUser = Omit<User, "id" | "createdAt" | "updatedAt">;
export type UserPatch = Partial<Omit<User, "id" | "accountId" | "createdAt" | "updatedAt">>;
export type NewConnection = Omit<Connection, "id" | "createdAt" | "updatedAt" | "testedAt">;
export type ConnectionPatch = Partial<
  Omit<Connection, "id" | "accountId" | "createdAt" | "updatedAt">
>;

export interface AuditQuery {
  readonly accountId?: string;
  readonly reference?: string;
  readonly type?: string;
  readonly limit?: number;
  /** Events strictly before this one (pagination, newest first). */
  readonly before?: Date;
}

/** The secondary keys oidc-provider looks records up by. */
export interface OidcRecordIndex {
  readonly grantId?: string | undefined;
  readonly userCode?: string | undefined;
  readonly uid?: string | undefined;
}

export interface OidcRecord {
  readonly payload: Readonly<Record<string, unknown>>;
  readonly expiresAt: Date | null;
  readonly consumedAt: Date | null;
}

export interface OidcSigningKey {
  readonly kid: string;
  /** The private JWK (RFC 7517), with its kid, alg and use. */
  readonly jwk: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
}

export interface OidcClientRecord {
  readonly clientId: string;
  /** oidc-provider client metadata (RFC 7591 names), client_secret included when it has one. */
  readonly metadata: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
}

/** A store error the domain can act on; anything else is a bug or an outage. */
export class StoreConflictError extends Error {
  override readonly name = "StoreConflictError";
  /** Which uniqueness rule: "account.name", "user.username", "binding.subject"... */
  readonly constraint: string;
  constructor(constraint: string, message?: string) {
    super(message ?? `already exists (${constraint})`);
    this.constraint = constraint;
  }
}

export interface Store {
  readonly kind: "sqlite" | "postgres";

  accounts: {
    create(a: NewAccount, now: Date): Promise<Account>;
    get(id: string): Promise<Account | undefined>;
    /** Case-insensitive. */
    byName(name: string): Promise<Account | undefined>;
    list(): Promise<Account[]>;
    update(
      id: string,
      patch: { displayName?: string; settings?: AccountSettings },
      now: Date,
    ): Promise<Account>;
  };

  users: {
    create(u: NewUser, now: Date): Promise<User>;
    get(id: string): Promise<User | undefined>;
    byUsername(accountId: string, username: string): Promise<User | undefined>;
    /** Users of one account whose email equals `email`, case-insensitively when asked. */
    byEmail(accountId: string, email: string, caseInsensitive: boolean): Promise<User[]>;
    /** Users of every account with this email (case-insensitive): SSO discovery. */
    byEmailAnyAccount(email: string): Promise<User[]>;
    bySsoId(accountId: string, ssoId: string): Promise<User[]>;
    list(accountId: string): Promise<User[]>;
    update(id: string, patch: UserPatch, now: Date): Promise<User>;
  };

  connections: {
    create(c: NewConnection, now: Date): Promise<Connection>;
    get(id: string): Promise<Connection | undefined>;
    list(accountId: string): Promise<Connection[]>;
    /** Every active connection of every account (metadata refresh, certificate expiry alerts). */
    listActive(): Promise<Connection[]>;
    update(id: string, patch: ConnectionPatch, now: Date): Promise<Connection>;
  };

  bindings: {
    create(
      b: Omit<IdentityBinding, "id" | "createdAt" | "lastUsedAt">,
      now: Date,
    ): Promise<IdentityBinding>;
    find(connectionId: string, subject: string): Promise<IdentityBinding | undefined>;
    listForUser(userId: string): Promise<IdentityBinding[]>;
    touch(id: string, now: Date): Promise<void>;
    remove(id: string): Promise<boolean>;
  };

  sessions: {
    create(s: Omit<Session, "endedAt" | "endReason">): Promise<Session>;
    /** The live session with this id (hash), or undefined if absent, ended or expired at `now`. */
    getLive(id: string, now: Date): Promise<Session | undefined>;
    /** Extends the idle timeout (never past the absolute one). */
    touch(id: string, now: Date, idleExpiresAt: Date): Promise<void>;
    end(id: string, now: Date, reason: string): Promise<boolean>;
    /** Ends every live session of this connection with one of these SessionIndex values. */
    endBySessionIndex(
      connectionId: string,
      sessionIndexes: readonly string[],
      now: Date,
      reason: string,
    ): Promise<Session[]>;
    /**
     * Ends every live session of this connection with this exact NameID: an IdP LogoutRequest
     * without SessionIndex (saml-core 3.7.3.2 then means every session of that principal).
     */
    endByNameId(
      connectionId: string,
      nameId: string,
      now: Date,
      reason: string,
    ): Promise<Session[]>;
    endForUser(userId: string, now: Date, reason: string): Promise<Session[]>;
    /**
     * Ends every session that expired (idle or absolute timeout) at or before `now` and was not
     * ended yet, and returns them: expiry becomes an ending the apps can be told about. Each is
     * ended at its expiry instant (the idle one: never after the absolute one), with the reason
     * "absolute_timeout" when the absolute timeout capped it, else "idle_timeout". With several
     * instances each expired session is returned to exactly one caller.
     */
    endExpired(now: Date): Promise<Session[]>;
    listLive(userId: string, now: Date): Promise<Session[]>;
  };

  pendingRequests: {
    put(r: PendingRequest): Promise<void>;
    /** Removes and returns the request if it exists, is bound to `browserHash` and is unexpired. */
    consume(id: string, browserHash: string, now: Date): Promise<PendingRequest | undefined>;
  };

  /** The SAML replay cache: true the first time a key is seen (until it expires), false after. */
  replay: {
    consume(key: string, expiresAt: Date, now: Date): Promise<boolean>;
  };

  tokens: {
    put(t: OneTimeToken): Promise<void>;
    /** Removes and returns the token of this kind if present and unexpired. */
    consume(hash: string, kind: string, now: Date): Promise<OneTimeToken | undefined>;
    /** Reads without consuming (setup links are used over several page views). */
    peek(hash: string, kind: string, now: Date): Promise<OneTimeToken | undefined>;
    revoke(hash: string): Promise<boolean>;
  };

  audit: {
    append(e: AuditEvent): Promise<void>;
    query(q: AuditQuery): Promise<AuditEvent[]>;
  };

  /** Fixed-window counters for rate limiting and lockout, shared by every instance. */
  counters: {
    /** Adds one to `key` in the window that contains `now`; returns the new count. */
    hit(key: string, windowSeconds: number, now: Date): Promise<number>;
    reset(key: string): Promise<void>;
  };

  /**
   * What the OpenID Provider (oidc-provider) keeps: its records by model name (Session, Grant,
   * AuthorizationCode, AccessToken, Interaction...), opaque JSON to us; its signing keys; the
   * registered clients.
   */
  oidc: {
    upsert(
      model: string,
      id: string,
      payload: Readonly<Record<string, unknown>>,
      expiresAt: Date | null,
      index: OidcRecordIndex,
    ): Promise<void>;
    /** The unexpired record, consumed or not (oidc-provider refuses consumed ones itself). */
    find(model: string, id: string, now: Date): Promise<OidcRecord | undefined>;
    findByUid(model: string, uid: string, now: Date): Promise<OidcRecord | undefined>;
    findByUserCode(model: string, userCode: string, now: Date): Promise<OidcRecord | undefined>;
    /** Marks the record consumed (codes are single use); the first caller gets true. */
    consume(model: string, id: string, now: Date): Promise<boolean>;
    destroy(model: string, id: string): Promise<void>;
    /** Removes every record issued under this grant, whatever its model. */
    revokeByGrantId(grantId: string): Promise<void>;

    /** Signing keys (private JWKs), newest first; every stored key is published. */
    addKey(key: OidcSigningKey): Promise<void>;
    listKeys(): Promise<OidcSigningKey[]>;
    removeKey(kid: string): Promise<boolean>;

    createClient(client: OidcClientRecord): Promise<void>;
    getClient(clientId: string): Promise<OidcClientRecord | undefined>;
    listClients(): Promise<OidcClientRecord[]>;
    removeClient(clientId: string): Promise<boolean>;
  };

  /** Deletes expired single-use records and old ended sessions. */
  sweep(now: Date): Promise<void>;
  close(): Promise<void>;
}

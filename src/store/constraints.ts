/**
 * Unique constraints, by the port's names (StoreConflictError.constraint), and how each backend
 * reports them: PostgreSQL by index name (error.constraint), SQLite by its columns in the message
 * ("UNIQUE constraint failed: users.account_id, users.username").
 */

interface Constraint {
  /** The port's name. */
  readonly name: string;
  /** The index (PostgreSQL's error.constraint). */
  readonly index: string;
  /** SQLite's list of table.column after "UNIQUE constraint failed: ". */
  readonly columns: string;
}

const CONSTRAINTS: readonly Constraint[] = [
  { name: "account.name", index: "accounts_name_key_unique", columns: "accounts.name_key" },
  {
    name: "user.username",
    index: "users_account_username_unique",
    columns: "users.account_id, users.username",
  },
  {
    name: "binding.subject",
    index: "identity_bindings_subject_unique",
    columns: "identity_bindings.connection_id, identity_bindings.subject",
  },
  // Primary keys the caller chooses (hashes, AuthnRequest IDs, event IDs).
  { name: "session.id", index: "sessions_pkey", columns: "sessions.id" },
  { name: "pending_request.id", index: "pending_requests_pkey", columns: "pending_requests.id" },
  { name: "token.hash", index: "tokens_pkey", columns: "tokens.hash" },
  { name: "audit.id", index: "audit_events_pkey", columns: "audit_events.id" },
];

/** SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY (extended result codes). */
const SQLITE_UNIQUE_CODES = new Set([2067, 1555]);
const SQLITE_PREFIX = "UNIQUE constraint failed: ";
/** PostgreSQL's unique_violation SQLSTATE. */
const PG_UNIQUE_VIOLATION = "23505";

export function sqliteUniqueViolation(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { errcode } = error as { errcode?: unknown };
  if (typeof errcode !== "number" || !SQLITE_UNIQUE_CODES.has(errcode)) return undefined;
  const columns = error.message.startsWith(SQLITE_PREFIX)
    ? error.message.slice(SQLITE_PREFIX.length)
    : error.message;
  return CONSTRAINTS.find((k) => k.columns === columns)?.name ?? columns;
}

export function postgresUniqueViolation(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, constraint } = error as { code?: unknown; constraint?: unknown };
  if (code !== PG_UNIQUE_VIOLATION) return undefined;
  const index = typeof constraint === "string" ? constraint : "unknown";
  return CONSTRAINTS.find((k) => k.index === index)?.name ?? index;
}

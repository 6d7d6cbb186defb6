/** The column types that differ between the backends; migrations take them as an argument. */

export interface ColumnTypes {
  /** SQLite: integer milliseconds; PostgreSQL: timestamptz. */
  readonly date: "integer" | "timestamptz";
  /** SQLite: 0/1 integers; PostgreSQL: boolean. */
  readonly bool: "integer" | "boolean";
  /** SQLite: JSON text; PostgreSQL: jsonb. */
  readonly json: "text" | "jsonb";
}

export const SQLITE_TYPES: ColumnTypes = Object.freeze({
  date: "integer",
  bool: "integer",
  json: "text",
});

export const POSTGRES_TYPES: ColumnTypes = Object.freeze({
  date: "timestamptz",
  bool: "boolean",
  json: "jsonb",
});

/**
 * Typed public IDs: a prefix naming the entity, then 26 characters of Crockford base32 (lower
 * case) drawn from the crypto random source: 130 bits, never guessable, never reused.
 */

import { randomBytes } from "node:crypto";

export type IdPrefix = "acc" | "usr" | "con" | "bnd" | "evt" | "app";

/** Crockford's alphabet: no i, l, o or u, so IDs survive being read aloud or retyped. */
const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";
const LENGTH = 26;

export function newId(prefix: IdPrefix): string {
  // 256 is a multiple of 32, so the low five bits of each byte are uniform.
  const bytes = randomBytes(LENGTH);
  let out = `${prefix}_`;
  for (const b of bytes) out += CROCKFORD[b & 31];
  return out;
}

const SHAPE = new RegExp(`^(acc|usr|con|bnd|evt)_[${CROCKFORD}]{${LENGTH}}$`);

/** Whether `id` is an ID of this kind (cheap rejection of garbage before a database lookup). */
export function isId(prefix: IdPrefix, id: string): boolean {
  const m = SHAPE.exec(id);
  return m !== null && m[1] === prefix;
}

/**
 * Bearer secrets (session tokens, login nonces, one-time tokens): 256 random bits, base64url in
 * the cookie or link, only their SHA-256 stored, compared in constant time where compared.
 */

import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

export function newSecret(): string {
  return randomBytes(32).toString("base64url");
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

export function constantTimeEqual(a: string, b: string): boolean {
  const x = createHash("sha256").update(a, "utf8").digest();
  const y = createHash("sha256").update(b, "utf8").digest();
  return timingSafeEqual(x, y) && a.length === b.length;
}

/** A short reference shown to users on error pages ("ref 7K3Q-M2XD"), for the audit log. */
export function newReference(): string {
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  const bytes = randomBytes(8);
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (i === 4) s += "-";
    s += alphabet[bytes[i]! & 31];
  }
  return s;
}

/**
 * TOTP second factor (RFC 6238) with the otpauth library, in the parameters every authenticator
 * app uses: 6 digits, 30-second steps, HMAC-SHA-1. A code is accepted one step either side of
 * the current one (clock drift between phone and server), and only once.
 */

import { randomBytes } from "node:crypto";
import { Secret, TOTP } from "otpauth";
import type { Store } from "./store.ts";

export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_ALGORITHM = "SHA1";
/** Steps accepted either side of the current one (RFC 6238 §5.2 "at most one time step"). */
export const TOTP_WINDOW = 1;

function totp(secretBase32: string, label = "", issuer = "Gatehouse"): TOTP {
  return new TOTP({
    issuer,
    label,
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** A new secret: 160 random bits (RFC 4226 §4 recommends 160), base32 as apps expect it. */
export function newTotpSecret(): string {
  return new Secret({ buffer: randomBytes(20).buffer }).base32;
}

/** The otpauth:// URI an authenticator app reads from a QR code. */
export function totpUri(secretBase32: string, label: string, issuer = "Gatehouse"): string {
  return totp(secretBase32, label, issuer).toString();
}

/** The current code (tests, the mock setup page). */
export function totpCode(secretBase32: string, now: Date): string {
  return totp(secretBase32).generate({ timestamp: now.getTime() });
}

/** The time step `code` belongs to if it is valid at `now` (±TOTP_WINDOW), else undefined. Pure. */
export function totpStep(secretBase32: string, code: string, now: Date): number | undefined {
  if (!new RegExp(`^[0-9]{${TOTP_DIGITS}}$`).test(code)) return undefined;
  const delta = totp(secretBase32).validate({
    token: code,
    timestamp: now.getTime(),
    window: TOTP_WINDOW,
  });
  if (delta === null) return undefined;
  return TOTP.counter({ period: TOTP_PERIOD_SECONDS, timestamp: now.getTime() }) + delta;
}

export type TotpCheck = "accepted" | "invalid" | "replayed";

/**
 * Checks a code and spends it. RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt
 * of the same OTP after the successful validation has been issued for the first OTP".
 *
 * Single use goes through the store's replay cache, whose consume() is an atomic "first sight"
 * (one INSERT ... ON CONFLICT): of two concurrent requests with the same code, on any number of
 * instances, exactly one is accepted. The key names the user and the step, so it is remembered
 * until the step can no longer be accepted (its end plus the window), then swept. SAML keys
 * there are "<issuer>\0<assertion ID>"; ours contain no NUL, so the two never collide.
 *
 * Once step s is accepted, the earlier steps still inside the window are spent too, so an
 * older code seen over someone's shoulder cannot follow a newer one.
 */
export async function checkTotp(
  store: Store,
  userId: string,
  secretBase32: string,
  code: string,
  now: Date,
): Promise<TotpCheck> {
  const step = totpStep(secretBase32, code.replace(/\s+/g, ""), now);
  if (step === undefined) return "invalid";
  if (!(await store.replay.consume(totpReplayKey(userId, step), stepExpiry(step), now)))
    return "replayed";
  for (let earlier = step - 2 * TOTP_WINDOW; earlier < step; earlier++)
    await store.replay.consume(totpReplayKey(userId, earlier), stepExpiry(earlier), now);
  return "accepted";
}

function totpReplayKey(userId: string, step: number): string {
  return `totp:${userId}:${step}`;
}

/** The last instant a code of `step` can be accepted: the end of step + TOTP_WINDOW. */
function stepExpiry(step: number): Date {
  return new Date((step + 1 + TOTP_WINDOW) * TOTP_PERIOD_SECONDS * 1000);
}

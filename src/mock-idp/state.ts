/**
 * The mock IdP's memory: pending sign-ins and browser sessions, per plugin instance (never
 * module-level). Bounded in size and in time, with the time always given by the caller's clock.
 */

import { randomBytes } from "node:crypto";

/** A map whose entries expire and whose size is capped (the oldest entry goes first). */
export class ExpiringMap<V> {
  readonly #entries = new Map<string, { readonly value: V; readonly expiresAt: number }>();
  readonly #max: number;

  constructor(max: number) {
    this.#max = max;
  }

  set(key: string, value: V, expiresAt: Date, now: Date): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.#max) this.#prune(now.getTime());
    while (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, { value, expiresAt: expiresAt.getTime() });
  }

  get(key: string, now: Date): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (now.getTime() >= entry.expiresAt) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  #prune(now: number): void {
    for (const [key, entry] of this.#entries) if (now >= entry.expiresAt) this.#entries.delete(key);
  }
}

/** 256 random bits, URL-safe: session cookies and sign-in flow references. */
export function newHandle(): string {
  return randomBytes(32).toString("base64url");
}

/** Everything the web layer needs, passed in by whoever wires it (the CLI, the tests). */

import type { KeyObject } from "node:crypto";
import type { SessionPolicy } from "../domain/sessions.ts";
import type { Store } from "../domain/store.ts";

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<unknown>;
}

export interface AppDeps {
  readonly store: Store;
  readonly mailer: Mailer;
  /** The external base URL, no trailing slash: https://sso.example.com */
  readonly publicUrl: string;
  /** Bearer token of the admin API (compared in constant time). */
  readonly adminToken: string;
  readonly sessions: SessionPolicy;
  readonly loginRequestTtlMinutes: number;
  readonly clockSkewSeconds: number;
  /** Our key pair: signs AuthnRequests/LogoutRequests, decrypts assertions; its cert goes in SP metadata. */
  readonly spKey?: { readonly privateKey: KeyObject; readonly certificate: string };
  /** The account whose "Login with SAML" button the login page shows (single-server setup). */
  readonly defaultAccountName?: string;
  readonly now: () => Date;
  readonly logger?: boolean | { level: string };
  readonly trustProxy?: boolean | number;
  /** Mounts the mock IdP (demo mode only; never in production configuration). */
  readonly mockIdp?: unknown;
}

/**
 * Outbound mail (nodemailer): SMTP when SMTP_URL is set, else one RFC 5322 .eml file per message
 * in an outbox folder, so a fresh install sends nothing anywhere and the demo's mails can still
 * be read.
 */

import { randomBytes } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import nodemailer from "nodemailer";

export interface MailerConfig {
  /** smtp://user:pass@host:587 (STARTTLS when offered) or smtps://...:465; absent: the outbox. */
  readonly smtpUrl?: string;
  readonly outboxDir: string;
  /** The From header: an address or "Name <address>". */
  readonly from: string;
}

export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string;
}

export interface SentMail {
  /** The Message-ID header, e.g. <uuid@host>. */
  readonly id: string;
  readonly transport: "smtp" | "outbox";
  /** The .eml file written (outbox only). */
  readonly path?: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<SentMail>;
  close(): void;
}

export interface MailerOptions {
  /** The clock for the Date header and outbox file names (default: the system clock). */
  readonly now?: () => Date;
}

/** Short enough that a dead SMTP server fails a request instead of hanging it (defaults: minutes). */
const SMTP_TIMEOUTS = { connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 30_000 };

export function createMailer(config: MailerConfig, options: MailerOptions = {}): Mailer {
  const now = options.now ?? (() => new Date());
  return config.smtpUrl === undefined
    ? outboxMailer(config.outboxDir, config.from, now)
    : smtpMailer(config.smtpUrl, config.from, now);
}

function smtpMailer(url: string, from: string, now: () => Date): Mailer {
  const transport = nodemailer.createTransport({ url, ...SMTP_TIMEOUTS });
  return {
    async send(message) {
      const info = await transport.sendMail({ from, ...message, date: now() });
      return { id: info.messageId, transport: "smtp" };
    },
    close() {
      transport.close();
    },
  };
}

function outboxMailer(dir: string, from: string, now: () => Date): Mailer {
  // CRLF line ends: RFC 5322 section 2.1, what mail clients expect of an .eml file.
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: "windows",
  });
  let sequence = 0;
  return {
    async send(message) {
      const date = now();
      const info = await transport.sendMail({ from, ...message, date });
      await mkdir(dir, { recursive: true });
      // Sortable: time, then this mailer's own sequence, then randomness against other processes.
      sequence += 1;
      const stamp = date.toISOString().replace(/[-:]/g, "").replace(".", "");
      const name = `${stamp}-${String(sequence).padStart(6, "0")}-${randomBytes(4).toString("hex")}.eml`;
      const path = join(dir, name);
      // Written under a temporary name, then renamed: a reader never sees half a message.
      await writeFile(`${path}.tmp`, info.message as Buffer, { mode: 0o600 });
      await rename(`${path}.tmp`, path);
      return { id: info.messageId, transport: "outbox", path };
    },
    close() {},
  };
}

import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SMTPServer } from "smtp-server";
import { escapeHtml, rollbackMail } from "../../src/domain/rollback-mail.ts";
import { createMailer } from "../../src/mail/mailer.ts";
import { parseMessage, textParts } from "./rfc5322.ts";

const NOW = new Date("2030-01-02T03:04:05.678Z");
const FROM = "Gatehouse <gatehouse@sso.example.com>";

const rollback = rollbackMail({
  account: "Acme Corp",
  accountName: "acme",
  username: "ana",
  temporaryPassword: "Tmp-7f3K-9qPz",
  loginUrl: "https://sso.example.com/login",
});

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "gatehouse-mail-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("templates", () => {
  it("rollback: says SSO is off, gives the temporary password and where to change it", () => {
    assert.equal(rollback.subject, "SSO has been turned off for Acme Corp");
    assert.match(rollback.text, /^SSO has been turned off for Acme Corp\./m);
    assert.match(rollback.text, /^Temporary password: Tmp-7f3K-9qPz$/m);
    assert.match(rollback.text, /^Account name: acme$/m);
    assert.match(
      rollback.text,
      /^You must change this temporary password at your next login at https:\/\/sso\.example\.com\/login$/m,
    );
    assert.match(rollback.html, /<code>Tmp-7f3K-9qPz<\/code>/);
    assert.match(
      rollback.html,
      /<a href="https:\/\/sso\.example\.com\/login">https:\/\/sso\.example\.com\/login<\/a>/,
    );
  });

  it("rollback: every interpolated value is escaped in HTML", () => {
    const m = rollbackMail({
      account: `<script>alert("x")</script>`,
      accountName: "a&b",
      username: `o'neil"><img src=x>`,
      temporaryPassword: "<b>pw</b>",
      loginUrl: `https://x.example/login?a=1&b="2"`,
    });
    assert.doesNotMatch(m.html, /<script>|<img|<b>pw/);
    assert.match(m.html, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
    assert.match(m.html, /o&#39;neil&quot;&gt;&lt;img src=x&gt;/);
    assert.match(m.html, /<td><code>a&amp;b<\/code><\/td>/);
    assert.match(m.html, /href="https:\/\/x\.example\/login\?a=1&amp;b=&quot;2&quot;"/);
    // The text part is not HTML: values stay as they are.
    assert.match(m.text, /^Temporary password: <b>pw<\/b>$/m);
  });

  it("rollback: a non-http login URL is shown, never linked; the subject stays one line", () => {
    const m = rollbackMail({
      account: "Evil\r\nBcc: victim@example.com",
      username: "u",
      temporaryPassword: "p",
      loginUrl: "javascript:alert(1)",
    });
    assert.doesNotMatch(m.html, /<a /);
    assert.match(m.html, /javascript:alert\(1\)/);
    assert.equal(m.subject, "SSO has been turned off for Evil Bcc: victim@example.com");
    assert.doesNotMatch(m.text, /Account name:/);
  });

  it("escapeHtml escapes the five characters", () => {
    assert.equal(escapeHtml(`&<>"'`), "&amp;&lt;&gt;&quot;&#39;");
  });
});

describe("outbox", () => {
  it("writes one RFC 5322 .eml per message, with the right headers and both parts", async () => {
    const outboxDir = join(dir, "outbox-1", "nested");
    const mailer = createMailer({ outboxDir, from: FROM }, { now: () => NOW });
    const sent = await mailer.send({ to: "ana@acme.example", ...rollback });
    mailer.close();

    assert.equal(sent.transport, "outbox");
    assert.equal(sent.path, join(outboxDir, (await readdir(outboxDir))[0]!));
    assert.match(sent.path!, /\/20300102T030405678Z-000001-[0-9a-f]{8}\.eml$/);
    const raw = await readFile(sent.path!, "utf8");
    // RFC 5322 section 2.1: lines end in CRLF, never a bare LF; section 2.1.1: at most 998 chars.
    assert.doesNotMatch(raw, /[^\r]\n/);
    for (const line of raw.split("\r\n")) assert.ok(line.length <= 998);

    const message = parseMessage(raw);
    const h = message.headers;
    assert.equal(h.get("from"), FROM);
    assert.equal(h.get("to"), "ana@acme.example");
    assert.equal(h.get("subject"), "SSO has been turned off for Acme Corp");
    assert.equal(h.get("date"), "Wed, 02 Jan 2030 03:04:05 +0000");
    assert.equal(h.get("message-id"), sent.id);
    assert.match(sent.id, /^<[^<>@\s]+@[^<>\s]+>$/);
    assert.equal(h.get("mime-version"), "1.0");
    assert.match(h.get("content-type")!, /^multipart\/alternative; boundary=/);
    const { text, html } = textParts(message);
    assert.equal(text, rollback.text);
    assert.equal(html, rollback.html);
  });

  it("names files so that sorting them gives the order they were sent, even within one millisecond", async () => {
    const outboxDir = join(dir, "outbox-2");
    const mailer = createMailer({ outboxDir, from: FROM }, { now: () => NOW });
    const sent = [];
    for (let i = 1; i <= 12; i++) {
      sent.push(await mailer.send({ to: `u${i}@acme.example`, subject: `n${i}`, text: `${i}` }));
    }
    const files = (await readdir(outboxDir)).sort();
    assert.deepEqual(
      files.map((f) => join(outboxDir, f)),
      sent.map((s) => s.path),
    );
    assert.equal(new Set(sent.map((s) => s.id)).size, 12);
    assert.ok(
      files.every((f) => f.endsWith(".eml")),
      "no temporary file left behind",
    );
    const last = parseMessage(await readFile(sent[11]!.path!, "utf8"));
    assert.equal(last.headers.get("subject"), "n12");
    assert.match(last.headers.get("content-type")!, /^text\/plain/);
    assert.equal(last.body, "12\r\n");
  });

  it("encodes non-ASCII subjects and bodies so they read back unchanged", async () => {
    const outboxDir = join(dir, "outbox-3");
    const mailer = createMailer({ outboxDir, from: FROM }, { now: () => NOW });
    const m = rollbackMail({
      account: "Société Générale Ünïcode ✓",
      username: "zoë",
      temporaryPassword: "pw",
      loginUrl: "https://sso.example.com/login",
    });
    const sent = await mailer.send({ to: "zoe@example.com", ...m });
    const raw = await readFile(sent.path!, "utf8");
    assert.doesNotMatch(raw, /[^\t\r\n -~]/, "the file is 7-bit: every header and part encoded");
    const message = parseMessage(raw);
    assert.match(message.headers.get("subject")!, /^=\?UTF-8\?[QB]\?/i);
    assert.equal(decodeWords(message.headers.get("subject")!), m.subject);
    assert.equal(textParts(message).text, m.text);
  });
});

describe("SMTP (a real server on 127.0.0.1)", () => {
  interface Received {
    from: string;
    to: string[];
    raw: string;
    user?: string;
  }
  const received: Received[] = [];
  let server: SMTPServer;
  let port: number;

  before(async () => {
    server = new SMTPServer({
      // Plain SMTP on loopback: no STARTTLS to negotiate with a self-signed certificate.
      disabledCommands: ["STARTTLS"],
      allowInsecureAuth: true,
      authMethods: ["PLAIN", "LOGIN"],
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === "mailer" && auth.password === "s3cret p@ss") {
          callback(null, { user: auth.username });
        } else callback(new Error("Invalid username or password"));
      },
      onRcptTo(address, _session, callback) {
        if (address.address.endsWith("@refused.example")) {
          const e = new Error("Mailbox unavailable") as Error & { responseCode: number };
          e.responseCode = 550;
          callback(e);
        } else callback();
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
          const from = session.envelope.mailFrom;
          received.push({
            from: from === false ? "" : from.address,
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString("utf8"),
            user: session.user as string | undefined,
          });
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const url = () => `smtp://mailer:${encodeURIComponent("s3cret p@ss")}@127.0.0.1:${port}`;

  it("delivers the message, authenticated, with envelope and headers as sent", async () => {
    const mailer = createMailer(
      { smtpUrl: url(), outboxDir: join(dir, "unused"), from: FROM },
      { now: () => NOW },
    );
    const sent = await mailer.send({ to: "ana@acme.example", ...rollback });
    mailer.close();

    assert.equal(sent.transport, "smtp");
    assert.equal(sent.path, undefined);
    assert.equal(received.length, 1);
    const r = received[0]!;
    assert.equal(r.user, "mailer");
    assert.equal(r.from, "gatehouse@sso.example.com");
    assert.deepEqual(r.to, ["ana@acme.example"]);
    // What arrives over SMTP ends with the CRLF before the terminating dot.
    const message = parseMessage(r.raw.replace(/\r\n$/, ""));
    assert.equal(message.headers.get("from"), FROM);
    assert.equal(message.headers.get("to"), "ana@acme.example");
    assert.equal(message.headers.get("subject"), rollback.subject);
    assert.equal(message.headers.get("message-id"), sent.id);
    assert.equal(message.headers.get("date"), "Wed, 02 Jan 2030 03:04:05 +0000");
    const { text, html } = textParts(message);
    assert.equal(text?.replace(/\n$/, ""), rollback.text.replace(/\n$/, ""));
    assert.equal(html?.replace(/\n$/, ""), rollback.html.replace(/\n$/, ""));
    await assert.rejects(readdir(join(dir, "unused")), { code: "ENOENT" });
  });

  it("rejects when the server refuses the recipient (rollback then reports mail_failed)", async () => {
    const mailer = createMailer({ smtpUrl: url(), outboxDir: dir, from: FROM });
    await assert.rejects(
      mailer.send({ to: "nobody@refused.example", subject: "s", text: "t" }),
      (e: Error & { responseCode?: number }) => e.responseCode === 550,
    );
    mailer.close();
  });

  it("rejects on wrong credentials", async () => {
    const mailer = createMailer({
      smtpUrl: `smtp://mailer:wrong@127.0.0.1:${port}`,
      outboxDir: dir,
      from: FROM,
    });
    await assert.rejects(mailer.send({ to: "a@acme.example", subject: "s", text: "t" }), {
      code: "EAUTH",
    });
    mailer.close();
  });

  it("rejects when nothing listens at the SMTP address", async () => {
    const closed = new SMTPServer({ logger: false });
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const deadPort = (closed.server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const mailer = createMailer({
      smtpUrl: `smtp://127.0.0.1:${deadPort}`,
      outboxDir: dir,
      from: FROM,
    });
    await assert.rejects(mailer.send({ to: "a@acme.example", subject: "s", text: "t" }), {
      code: "ESOCKET",
    });
    mailer.close();
  });
});

/** RFC 2047 encoded-words (B and Q), enough for the subjects above. */
function decodeWords(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?UTF-8\?([BQ])\?([^?]*)\?=/gi, (_, enc: string, data: string) =>
      enc.toUpperCase() === "B"
        ? Buffer.from(data, "base64").toString("utf8")
        : Buffer.from(
            data
              .replace(/_/g, " ")
              .replace(/=([0-9A-F]{2})/gi, (_m, h: string) =>
                String.fromCharCode(Number.parseInt(h, 16)),
              ),
            "latin1",
          ).toString("utf8"),
    );
}

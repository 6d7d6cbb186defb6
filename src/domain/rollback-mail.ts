/**
 * The rollback mail, in the domain because the domain decides what people are told (src/mail
 * only delivers): plain text, plus a minimal HTML part in which every interpolated value is
 * escaped (account names, usernames and URLs come from admins and IdPs).
 */

export interface MailContent {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export function escapeHtml(value: string): string {
  return value
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&#39;");
}

/** Header values are one line: a CR or LF from an account name must not start a new header. */
function oneLine(value: string): string {
  return value.replace(/[\r\n]+/g, " ");
}

/** A link only for http(s) URLs: a javascript: URL must never become clickable. */
function link(url: string): string {
  const e = escapeHtml(url);
  return /^https?:\/\//i.test(url) ? `<a href="${e}">${e}</a>` : e;
}

export interface RollbackMailInput {
  /** The account's display name, as its users know it. */
  readonly account: string;
  /** The account name typed on the login page, when it differs from the display name. */
  readonly accountName?: string;
  readonly username: string;
  readonly temporaryPassword: string;
  readonly loginUrl: string;
}

/**
 * Rollback (Netcore, shared/seeds/001): "If the admin disables SSO: users receive an email with
 * a temporary password", which must be changed at the next login.
 */
export function rollbackMail(input: RollbackMailInput): MailContent {
  const { account, username, temporaryPassword, loginUrl } = input;
  const lines: [string, string][] = [
    ...(input.accountName === undefined
      ? []
      : [["Account name", input.accountName] as [string, string]]),
    ["Username", username],
    ["Temporary password", temporaryPassword],
  ];
  const text = [
    `Hello ${username},`,
    "",
    `SSO has been turned off for ${account}. From now on you sign in with a username and password.`,
    "",
    ...lines.map(([k, v]) => `${k}: ${v}`),
    "",
    `You must change this temporary password at your next login at ${loginUrl}`,
    "",
    "If you did not expect this message, contact your administrator.",
    "",
  ].join("\n");
  const e = escapeHtml;
  const html = [
    "<!doctype html>",
    '<html><body style="font-family: sans-serif; line-height: 1.5">',
    `<p>Hello ${e(username)},</p>`,
    `<p>SSO has been turned off for <strong>${e(account)}</strong>. From now on you sign in with a username and password.</p>`,
    "<table>",
    ...lines.map(([k, v]) => `<tr><th align="left">${e(k)}</th><td><code>${e(v)}</code></td></tr>`),
    "</table>",
    `<p>You must change this temporary password at your next login at ${link(loginUrl)}</p>`,
    "<p>If you did not expect this message, contact your administrator.</p>",
    "</body></html>",
    "",
  ].join("\n");
  return { subject: oneLine(`SSO has been turned off for ${account}`), text, html };
}

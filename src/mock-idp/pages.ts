/**
 * The mock IdP's pages: server-rendered HTML, no client-side framework, every interpolated value
 * escaped by the template engine (Eta's `<%= %>` escapes by default; `<%~ %>`, raw output, is
 * used only for the layout's body, itself rendered by an escaping template). The look follows
 * Microsoft's sign-in pages closely enough for a demo, with a banner saying it is a mock.
 *
 * The one script is the auto-submit of the SAML POST form; every page works without it.
 */

import { Eta } from "eta/core";

export interface DemoUserRow {
  readonly username: string;
  readonly password: string;
  readonly displayName: string;
  readonly notAssigned: boolean;
}

export interface SignInPage {
  readonly action: string;
  /** The pending sign-in this form completes (an opaque reference held by the IdP). */
  readonly flow: string;
  readonly username: string;
  readonly appName: string | undefined;
  readonly error: string | undefined;
  readonly demoUsers: readonly DemoUserRow[];
}

export interface ErrorPage {
  /** e.g. AADSTS700016 */
  readonly code: string;
  readonly message: string;
  readonly requestId: string;
  readonly timestamp: string;
}

export interface PostPage {
  readonly action: string;
  readonly fields: readonly { readonly name: string; readonly value: string }[];
  readonly appName: string;
}

export interface AppsPage {
  readonly user: string | undefined;
  readonly apps: readonly {
    readonly name: string;
    readonly launchUrl: string;
    readonly identifier: string;
    readonly signedIn: boolean;
  }[];
  readonly signOutAction: string;
  readonly canSignOut: boolean;
}

export interface SignOutPage {
  /** One front-channel LogoutRequest per app, each loaded in its own iframe. */
  readonly frames: readonly { readonly appName: string; readonly url: string }[];
  readonly appsUrl: string;
}

export interface MessagePage {
  readonly title: string;
  readonly message: string;
  readonly link: { readonly href: string; readonly text: string } | undefined;
}

export interface MockIdpPages {
  signIn(page: SignInPage): string;
  error(page: ErrorPage): string;
  post(page: PostPage): string;
  apps(page: AppsPage): string;
  signOut(page: SignOutPage): string;
  message(page: MessagePage): string;
}

const LAYOUT = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title><%= it.title %> | Mock Entra ID</title>
<style>
  :root { color-scheme: light; }
  * { box-sizing: border-box; }
  body { margin: 0; font-family: "Segoe UI", system-ui, -apple-system, sans-serif; background: #f2f2f2; color: #1b1b1b; }
  .banner { background: #323130; color: #fff; font-size: 13px; padding: 6px 16px; }
  main { max-width: 440px; margin: 48px auto; background: #fff; padding: 44px; box-shadow: 0 2px 6px rgba(0,0,0,.2); }
  main.wide { max-width: 640px; }
  .logo { font-weight: 600; color: #737373; margin-bottom: 16px; letter-spacing: .02em; }
  h1 { font-size: 24px; font-weight: 600; margin: 0 0 16px; }
  label { display: block; font-size: 15px; margin: 12px 0 4px; }
  input[type=text], input[type=email], input[type=password] { width: 100%; font: inherit; padding: 6px 0; border: 0; border-bottom: 1px solid #666; outline-offset: 2px; }
  button { font: inherit; background: #0067b8; color: #fff; border: 0; padding: 6px 20px; min-width: 108px; min-height: 32px; cursor: pointer; margin-top: 20px; }
  button.secondary { background: #e6e6e6; color: #1b1b1b; }
  button.link { background: none; color: #0067b8; padding: 0; margin: 0; min-width: 0; min-height: 0; text-decoration: underline; }
  .error { color: #e81123; margin: 8px 0; }
  .muted { color: #605e5c; font-size: 13px; }
  table { width: 100%; border-collapse: collapse; font-size: 13px; margin-top: 8px; }
  th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid #edebe9; vertical-align: top; }
  code { font-family: Consolas, monospace; font-size: 12px; word-break: break-all; }
  ul.apps { list-style: none; padding: 0; }
  ul.apps li { border: 1px solid #edebe9; padding: 12px; margin-bottom: 8px; }
  .details { background: #f8f8f8; padding: 12px; font-size: 13px; margin-top: 24px; }
  .details dt { font-weight: 600; }
  .details dd { margin: 0 0 8px; word-break: break-all; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  iframe { width: 100%; height: 64px; border: 1px solid #edebe9; }
</style>
</head>
<body>
<div class="banner" role="note">Mock identity provider for development and demos: not Microsoft Entra ID.</div>
<main class="<%= it.wide ? 'wide' : '' %>">
<div class="logo" aria-hidden="true">Microsoft (mock)</div>
<%~ it.body %>
</main>
</body>
</html>
`;

const SIGN_IN = `<% layout("@layout", { title: "Sign in", wide: false }) %>
<h1>Sign in</h1>
<% if (it.appName) { %><p class="muted">to continue to <%= it.appName %></p><% } %>
<form method="post" action="<%= it.action %>">
  <input type="hidden" name="flow" value="<%= it.flow %>">
  <% if (it.error) { %><p class="error" id="signin-error" role="alert"><%= it.error %></p><% } %>
  <label for="username">Email or username</label>
  <input type="text" inputmode="email" id="username" name="username" autocomplete="username" required value="<%= it.username %>"<% if (it.error) { %> aria-describedby="signin-error"<% } %><% if (!it.username) { %> autofocus<% } %>>
  <label for="password">Password</label>
  <input type="password" id="password" name="password" autocomplete="current-password" required<% if (it.username) { %> autofocus<% } %>>
  <button type="submit">Sign in</button>
</form>
<% if (it.demoUsers.length > 0) { %>
<section aria-labelledby="demo-users">
  <h2 id="demo-users" class="muted" style="margin-top:32px">Demo users</h2>
  <p class="muted">This is a mock identity provider: the demo credentials are shown on purpose.</p>
  <table>
    <thead><tr><th scope="col">User</th><th scope="col">Password</th><th scope="col"><span class="sr-only">Action</span></th></tr></thead>
    <tbody>
    <% for (const u of it.demoUsers) { %>
      <tr>
        <td><%= u.displayName %><br><code><%= u.username %></code><% if (u.notAssigned) { %><br><span class="muted">not assigned to the applications</span><% } %></td>
        <td><code><%= u.password %></code></td>
        <td>
          <form method="post" action="<%= it.action %>">
            <input type="hidden" name="flow" value="<%= it.flow %>">
            <input type="hidden" name="username" value="<%= u.username %>">
            <input type="hidden" name="password" value="<%= u.password %>">
            <button type="submit" class="link" aria-label="Use demo user <%= u.username %>">Use</button>
          </form>
        </td>
      </tr>
    <% } %>
    </tbody>
  </table>
</section>
<% } %>
`;

const ERROR = `<% layout("@layout", { title: "Error", wide: true }) %>
<h1>Sorry, but we're having trouble signing you in.</h1>
<p role="alert"><strong><%= it.code %></strong>: <%= it.message %></p>
<dl class="details" aria-label="Troubleshooting details">
  <dt>Error Code</dt><dd><%= it.code %></dd>
  <dt>Request Id</dt><dd><%= it.requestId %></dd>
  <dt>Timestamp</dt><dd><%= it.timestamp %></dd>
  <dt>Message</dt><dd><%= it.message %></dd>
</dl>
`;

// The SAML HTTP-POST binding (saml-bindings-2.0-os 3.5.4): a form the browser submits to the
// ACS, automatically when scripts run, by the visible button otherwise.
const POST = `<% layout("@layout", { title: "Signing in", wide: false }) %>
<h1>Signing you in to <%= it.appName %></h1>
<form method="post" action="<%= it.action %>" id="saml-post">
  <% for (const f of it.fields) { %><input type="hidden" name="<%= f.name %>" value="<%= f.value %>">
  <% } %>
  <p class="muted">If nothing happens, press Continue.</p>
  <button type="submit">Continue</button>
</form>
<script>document.getElementById("saml-post").submit();</script>
`;

const APPS = `<% layout("@layout", { title: "My Apps", wide: true }) %>
<h1>My Apps</h1>
<% if (it.user) { %><p>Signed in as <strong><%= it.user %></strong></p><% } else { %><p class="muted">Not signed in: choosing an application asks you to sign in first.</p><% } %>
<% if (it.apps.length === 0) { %><p>No application is registered at this identity provider.</p><% } %>
<ul class="apps" aria-label="Applications">
<% for (const a of it.apps) { %>
  <li>
    <a href="<%= a.launchUrl %>"><strong><%= a.name %></strong></a><% if (a.signedIn) { %> <span class="muted">(signed in)</span><% } %><br>
    <span class="muted">Identifier: <code><%= a.identifier %></code></span>
  </li>
<% } %>
</ul>
<% if (it.canSignOut) { %>
<form method="post" action="<%= it.signOutAction %>">
  <button type="submit" class="secondary">Sign out everywhere</button>
</form>
<% } %>
`;

// Front-channel Single Logout (saml-profiles-2.0-os 4.4.3.2): one iframe per application, each
// loading that application's Logout URL with our LogoutRequest. The browser sends every request
// without scripts, in parallel, and an application that refuses framing still receives (and
// acts on) its request; its answer lands back at our /saml2 endpoint inside the frame.
const SIGN_OUT = `<% layout("@layout", { title: "Signed out", wide: true }) %>
<h1>You signed out of your account</h1>
<% if (it.frames.length > 0) { %>
<p>Signing you out of <%= it.frames.length %> application(s):</p>
<ul class="apps">
<% for (const f of it.frames) { %>
  <li><%= f.appName %><br><iframe src="<%= f.url %>" title="Sign-out of <%= f.appName %>"></iframe></li>
<% } %>
</ul>
<% } else { %>
<p>No application needed to be signed out.</p>
<% } %>
<p class="muted">It's a good idea to close all browser windows.</p>
<p><a href="<%= it.appsUrl %>">Back to My Apps</a></p>
`;

const MESSAGE = `<% layout("@layout", { title: it.title, wide: false }) %>
<h1><%= it.title %></h1>
<p><%= it.message %></p>
<% if (it.link) { %><p><a href="<%= it.link.href %>"><%= it.link.text %></a></p><% } %>
`;

/** Compiles the templates once; the returned functions only render. */
export function createPages(): MockIdpPages {
  const eta = new Eta({ autoEscape: true, autoTrim: false });
  eta.loadTemplate("@layout", LAYOUT);
  eta.loadTemplate("@signIn", SIGN_IN);
  eta.loadTemplate("@error", ERROR);
  eta.loadTemplate("@post", POST);
  eta.loadTemplate("@apps", APPS);
  eta.loadTemplate("@signOut", SIGN_OUT);
  eta.loadTemplate("@message", MESSAGE);
  return Object.freeze({
    signIn: (page: SignInPage) => eta.render("@signIn", page),
    error: (page: ErrorPage) => eta.render("@error", page),
    post: (page: PostPage) => eta.render("@post", page),
    apps: (page: AppsPage) => eta.render("@apps", page),
    signOut: (page: SignOutPage) => eta.render("@signOut", page),
    message: (page: MessagePage) => eta.render("@message", page),
  });
}

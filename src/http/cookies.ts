/**
 * Cookie names and attributes in one place. Session cookies are HttpOnly and SameSite=Lax; the
 * login-request cookie must survive the IdP's cross-site POST to the ACS, so on https it is
 * SameSite=None; Secure (on http://localhost the demo IdP is same-site and Lax suffices).
 */

import type { CookieSerializeOptions } from "@fastify/cookie";

export const SESSION_COOKIE = "gh_session";
export const LOGIN_REQUEST_COOKIE = "gh_saml_req";
export const LOGOUT_REQUEST_COOKIE = "gh_saml_logout";
export const CSRF_COOKIE = "gh_csrf";
export const CHOOSER_COOKIE = "gh_choose";
export const ACCOUNT_COOKIE = "gh_account";
/** The single-use ticket between password login steps (code, new password). */
export const LOGIN_STEP_COOKIE = "gh_login_step";

export function cookieOptions(
  publicUrl: string,
  kind: "session" | "cross-site" | "long",
  maxAgeSeconds?: number,
): CookieSerializeOptions {
  const secure = publicUrl.startsWith("https://");
  return {
    path: "/",
    httpOnly: true,
    secure,
    sameSite: kind === "cross-site" && secure ? "none" : "lax",
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
  };
}

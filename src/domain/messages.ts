/**
 * What the person signing in is told. The SSO messages are Netcore's table word for word
 * (shared/seeds/001), with "support" in place of the vendor's name; every page also shows a
 * reference ID the admin can look up in the audit log, which holds the detail.
 */

export const LOGIN_MESSAGES = {
  account_not_sso: "This account is not configured for SSO.",
  email_not_sso: "This email is not configured for SSO.",
  duplicate_users:
    "It seems that multiple user names are associated with this email ID. Please contact your admin or support.",
  idp_failure: "Login failed due to incorrect credentials.",
  idp_unreachable: "Unable to connect to your identity provider. Please try again later.",
  session_expired: "Your session has expired. Please log in again.",
  // Password login (ours; not in the seed pages).
  bad_credentials: "Incorrect username or password.",
  sso_enforced: "This account signs in with SSO only. Use “Log in with SSO”.",
  locked_out: "Too many attempts. Wait a few minutes and try again.",
  bad_totp: "That code is not valid. Enter the current 6-digit code from your authenticator app.",
  user_disabled: "This user is disabled. Please contact your admin.",
  account_required: "Several accounts use this email. Enter your account name.",
  account_name_missing: "Enter your account name as well as your username and password.",
  password_too_short: "Choose a password of at least 12 characters.",
  password_mismatch: "The two new passwords do not match.",
  password_reused: "Choose a new password, not the temporary one.",
} as const;

export type LoginMessageKey = keyof typeof LOGIN_MESSAGES;

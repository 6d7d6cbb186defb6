/**
 * Every environment variable Gatehouse reads, in one table (the README's table is generated from
 * it by `configReference()`), and the shape of the validated configuration.
 */

export interface VariableSpec {
  readonly name: string;
  readonly description: string;
  readonly type: string;
  /** Shown as the default in the reference; undefined when there is none. */
  readonly default?: string;
  readonly example: string;
  /** Redacted in logs, never printed. */
  readonly secret: boolean;
  /** Other names accepted for it (XCALLY's .env spells the SAML variables XC_SAML_*). */
  readonly aliases?: readonly string[];
}

export const VARIABLES: readonly VariableSpec[] = [
  {
    name: "GATEHOUSE_MODE",
    description:
      "`demo` mounts the mock IdP and a demo account; `production` never does and requires real secrets",
    type: "`demo` \\| `production`",
    default: "`production` when NODE_ENV=production, else `demo`",
    example: "production",
    secret: false,
  },
  {
    name: "NODE_ENV",
    description: "`production` implies GATEHOUSE_MODE=production",
    type: "string",
    example: "production",
    secret: false,
  },
  {
    name: "PORT",
    description: "TCP port the server listens on",
    type: "integer 1-65535",
    default: "3000",
    example: "8080",
    secret: false,
  },
  {
    name: "HOST",
    description: "Address the server binds to (0.0.0.0 for all interfaces)",
    type: "IP address or host name",
    default: "127.0.0.1",
    example: "0.0.0.0",
    secret: false,
  },
  {
    name: "DOMAIN",
    description:
      "The app's exact host name (XCALLY's DOMAIN); sets PUBLIC_URL to https://DOMAIN. No wildcards: Entra's Reply URL names one host",
    type: "host name[:port]",
    example: "sso.example.com",
    secret: false,
  },
  {
    name: "PUBLIC_URL",
    description:
      "External base URL (scheme, host, optional port; no path). https unless localhost/127.0.0.1",
    type: "URL",
    default: "https://DOMAIN, else http://localhost:PORT",
    example: "https://sso.example.com",
    secret: false,
  },
  {
    name: "DATABASE_URL",
    description:
      "Storage: an SQLite file (sqlite:PATH, file:PATH or a bare path) or PostgreSQL (postgres://...)",
    type: "path or URL",
    default: "./data/gatehouse.db",
    example: "postgres://gatehouse:secret@127.0.0.1:5432/gatehouse",
    secret: true,
  },
  {
    name: "SMTP_URL",
    description: "Outgoing mail server; without it mail is written to MAIL_OUTBOX_DIR",
    type: "smtp:// or smtps:// URL",
    example: "smtps://user:pass@smtp.example.com:465",
    secret: true,
  },
  {
    name: "MAIL_OUTBOX_DIR",
    description: "Folder receiving one .eml file per message when SMTP_URL is not set",
    type: "path",
    default: "./data/outbox",
    example: "/var/lib/gatehouse/outbox",
    secret: false,
  },
  {
    name: "MAIL_FROM",
    description: "Sender of the mails Gatehouse sends",
    type: "address or `Name <address>`",
    default: "Gatehouse <gatehouse@DOMAIN>, else Gatehouse <gatehouse@localhost>",
    example: "Example SSO <sso@example.com>",
    secret: false,
  },
  {
    name: "SESSION_SECRET",
    description:
      "Key for session cookies; at least 32 characters. Required in production; generated per start in demo",
    type: "string (32+ chars)",
    example: "output of: openssl rand -base64 32",
    secret: true,
  },
  {
    name: "SESSION_IDLE_MINUTES",
    description: "A session ends after this long without activity",
    type: "integer 1-10080",
    default: "60",
    example: "30",
    secret: false,
  },
  {
    name: "SESSION_ABSOLUTE_HOURS",
    description:
      "A session ends this long after sign-in, whatever the activity (and never after the IdP's SessionNotOnOrAfter)",
    type: "integer 1-720",
    default: "12",
    example: "8",
    secret: false,
  },
  {
    name: "ADMIN_TOKEN",
    description:
      "Bearer token of the admin API; at least 32 characters. Required in production; generated and shown once in demo",
    type: "string (32+ chars)",
    example: "output of: openssl rand -base64 32",
    secret: true,
  },
  {
    name: "LOGIN_REQUEST_TTL_MINUTES",
    description: "How long a started SSO login may take before its response is refused",
    type: "integer 1-60",
    default: "10",
    example: "5",
    secret: false,
  },
  {
    name: "CLOCK_SKEW_SECONDS",
    description: "Tolerance for the IdP's clock in NotBefore/NotOnOrAfter checks",
    type: "integer 0-600",
    default: "180",
    example: "60",
    secret: false,
  },
  {
    name: "SP_KEY",
    description:
      "Our RSA private key (PEM, armour optional): signs AuthnRequests, decrypts assertions. Requires SP_CERT",
    type: "PEM text",
    example: "-----BEGIN PRIVATE KEY-----\\nMIIE...",
    secret: true,
  },
  {
    name: "SP_CERT",
    description: "Certificate of SP_KEY, published in our SP metadata. Requires SP_KEY",
    type: "PEM text",
    example: "MIIC8DCCAdigAwIBAgIQ...",
    secret: false,
  },
  {
    name: "SP_KEY_FILE",
    description: "Path of a file holding SP_KEY (instead of SP_KEY)",
    type: "path",
    example: "/etc/gatehouse/sp.key",
    secret: false,
  },
  {
    name: "SP_CERT_FILE",
    description: "Path of a file holding SP_CERT (instead of SP_CERT)",
    type: "path",
    example: "/etc/gatehouse/sp.crt",
    secret: false,
  },
  {
    name: "SAML_ENTRYPOINT",
    description:
      "Single-server setup: the IdP's login URL (Entra: Login URL). Set with SAML_CERT, then run `gatehouse init`",
    type: "https URL",
    example: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/saml2",
    secret: false,
    aliases: ["XC_SAML_ENTRYPOINT"],
  },
  {
    name: "SAML_CERT",
    description:
      "Single-server setup: the IdP's signing certificate (Entra: Certificate (Base64)); one line, armour, quotes or \\n escapes all accepted",
    type: "certificate text",
    example: "MIIC8DCCAdigAwIBAgIQ...",
    secret: false,
    aliases: ["XC_SAML_CERT"],
  },
  {
    name: "SAML_ISSUER",
    description: "Our SP entity ID (Entra: Identifier); must be a URI",
    type: "URI",
    default: "PUBLIC_URL",
    example: "https://sso.example.com",
    secret: false,
    aliases: ["XC_SAML_ISSUER"],
  },
  {
    name: "SAML_IDP_ENTITY_ID",
    description:
      "The IdP's entity ID (Entra: Microsoft Entra Identifier); derived from an Entra SAML_ENTRYPOINT when absent",
    type: "URI",
    default: "https://sts.windows.net/TENANT/ for an Entra login URL",
    example: "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
    secret: false,
  },
  {
    name: "SAML_LOGOUT_URL",
    description: "Single-server setup: the IdP's logout URL (Entra: Logout URL), for Single Logout",
    type: "https URL",
    example: "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/saml2",
    secret: false,
    aliases: ["XC_SAML_LOGOUT_URL"],
  },
  {
    name: "SAML_MULTI_USER_FIELD",
    description:
      "Single-server setup: the claim shared by several app users of one person (multi-login), e.g. a custom ssoid claim",
    type: "claim name",
    example: "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    secret: false,
    aliases: ["XC_SAML_MULTI_USER_FIELD"],
  },
  {
    name: "SAML_ACCOUNT",
    description:
      "Name of the default account: the one `gatehouse init` configures and whose Login with SAML button the login page shows",
    type: "account name",
    default: "default",
    example: "acme",
    secret: false,
  },
  {
    name: "MOCK_IDP",
    description: "Mount the built-in mock IdP (demo only; refused in production)",
    type: "on \\| off",
    default: "on in demo, off in production",
    example: "off",
    secret: false,
  },
  {
    name: "LOG_LEVEL",
    description: "Log verbosity",
    type: "fatal \\| error \\| warn \\| info \\| debug \\| trace \\| silent",
    default: "info",
    example: "debug",
    secret: false,
  },
  {
    name: "TRUST_PROXY",
    description:
      "Trust X-Forwarded-* headers: `true` for any proxy, or the number of proxy hops in front of Gatehouse",
    type: "false \\| true \\| integer",
    default: "false",
    example: "1",
    secret: false,
  },
];

/** The README's configuration table, generated from VARIABLES. */
export function configReference(): string {
  const rows = VARIABLES.map((v) => {
    const name = [v.name, ...(v.aliases ?? [])].map((n) => `\`${n}\``).join("<br>");
    return `| ${name} | ${v.description} | ${v.type} | ${v.default ?? ""} | \`${v.example}\` | ${v.secret ? "yes" : ""} |`;
  });
  return [
    "| Variable | What it sets | Type | Default | Example | Secret |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rows,
    "",
  ].join("\n");
}

export type Mode = "demo" | "production";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export type DatabaseConfig =
  | { readonly kind: "sqlite"; readonly path: string }
  | { readonly kind: "postgres"; readonly url: string };

export interface CertificateInfo {
  readonly base64: string;
  readonly pem: string;
  readonly fingerprint256: string;
  readonly subject: string;
  readonly notBefore: string;
  readonly notAfter: string;
}

/** The single-server shortcut (XCALLY): one connection for the default account. */
export interface SamlShortcut {
  readonly entryPoint: string;
  readonly certificate: CertificateInfo;
  readonly idpEntityId: string;
  readonly logoutUrl?: string;
  readonly multiUserField?: string;
}

export interface Config {
  readonly mode: Mode;
  readonly port: number;
  readonly host: string;
  /** External base URL, no trailing slash, no path. */
  readonly publicUrl: string;
  readonly domain?: string;
  /** Entra's "Reply URL": fixed by the XCALLY page. */
  readonly acsUrl: string;
  /** Entra's "Logout URL". */
  readonly sloUrl: string;
  readonly loginUrl: string;
  /** Our SP entity ID (Entra's "Identifier"): SAML_ISSUER, else PUBLIC_URL. */
  readonly spEntityId: string;
  readonly database: DatabaseConfig;
  readonly mail: { readonly smtpUrl?: string; readonly outboxDir: string; readonly from: string };
  readonly session: {
    readonly secret: string;
    /** True when no SESSION_SECRET was given (demo): sessions do not survive a restart. */
    readonly secretGenerated: boolean;
    readonly idleMinutes: number;
    readonly absoluteHours: number;
  };
  readonly adminToken: string;
  /** True when no ADMIN_TOKEN was given (demo): the CLI shows the generated one once. */
  readonly adminTokenGenerated: boolean;
  readonly loginRequestTtlMinutes: number;
  readonly clockSkewSeconds: number;
  readonly spKey?: { readonly privateKeyPem: string; readonly certificate: CertificateInfo };
  /** The account `gatehouse init` configures and the login page's SAML button uses. */
  readonly defaultAccount: string;
  readonly saml?: SamlShortcut;
  readonly mockIdp: boolean;
  readonly logLevel: LogLevel;
  readonly trustProxy: boolean | number;
  /** Things that work but deserve a look; printed at start and by `check-config`. */
  readonly warnings: readonly string[];
}

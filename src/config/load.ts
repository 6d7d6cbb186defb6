/**
 * The one place the environment is read. Everything is validated once, at start; every problem
 * is collected and reported together in one ConfigError (each naming the variable, what is
 * wrong and how to fix it); the result is deep-frozen. No module state: the caller passes the
 * environment (the CLI passes process.env).
 */

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import { parseEnv } from "node:util";
import { keyMatchesCertificate, readCertificateText, readPrivateKeyText } from "./pem.ts";
import {
  type CertificateInfo,
  type Config,
  type DatabaseConfig,
  type LogLevel,
  type Mode,
  type SamlShortcut,
  VARIABLES,
} from "./schema.ts";

export class ConfigError extends Error {
  readonly problems: readonly string[];
  /** Found along the way; `check-config` prints them with the problems. */
  readonly warnings: readonly string[];
  constructor(problems: readonly string[], warnings: readonly string[] = []) {
    const n = problems.length;
    super(
      `The configuration has ${n} problem${n === 1 ? "" : "s"}:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "ConfigError";
    this.problems = Object.freeze([...problems]);
    this.warnings = Object.freeze([...warnings]);
  }
}

export interface LoadOptions {
  /** Where `.env`, relative paths and SP_*_FILE are resolved; default: the process's cwd. */
  readonly cwd?: string;
  /** Read `<cwd>/.env` (default true). Real environment variables win over it. */
  readonly dotenv?: boolean;
  /** The instant certificate expiry is judged against (default: now). */
  readonly now?: Date;
}

/** The paths fixed by the XCALLY page (shared/seeds/000): Reply URL and Logout URL. */
export const ACS_PATH = "/api/auth/saml/callback";
export const SLO_PATH = "/api/auth/saml/logout/callback";
export const LOGIN_PATH = "/login";

const SECRET_MIN = 32;
const GENERATE = "generate one with: openssl rand -base64 32";
const LOG_LEVELS: readonly LogLevel[] = [
  "fatal",
  "error",
  "warn",
  "info",
  "debug",
  "trace",
  "silent",
];
const HOSTNAME =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;
/** As src/domain/admin.ts requires of account names (config imports no other layer). */
const ACCOUNT_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/i;
const ENTRA_LOGIN_URL =
  /^https:\/\/login\.microsoftonline\.com\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\/saml2\/?$/i;
const ABSOLUTE_URI = /^[a-z][a-z0-9+.-]*:\S+$/i;

interface Setting {
  /** The name it was found under (an alias such as XC_SAML_CERT, or the canonical name). */
  readonly name: string;
  readonly value: string;
}

export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  options: LoadOptions = {},
): Config {
  const cwd = options.cwd ?? process.cwd();
  const now = options.now ?? new Date();
  const problems: string[] = [];
  const warnings: string[] = [];
  const fail = (name: string, what: string, fix: string) =>
    problems.push(`${name}: ${what}. ${capitalize(fix)}.`);

  const vars = mergedVariables(env, options.dotenv === false ? undefined : cwd, problems);
  const get = settingReader(vars, problems);

  // Mode first: what is required depends on it.
  const nodeEnv = get("NODE_ENV")?.value;
  let mode: Mode = nodeEnv === "production" ? "production" : "demo";
  const modeSetting = get("GATEHOUSE_MODE");
  if (modeSetting !== undefined) {
    const m = modeSetting.value.toLowerCase();
    if (m !== "demo" && m !== "production") {
      fail(modeSetting.name, `"${modeSetting.value}" is not a mode`, "use demo or production");
    } else if (m === "demo" && nodeEnv === "production") {
      fail(
        modeSetting.name,
        "demo contradicts NODE_ENV=production (demo mode mounts a mock IdP anyone can sign in through)",
        "remove GATEHOUSE_MODE, or set GATEHOUSE_MODE=production",
      );
      mode = "production";
    } else {
      mode = m;
    }
  }
  const production = mode === "production";

  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const s = get(name);
    if (s === undefined) return fallback;
    const n = /^\d+$/.test(s.value) ? Number(s.value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      fail(
        s.name,
        `"${s.value}" is not a whole number from ${min} to ${max}`,
        `remove it to use ${fallback}, or give a number in that range`,
      );
      return fallback;
    }
    return n;
  };

  // Where it listens, and where the world reaches it.
  const port = integer("PORT", 3000, 1, 65535);
  let host = "127.0.0.1";
  const hostSetting = get("HOST");
  if (hostSetting !== undefined) {
    if (isIP(hostSetting.value) !== 0 || HOSTNAME.test(hostSetting.value)) host = hostSetting.value;
    else
      fail(
        hostSetting.name,
        `"${hostSetting.value}" is not an IP address or host name`,
        "use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)",
      );
  }

  const problemsBeforeUrl = problems.length;
  const domain = readDomain(get("DOMAIN"), fail);
  const publicUrl = readPublicUrl(get("PUBLIC_URL"), domain, port, fail);
  // (Not when DOMAIN or PUBLIC_URL was refused: the localhost fallback is then no one's choice.)
  if (production && isLocalUrl(publicUrl) && problems.length === problemsBeforeUrl) {
    warnings.push(
      `PUBLIC_URL is ${publicUrl} in production mode: IdPs and browsers elsewhere cannot reach it; set DOMAIN or PUBLIC_URL to the external address.`,
    );
  }

  const database = readDatabase(get("DATABASE_URL"), cwd, fail);

  // Mail.
  let smtpUrl: string | undefined;
  const smtp = get("SMTP_URL");
  if (smtp !== undefined) {
    const u = parseUrl(smtp.value);
    if (
      u === undefined ||
      (u.protocol !== "smtp:" && u.protocol !== "smtps:") ||
      u.hostname === ""
    ) {
      fail(
        smtp.name,
        "it is not an smtp:// or smtps:// URL with a host",
        "write it as smtp://user:password@host:587 (STARTTLS) or smtps://user:password@host:465, or remove it to write mail to MAIL_OUTBOX_DIR",
      );
    } else {
      smtpUrl = smtp.value;
    }
  }
  const outboxDir = resolve(cwd, get("MAIL_OUTBOX_DIR")?.value ?? "./data/outbox");
  const defaultFrom = `Gatehouse <gatehouse@${domain === undefined ? "localhost" : domain.replace(/:\d+$/, "")}>`;
  let from = defaultFrom;
  const fromSetting = get("MAIL_FROM");
  if (fromSetting !== undefined) {
    if (/^(?:[^<>\r\n]*<[^<>\s@]+@[^<>\s@]+>|[^<>\s@]+@[^<>\s@]+)$/.test(fromSetting.value)) {
      from = fromSetting.value;
    } else {
      fail(
        fromSetting.name,
        `"${fromSetting.value}" is not a mail address`,
        'write it as sso@example.com or "Example SSO <sso@example.com>"',
      );
    }
  }

  // Secrets: required in production, generated for this run in demo.
  const secret = (name: string, purpose: string): { value: string; generated: boolean } => {
    const s = get(name);
    if (s !== undefined) {
      if (s.value.length < SECRET_MIN) {
        fail(
          s.name,
          `it is ${s.value.length} characters long, too short to resist guessing`,
          `use at least ${SECRET_MIN} random characters; ${GENERATE}`,
        );
      }
      return { value: s.value, generated: false };
    }
    if (production) fail(name, `it is required in production (${purpose})`, GENERATE);
    return { value: randomBytes(32).toString("base64url"), generated: true };
  };
  const sessionSecret = secret("SESSION_SECRET", "it keys the session cookies");
  if (sessionSecret.generated && !production) {
    warnings.push(
      "SESSION_SECRET is not set: a random one was generated for this run, so sessions end when Gatehouse restarts.",
    );
  }
  const adminToken = secret("ADMIN_TOKEN", "it guards the admin API");
  if (adminToken.generated && !production) {
    warnings.push(
      "ADMIN_TOKEN is not set: a random one was generated for this run (shown once at start).",
    );
  }
  if (
    !sessionSecret.generated &&
    !adminToken.generated &&
    sessionSecret.value === adminToken.value
  ) {
    fail("ADMIN_TOKEN", "it is the same as SESSION_SECRET", "give each its own random value");
  }

  const idleMinutes = integer("SESSION_IDLE_MINUTES", 60, 1, 10080);
  const absoluteHours = integer("SESSION_ABSOLUTE_HOURS", 12, 1, 720);
  if (idleMinutes > absoluteHours * 60) {
    warnings.push(
      `SESSION_IDLE_MINUTES (${idleMinutes}) is longer than SESSION_ABSOLUTE_HOURS (${absoluteHours} h): the absolute limit always ends sessions first.`,
    );
  }
  const loginRequestTtlMinutes = integer("LOGIN_REQUEST_TTL_MINUTES", 10, 1, 60);
  const clockSkewSeconds = integer("CLOCK_SKEW_SECONDS", 180, 0, 600);

  const spKey = readSpKey(get, cwd, now, fail, warnings);

  const accountSetting = get("SAML_ACCOUNT");
  let defaultAccount = "default";
  if (accountSetting !== undefined) {
    if (ACCOUNT_NAME.test(accountSetting.value)) defaultAccount = accountSetting.value;
    else
      fail(
        accountSetting.name,
        `"${accountSetting.value}" is not an account name`,
        "use 1-63 letters, digits, dots, dashes or underscores, starting with a letter or digit",
      );
  }

  let spEntityId = publicUrl;
  const issuer = get("SAML_ISSUER");
  if (issuer !== undefined) {
    if (ABSOLUTE_URI.test(issuer.value)) spEntityId = issuer.value;
    else
      fail(
        issuer.name,
        `"${issuer.value}" is not a URI`,
        "Entra requires the Identifier to be a URI: use e.g. the PUBLIC_URL, or urn:example:sso",
      );
  }

  const saml = readSamlShortcut(get, now, fail, warnings);

  // The mock IdP: demo only.
  let mockIdp = !production;
  const mock = get("MOCK_IDP");
  if (mock !== undefined) {
    const on = readBoolean(mock.value);
    if (on === undefined) fail(mock.name, `"${mock.value}" is not on or off`, "use on or off");
    else if (on && production) {
      fail(
        mock.name,
        "the mock IdP signs in anyone as anyone, and production mode never mounts it",
        "remove MOCK_IDP, or run in demo mode (GATEHOUSE_MODE=demo) on a machine of your own",
      );
    } else mockIdp = on;
  }

  let logLevel: LogLevel = "info";
  const level = get("LOG_LEVEL");
  if (level !== undefined) {
    const l = LOG_LEVELS.find((x) => x === level.value.toLowerCase());
    if (l === undefined)
      fail(
        level.name,
        `"${level.value}" is not a log level`,
        `use one of ${LOG_LEVELS.join(", ")}`,
      );
    else logLevel = l;
  }

  let trustProxy: boolean | number = false;
  const proxy = get("TRUST_PROXY");
  if (proxy !== undefined) {
    const b = readBoolean(proxy.value);
    if (b !== undefined) trustProxy = b;
    else if (/^\d+$/.test(proxy.value) && Number(proxy.value) <= 32) {
      trustProxy = Number(proxy.value) === 0 ? false : Number(proxy.value);
    } else {
      fail(
        proxy.name,
        `"${proxy.value}" is neither true/false nor a hop count`,
        "use false (no proxy), true (trust any), or the number of proxies in front of Gatehouse, e.g. 1",
      );
    }
  }

  warnings.push(...unknownVariableWarnings(vars));

  if (problems.length > 0) throw new ConfigError(problems, warnings);

  const config: Config = {
    mode,
    port,
    host,
    publicUrl,
    ...(domain === undefined ? {} : { domain }),
    acsUrl: publicUrl + ACS_PATH,
    sloUrl: publicUrl + SLO_PATH,
    loginUrl: publicUrl + LOGIN_PATH,
    spEntityId,
    database,
    mail: { ...(smtpUrl === undefined ? {} : { smtpUrl }), outboxDir, from },
    session: {
      secret: sessionSecret.value,
      secretGenerated: sessionSecret.generated,
      idleMinutes,
      absoluteHours,
    },
    adminToken: adminToken.value,
    adminTokenGenerated: adminToken.generated,
    loginRequestTtlMinutes,
    clockSkewSeconds,
    ...(spKey === undefined ? {} : { spKey }),
    defaultAccount,
    ...(saml === undefined ? {} : { saml }),
    mockIdp,
    logLevel,
    trustProxy,
    warnings,
  };
  return deepFreeze(config);
}

const REDACTED = "[redacted]";

/** A copy safe to log: secrets replaced by "[redacted]", passwords removed from URLs. */
export function redacted(config: Config): Config {
  return {
    ...config,
    database:
      config.database.kind === "postgres"
        ? { kind: "postgres", url: redactUrl(config.database.url) }
        : config.database,
    mail: {
      ...config.mail,
      ...(config.mail.smtpUrl === undefined ? {} : { smtpUrl: redactUrl(config.mail.smtpUrl) }),
    },
    session: { ...config.session, secret: REDACTED },
    adminToken: REDACTED,
    ...(config.spKey === undefined ? {} : { spKey: { ...config.spKey, privateKeyPem: REDACTED } }),
  };
}

/** scheme://user:[redacted]@host/path?password=[redacted] */
export function redactUrl(url: string): string {
  const u = parseUrl(url);
  if (u === undefined) return REDACTED;
  const user = u.username;
  const auth = u.password === "" ? (user === "" ? "" : `${user}@`) : `${user}:${REDACTED}@`;
  const params = [...u.searchParams].map(([k, v]) =>
    /pass|secret|token|key/i.test(k) ? `${k}=${REDACTED}` : `${k}=${v}`,
  );
  const query = params.length === 0 ? "" : `?${params.join("&")}`;
  return `${u.protocol}//${auth}${u.host}${u.pathname === "/" ? "" : u.pathname}${query}`;
}

// ---------------------------------------------------------------------------------------------

type Fail = (name: string, what: string, fix: string) => void;
type Get = (name: string) => Setting | undefined;

/** The .env file under the real environment (a variable set in the environment wins, even empty). */
function mergedVariables(
  env: Readonly<Record<string, string | undefined>>,
  dotenvDir: string | undefined,
  problems: string[],
): Record<string, string> {
  const merged: Record<string, string> = {};
  if (dotenvDir !== undefined) {
    const path = resolve(dotenvDir, ".env");
    let text: string | undefined;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") {
        problems.push(
          `.env: ${path} cannot be read (${(e as Error).message}). Fix its permissions or remove it.`,
        );
      }
    }
    if (text !== undefined) Object.assign(merged, parseEnv(text));
  }
  for (const [k, v] of Object.entries(env)) if (v !== undefined) merged[k] = v;
  return merged;
}

/** Reads a variable under its name or an alias; blank counts as unset. */
function settingReader(vars: Readonly<Record<string, string>>, problems: string[]): Get {
  const specs = new Map(VARIABLES.map((v) => [v.name, v]));
  return (name) => {
    const found: Setting[] = [];
    for (const n of [name, ...(specs.get(name)?.aliases ?? [])]) {
      const v = vars[n]?.trim();
      if (v !== undefined && v !== "") found.push({ name: n, value: v });
    }
    const [first, ...rest] = found;
    const differing = rest.find((s) => s.value !== first?.value);
    if (first !== undefined && differing !== undefined) {
      problems.push(
        `${first.name}: ${differing.name} is also set, to a different value. Keep only one of them.`,
      );
    }
    return first;
  };
}

function readDomain(s: Setting | undefined, fail: Fail): string | undefined {
  if (s === undefined) return undefined;
  const value = s.value.toLowerCase();
  if (value.includes("*")) {
    fail(
      s.name,
      `"${s.value}" is a wildcard. Entra's Reply URL must be one exact host; use the exact host, e.g. ${value.replace(/^\*\.?/, "test1234.").replaceAll("*", "test1234")}`,
      "set DOMAIN to the host name users type in their browser",
    );
    return undefined;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(value)) {
    fail(
      s.name,
      `"${s.value}" is a URL, but DOMAIN is a host name`,
      "write only the host, e.g. sso.example.com (or set PUBLIC_URL to the full base URL instead)",
    );
    return undefined;
  }
  const m = /^([^:/]+)(?::(\d{1,5}))?$/.exec(value);
  const host = m?.[1];
  const port = m?.[2] === undefined ? undefined : Number(m[2]);
  if (
    host === undefined ||
    !(HOSTNAME.test(host) || isIP(host) === 4) ||
    (port !== undefined && (port < 1 || port > 65535))
  ) {
    fail(
      s.name,
      `"${s.value}" is not a host name with an optional port`,
      "write it as sso.example.com or sso.example.com:8443, without scheme or path",
    );
    return undefined;
  }
  return value;
}

function readPublicUrl(
  s: Setting | undefined,
  domain: string | undefined,
  port: number,
  fail: Fail,
): string {
  const fallback = domain === undefined ? `http://localhost:${port}` : `https://${domain}`;
  if (s === undefined) return fallback;
  const u = parseUrl(s.value);
  const example = "e.g. https://sso.example.com";
  if (u === undefined || (u.protocol !== "https:" && u.protocol !== "http:")) {
    fail(s.name, `"${s.value}" is not an http(s) URL`, `give the external base URL, ${example}`);
    return fallback;
  }
  if (u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "") {
    fail(
      s.name,
      "it carries credentials, a query or a fragment",
      `give only scheme, host and port, ${example}`,
    );
    return fallback;
  }
  if (u.pathname !== "/") {
    fail(
      s.name,
      `it has a path (${u.pathname}), but Gatehouse's paths (${ACS_PATH}, ${LOGIN_PATH}) sit at the root of its host`,
      `give only scheme, host and port, ${example}, and serve Gatehouse on its own host name`,
    );
    return fallback;
  }
  if (u.protocol === "http:" && !isLocalUrl(u.origin)) {
    fail(
      s.name,
      `it uses http for ${u.hostname}; IdPs post assertions only to https outside localhost`,
      `use https://${u.host} (behind a TLS-terminating proxy, with TRUST_PROXY set)`,
    );
    return fallback;
  }
  if (domain !== undefined && u.host !== domain) {
    fail(
      s.name,
      `its host ${u.host} differs from DOMAIN (${domain})`,
      "set only one of them, or make them name the same host",
    );
    return fallback;
  }
  return u.origin;
}

function readDatabase(s: Setting | undefined, cwd: string, fail: Fail): DatabaseConfig {
  const sqlite = (path: string): DatabaseConfig => ({
    kind: "sqlite",
    path: path === ":memory:" ? path : resolve(cwd, path),
  });
  if (s === undefined) return sqlite("./data/gatehouse.db");
  const v = s.value;
  if (/^postgres(?:ql)?:\/\//i.test(v)) {
    const u = parseUrl(v);
    if (u === undefined || u.hostname === "") {
      fail(
        s.name,
        "it is not a valid PostgreSQL URL",
        "write it as postgres://user:password@host:5432/database (percent-encode special characters in the password)",
      );
    }
    return { kind: "postgres", url: v };
  }
  const prefixed = /^(?:sqlite|file):(?:\/\/)?(.*)$/i.exec(v);
  if (prefixed !== null) {
    const path = prefixed[1]!;
    if (path === "")
      fail(s.name, "it names no SQLite file", "write it as sqlite:./data/gatehouse.db");
    return sqlite(path === "" ? "./data/gatehouse.db" : path);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(v)) {
    fail(
      s.name,
      `the scheme ${v.slice(0, v.indexOf(":"))} is not supported`,
      "use postgres://... for PostgreSQL, or a file path (sqlite:PATH) for SQLite",
    );
    return sqlite("./data/gatehouse.db");
  }
  return sqlite(v);
}

function readSpKey(
  get: Get,
  cwd: string,
  now: Date,
  fail: Fail,
  warnings: string[],
): Config["spKey"] {
  // undefined: not given; null: given but unusable (already reported).
  const text = (inline: string, fileVar: string): Setting | undefined | null => {
    const direct = get(inline);
    const file = get(fileVar);
    if (direct !== undefined && file !== undefined) {
      fail(inline, `both ${inline} and ${fileVar} are set`, "keep one of them");
      return null;
    }
    if (file === undefined) return direct;
    const path = resolve(cwd, file.value);
    try {
      return { name: `${fileVar} (${path})`, value: readFileSync(path, "utf8") };
    } catch (e) {
      fail(
        fileVar,
        `${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
        "check the path and that Gatehouse's user may read it",
      );
      return null;
    }
  };
  const keyText = text("SP_KEY", "SP_KEY_FILE");
  const certText = text("SP_CERT", "SP_CERT_FILE");
  if (keyText === null || certText === null) return undefined;
  if (keyText === undefined && certText === undefined) return undefined;
  if (keyText === undefined || certText === undefined) {
    const missing = keyText === undefined ? "SP_KEY (or SP_KEY_FILE)" : "SP_CERT (or SP_CERT_FILE)";
    const present = keyText === undefined ? "SP_CERT" : "SP_KEY";
    fail(
      missing,
      `it is missing, but ${present} is set: the key and its certificate go together`,
      `set ${missing.split(" ")[0]} too, or remove ${present}`,
    );
    return undefined;
  }
  const key = readPrivateKeyText(keyText.value);
  if (!key.ok) fail(keyText.name, key.reason, "give the PEM of an unencrypted RSA private key");
  const cert = readCertificateText(certText.value);
  if (!cert.ok) fail(certText.name, cert.reason, "give the PEM of the certificate made for SP_KEY");
  if (!key.ok || !cert.ok) return undefined;
  if (!keyMatchesCertificate(key.value.key, cert.value.base64)) {
    fail(
      "SP_KEY",
      "it does not belong to SP_CERT (their public keys differ)",
      "give the certificate made for this key, or the key this certificate was made for",
    );
    return undefined;
  }
  if (Date.parse(cert.value.notAfter) <= now.getTime()) {
    warnings.push(
      `SP_CERT expired on ${cert.value.notAfter}; some IdPs refuse an expired SP certificate: issue a new one and update the IdP.`,
    );
  }
  return { privateKeyPem: key.value.pem, certificate: certificateInfo(cert.value) };
}

function readSamlShortcut(
  get: Get,
  now: Date,
  fail: Fail,
  warnings: string[],
): SamlShortcut | undefined {
  const entry = get("SAML_ENTRYPOINT");
  const certSetting = get("SAML_CERT");
  const idpEntity = get("SAML_IDP_ENTITY_ID");
  const logout = get("SAML_LOGOUT_URL");
  const multi = get("SAML_MULTI_USER_FIELD");

  if (entry === undefined || certSetting === undefined) {
    const missing = [
      entry === undefined ? "SAML_ENTRYPOINT" : undefined,
      certSetting === undefined ? "SAML_CERT" : undefined,
    ].filter((x) => x !== undefined);
    const present = [entry, certSetting, idpEntity, logout, multi]
      .filter((x) => x !== undefined)
      .map((x) => x.name);
    if (present.length > 0) {
      fail(
        missing.join(", "),
        `${missing.length === 1 ? "it is" : "they are"} missing, but ${present.join(", ")} ${present.length === 1 ? "is" : "are"} set: the single-server setup needs both SAML_ENTRYPOINT (Entra: Login URL) and SAML_CERT (Entra: Certificate (Base64))`,
        `set ${missing.join(" and ")}, or remove ${present.join(", ")}`,
      );
    }
  }

  const entryPoint = entry === undefined ? undefined : readIdpUrl(entry, fail);
  const logoutUrl = logout === undefined ? undefined : readIdpUrl(logout, fail);

  let certificate: CertificateInfo | undefined;
  if (certSetting !== undefined) {
    const c = readCertificateText(certSetting.value);
    if (!c.ok) {
      fail(
        certSetting.name,
        c.reason,
        "paste the whole certificate Entra gives under SAML Certificates, Certificate (Base64): one line, or with its BEGIN/END lines",
      );
    } else {
      certificate = certificateInfo(c.value);
      if (Date.parse(c.value.notAfter) <= now.getTime()) {
        warnings.push(
          `${certSetting.name}: the certificate expired on ${c.value.notAfter}. Entra keeps signing with an expired active certificate, so logins still work, but rotate it: create a new certificate in Entra, make it active, and update ${certSetting.name}.`,
        );
      } else if (Date.parse(c.value.notBefore) > now.getTime()) {
        warnings.push(
          `${certSetting.name}: the certificate is valid only from ${c.value.notBefore}; check this machine's clock.`,
        );
      }
    }
  }

  let idpEntityId: string | undefined;
  if (idpEntity !== undefined) {
    if (ABSOLUTE_URI.test(idpEntity.value)) idpEntityId = idpEntity.value;
    else
      fail(
        idpEntity.name,
        `"${idpEntity.value}" is not a URI`,
        "copy the IdP's entity ID (Entra: Microsoft Entra Identifier, https://sts.windows.net/<tenant>/)",
      );
  } else if (entryPoint !== undefined) {
    const tenant = ENTRA_LOGIN_URL.exec(entryPoint)?.[1];
    if (tenant !== undefined) idpEntityId = `https://sts.windows.net/${tenant.toLowerCase()}/`;
    else {
      fail(
        "SAML_IDP_ENTITY_ID",
        "it is required because SAML_ENTRYPOINT is not an Entra login URL (https://login.microsoftonline.com/<tenant>/saml2) to derive it from",
        "copy the IdP's entity ID from its metadata (the entityID attribute)",
      );
    }
  }

  if (multi !== undefined && /\s/.test(multi.value)) {
    fail(
      multi.name,
      `"${multi.value}" contains spaces, and claim names do not`,
      "copy the claim name as the IdP sends it, e.g. http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    );
  }

  if (entryPoint === undefined || certificate === undefined || idpEntityId === undefined)
    return undefined;
  return {
    entryPoint,
    certificate,
    idpEntityId,
    ...(logoutUrl === undefined ? {} : { logoutUrl }),
    ...(multi === undefined ? {} : { multiUserField: multi.value }),
  };
}

function readIdpUrl(s: Setting, fail: Fail): string | undefined {
  const u = parseUrl(s.value);
  if (u === undefined || (u.protocol !== "https:" && u.protocol !== "http:")) {
    fail(
      s.name,
      `"${s.value}" is not a URL`,
      "copy it from the IdP (Entra: Set up <app>, Login URL / Logout URL)",
    );
    return undefined;
  }
  if (u.protocol === "http:" && !isLocalUrl(u.origin)) {
    fail(
      s.name,
      `it uses http for ${u.hostname}`,
      "use the https URL the IdP gives (http is accepted only for localhost)",
    );
    return undefined;
  }
  return s.value;
}

function certificateInfo(c: CertificateInfo): CertificateInfo {
  return {
    base64: c.base64,
    pem: c.pem,
    fingerprint256: c.fingerprint256,
    subject: c.subject,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
  };
}

/** Names that look like ours but are not (typos such as SAML_ENTRY_POINT are otherwise silent). */
function unknownVariableWarnings(vars: Readonly<Record<string, string>>): string[] {
  const known = VARIABLES.flatMap((v) => [v.name, ...(v.aliases ?? [])]);
  const ours = /^(?:GATEHOUSE_|SAML_|XC_SAML_|SP_|SMTP_|MAIL_|SESSION_|ADMIN_)/;
  const out: string[] = [];
  for (const name of Object.keys(vars).sort()) {
    if (!ours.test(name) || known.includes(name)) continue;
    const nearest = known
      .map((k) => ({ k, d: editDistance(k, name) }))
      .sort((a, b) => a.d - b.d)[0];
    const hint = nearest !== undefined && nearest.d <= 3 ? ` Did you mean ${nearest.k}?` : "";
    out.push(`${name} is not a Gatehouse setting and is ignored.${hint}`);
  }
  return out;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(
        prev[j]! + 1,
        cur[j - 1]! + 1,
        prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function readBoolean(v: string): boolean | undefined {
  const s = v.toLowerCase();
  if (["on", "true", "yes", "1"].includes(s)) return true;
  if (["off", "false", "no", "0"].includes(s)) return false;
  return undefined;
}

function parseUrl(s: string): URL | undefined {
  try {
    return new URL(s);
  } catch {
    return undefined;
  }
}

function isLocalUrl(origin: string): boolean {
  const h = parseUrl(origin)?.hostname;
  return h === "localhost" || h === "127.0.0.1" || h === "[::1]";
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

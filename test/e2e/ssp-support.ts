// SimpleSAMLphp, the Debian package (bookworm 1.19.7), as a real third-party IdP for end-to-end
// tests: PHP's built-in web server on 127.0.0.1 serving the package's www/ directory, configured
// entirely from a temp dir through SIMPLESAMLPHP_CONFIG_DIR (nothing under /etc is read or
// written). Gatehouse's SP metadata, as renderSpMetadata writes it, is loaded by SimpleSAMLphp's
// own XML metadata source: SimpleSAMLphp reads what we publish, we read what it publishes.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/** Where Debian puts SimpleSAMLphp (dpkg -L simplesamlphp); www/ is the document root. */
export const SSP_HOME = "/usr/share/simplesamlphp";
export const SSP_WWW = join(SSP_HOME, "www");

export const EMAIL_ADDRESS = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress";
const RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/** Why SimpleSAMLphp cannot run here, or undefined when php, its DOM extension and the package are present. */
export function sspMissing(): string | undefined {
  const missing: string[] = [];
  let php = true;
  try {
    execFileSync("php", ["-r", 'exit(extension_loaded("dom") ? 0 : 3);'], { stdio: "ignore" });
  } catch (e) {
    php = false;
    missing.push(
      (e as { status?: number }).status === 3 ? "php's DOM extension (php-xml)" : "php (php-cli)",
    );
  }
  if (!existsSync(join(SSP_WWW, "module.php"))) missing.push(`simplesamlphp (${SSP_WWW})`);
  if (missing.length === 0 && php) return undefined;
  return `missing: ${missing.join(", ")}. Run scripts/setup-system.sh as root (npm test runs it first; CI installs them), or set GATEHOUSE_SKIP_SSP=1 to skip this test.`;
}

/** A port free on 127.0.0.1 right now (the servers are then started on it; a clash fails loudly). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** A PHP single-quoted string literal. */
function php(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A PHP array literal of strings and nested arrays. */
function phpArray(value: unknown, indent = ""): string {
  if (typeof value === "string") return php(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null) return "null";
  if (Array.isArray(value))
    return `[${value.map((v) => `\n${indent}  ${phpArray(v, `${indent}  `)},`).join("")}\n${indent}]`;
  const entries = Object.entries(value as Record<string, unknown>);
  return `[${entries.map(([k, v]) => `\n${indent}  ${php(k)} => ${phpArray(v, `${indent}  `)},`).join("")}\n${indent}]`;
}

export interface SspUser {
  readonly username: string;
  readonly password: string;
  /** Attribute name to values, released as Attributes with NameFormat basic. */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

export interface SspOptions {
  /** A temp dir of the test's own; config, keys, sessions and logs go under it. */
  readonly dir: string;
  readonly port: number;
  readonly users: readonly SspUser[];
  /** The attribute whose value is sent as the emailAddress NameID (saml:AttributeNameID). */
  readonly nameIdAttribute: string;
  /** host:port values SimpleSAMLphp may send the browser back to (ReturnTo), besides itself. */
  readonly trustedDomains?: readonly string[];
}

export interface SspIdp {
  readonly baseUrl: string;
  readonly entityId: string;
  readonly metadataUrl: string;
  /** The IdP's signing certificate, PEM. */
  readonly certificatePem: string;
  /**
   * Registers an SP from its SAML metadata XML (Gatehouse's, as its metadata endpoint serves
   * it), read by SimpleSAMLphp's own XML metadata source on every request.
   */
  setSpMetadata(xml: string): void;
  /** SimpleSAMLphp's log and PHP's server output so far, their ends (for failure messages). */
  logs(): string;
  /** SimpleSAMLphp's whole log file so far. */
  sspLog(): string;
  stop(): Promise<void>;
}

/**
 * Generates the IdP's key pair (openssl), writes config.php, authsources.php, the hosted IdP's
 * metadata and the router script, starts `php -S 127.0.0.1:<port>` and waits until its metadata
 * answers. The caller must stop() it (in a finally / after hook).
 */
export async function startSsp(o: SspOptions): Promise<SspIdp> {
  const baseUrl = `http://127.0.0.1:${o.port}/`;
  const entityId = `${baseUrl}saml2/idp/metadata.php`;
  const paths = {
    config: join(o.dir, "config"),
    metadata: join(o.dir, "config", "metadata"),
    cert: join(o.dir, "cert"),
    log: join(o.dir, "log"),
    data: join(o.dir, "data"),
    tmp: join(o.dir, "tmp"),
    sessions: join(o.dir, "sessions"),
  };
  for (const p of Object.values(paths)) mkdirSync(p, { recursive: true });

  const key = join(paths.cert, "idp.key");
  const crt = join(paths.cert, "idp.crt");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-sha256",
      "-days",
      "2",
      "-subj",
      "/CN=SimpleSAMLphp e2e IdP",
      "-keyout",
      key,
      "-out",
      crt,
    ],
    { stdio: "ignore" },
  );
  const spXml = join(paths.config, "sp-metadata.xml");
  const setSpMetadata = (xml: string) => writeFileSync(spXml, xml);
  setSpMetadata(`<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>\n`);

  const config = {
    baseurlpath: baseUrl,
    certdir: `${paths.cert}/`,
    loggingdir: `${paths.log}/`,
    datadir: `${paths.data}/`,
    tempdir: paths.tmp,
    technicalcontact_name: "Gatehouse e2e",
    technicalcontact_email: "admin@ssp.test",
    timezone: "UTC",
    secretsalt: randomBytes(24).toString("hex"),
    "auth.adminpassword": randomBytes(24).toString("hex"),
    "admin.protectindexpage": true,
    "admin.protectmetadata": false,
    "admin.checkforupdates": false,
    "trusted.url.domains": [`127.0.0.1:${o.port}`, ...(o.trustedDomains ?? [])],
    "enable.saml20-idp": true,
    "enable.shib13-idp": false,
    "enable.adfs-idp": false,
    "module.enable": { core: true, saml: true, admin: true, exampleauth: true },
    showerrors: true,
    errorreporting: false,
    debug: { saml: true, backtraces: true, validatexml: false },
    "logging.handler": "file",
    "logging.logfile": "simplesamlphp.log",
    "session.cookie.secure": false,
    "session.cookie.samesite": "Lax",
    "session.phpsession.savepath": paths.sessions,
    "session.phpsession.cookiename": "SimpleSAML",
    "language.cookie.secure": false,
    "store.type": "phpsession",
    "metadata.sources": [
      { type: "flatfile", directory: paths.metadata },
      { type: "xml", file: spXml },
    ],
    production: false,
  };
  writeFileSync(
    join(paths.config, "config.php"),
    `<?php\n$config = ${phpArray(config)};\n$config['logging.level'] = SimpleSAML\\Logger::DEBUG;\n`,
  );

  const userpass: Record<string, unknown> = {};
  for (const u of o.users) userpass[`${u.username}:${u.password}`] = u.attributes;
  writeFileSync(
    join(paths.config, "authsources.php"),
    `<?php\n$config = ${phpArray({ admin: ["core:AdminPassword"] })};\n` +
      `$config['example-userpass'] = array_merge(['exampleauth:UserPass'], ${phpArray(userpass)});\n`,
  );

  const idp = {
    host: "__DEFAULT__",
    privatekey: key,
    certificate: crt,
    auth: "example-userpass",
    "signature.algorithm": RSA_SHA256,
    "saml20.sign.assertion": true,
    "saml20.sign.response": true,
    // LogoutRequests and LogoutResponses signed (HTTP-Redirect: SigAlg and Signature in the query).
    "sign.logout": true,
    "attributes.NameFormat": "urn:oasis:names:tc:SAML:2.0:attrname-format:basic",
    NameIDFormat: EMAIL_ADDRESS,
    // The NameID for SPs asking for emailAddress (Gatehouse's metadata does, like Entra's default).
    authproc: {
      "1": { class: "saml:AttributeNameID", Format: EMAIL_ADDRESS, attribute: o.nameIdAttribute },
    },
  };
  writeFileSync(
    join(paths.metadata, "saml20-idp-hosted.php"),
    `<?php\n$metadata[${php(entityId)}] = ${phpArray(idp)};\n`,
  );
  // The flatfile source reads every set it is asked for; empty ones keep its log quiet.
  writeFileSync(join(paths.metadata, "saml20-sp-remote.php"), "<?php\n");

  const router = join(o.dir, "router.php");
  writeFileSync(router, ROUTER);

  const out: string[] = [];
  const child: ChildProcess = spawn("php", ["-S", `127.0.0.1:${o.port}`, "-t", SSP_WWW, router], {
    env: { ...process.env, SIMPLESAMLPHP_CONFIG_DIR: paths.config },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (b: Buffer) => out.push(b.toString()));
  child.stderr?.on("data", (b: Buffer) => out.push(b.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));

  const sspLog = () => {
    const file = join(paths.log, "simplesamlphp.log");
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  };
  const logs = () =>
    `--- php -S output ---\n${out.join("").slice(-8000)}\n--- simplesamlphp.log ---\n${sspLog().slice(-8000)}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
      await exited;
      clearTimeout(timer);
    }
  };

  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`php -S exited with ${child.exitCode}`);
      try {
        const res = await fetch(`${baseUrl}saml2/idp/metadata.php`);
        if (res.ok) break;
        throw new Error(`metadata: HTTP ${res.status}: ${(await res.text()).slice(0, 2000)}`);
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (e) {
    await stop();
    throw new Error(`SimpleSAMLphp did not start: ${(e as Error).message}\n${logs()}`);
  }
  return {
    baseUrl,
    entityId,
    metadataUrl: `${baseUrl}saml2/idp/metadata.php`,
    certificatePem: readFileSync(crt, "utf8"),
    setSpMetadata,
    logs,
    sspLog,
    stop,
  };
}

/**
 * The router of PHP's built-in server. The server itself splits /module.php/core/... into the
 * script and PATH_INFO when the router returns false (checked with PHP 8.2), which is what
 * SimpleSAMLphp's URLs need; the router's part is to answer 404 for paths that name no file
 * under www/, where the built-in server would otherwise fall back to www/index.php.
 */
const ROUTER = `<?php
$root = $_SERVER['DOCUMENT_ROOT'];
$path = rawurldecode(parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) ?? '/');
if (strpos($path, '..') !== false) { http_response_code(400); exit; }
$probe = '';
foreach (explode('/', trim($path, '/')) as $segment) {
    $probe .= '/' . $segment;
    if (is_file($root . $probe)) { return false; }
    if (!is_dir($root . $probe)) { break; }
}
if (is_file($root . rtrim($path, '/') . '/index.php')) { return false; }
http_response_code(404);
header('Content-Type: text/plain');
echo "Not found: " . $path . "\\n";
`;

/** Debian's Chromium, headless, on a fresh profile (playwright-core's temporary user-data dir). */
export async function launchChromium(): Promise<import("playwright-core").Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

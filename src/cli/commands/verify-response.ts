/**
 * `gatehouse verify-response`: validates a captured SAMLResponse offline, with exactly the
 * checks the ACS applies. The command line, the exit codes and the --json shape are a contract
 * that scripts rely on (README.md, "Command line"): change them only by adding.
 */

import { createPrivateKey, type KeyObject } from "node:crypto";
import { readCertificate, type TrustedCertificate } from "../../saml/certs.ts";
import { isSamlError, SamlError } from "../../saml/errors.ts";
import { decodeUtf8 } from "../../saml/message.ts";
import { readIdpMetadata } from "../../saml/metadata.ts";
import {
  type ResponseValidationOptions,
  type VerifiedResponse,
  validateResponse,
  validateResponseXml,
} from "../../saml/response.ts";
import {
  type CliIo,
  EXIT_OK,
  EXIT_REFUSED,
  parseCommandLine,
  parseIsoInstant,
  readInput,
  readOptionFile,
  UsageError,
} from "../command.ts";

export const usage = `Usage: gatehouse verify-response [FILE|-]          base64 SAMLResponse or raw XML, detected
  --idp-cert PEM_FILE   (repeatable)        or  --idp-metadata FILE
  --idp-entity-id ID    (optional with --idp-metadata)
  --sp-entity-id ID  --acs-url URL
  --in-response-to ID | --allow-unsolicited
  --now ISO_INSTANT     (default: now)      --clock-skew SECONDS (default 180)
  --allow-sha1          --sp-key PEM_FILE (repeatable; for encrypted assertions)
  --json
exit 0 accepted, 1 refused, 2 usage or unreadable input
--json prints one object: {"ok":true,"issuer","nameId","nameIdFormat","sessionIndex",
  "email","attributes":{uri:[values]},"notOnOrAfter"} or {"ok":false,"code","message"}
`;

const OPTIONS = {
  "idp-cert": { type: "string", multiple: true },
  "idp-metadata": { type: "string" },
  "idp-entity-id": { type: "string" },
  "sp-entity-id": { type: "string" },
  "acs-url": { type: "string" },
  "in-response-to": { type: "string" },
  "allow-unsolicited": { type: "boolean" },
  now: { type: "string" },
  "clock-skew": { type: "string" },
  "allow-sha1": { type: "boolean" },
  "sp-key": { type: "string", multiple: true },
  json: { type: "boolean" },
} as const;

/** The --json success object: these keys, always present (null when absent), in this order. */
export interface AcceptedJson {
  readonly ok: true;
  readonly issuer: string;
  readonly nameId: string;
  readonly nameIdFormat: string | null;
  readonly sessionIndex: string | null;
  readonly email: string | null;
  readonly attributes: Record<string, readonly string[]>;
  readonly notOnOrAfter: string;
}

export interface RefusedJson {
  readonly ok: false;
  readonly code: string;
  readonly message: string;
}

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values: v, positionals } = parseCommandLine(args, OPTIONS);
  if (positionals.length > 1) throw new UsageError("at most one input FILE (or - for stdin)");
  const spEntityId = required(v["sp-entity-id"], "--sp-entity-id");
  const acsUrl = required(v["acs-url"], "--acs-url");
  const certFiles = v["idp-cert"] ?? [];
  const metadataFile = v["idp-metadata"];
  if (certFiles.length === 0 && metadataFile === undefined) {
    throw new UsageError("--idp-cert PEM_FILE or --idp-metadata FILE is required");
  }
  if (certFiles.length > 0 && metadataFile !== undefined) {
    throw new UsageError("give --idp-cert or --idp-metadata, not both");
  }
  const inResponseTo = v["in-response-to"];
  const allowUnsolicited = v["allow-unsolicited"] === true;
  if (inResponseTo === undefined && !allowUnsolicited) {
    throw new UsageError(
      "--in-response-to ID (the AuthnRequest's ID) or --allow-unsolicited (IdP-initiated) is required",
    );
  }
  if (inResponseTo !== undefined && allowUnsolicited) {
    throw new UsageError("give --in-response-to or --allow-unsolicited, not both");
  }
  const now = v.now === undefined ? io.now() : parseIsoInstant(v.now, "--now");
  const clockSkewSeconds = v["clock-skew"] === undefined ? 180 : parseSkew(v["clock-skew"]);

  let idpCertificates: TrustedCertificate[];
  let idpEntityId = v["idp-entity-id"];
  if (metadataFile !== undefined) {
    const bytes = await readOptionFile(metadataFile, "--idp-metadata");
    try {
      const metadata = readIdpMetadata(decodeUtf8(bytes), { now });
      for (const w of metadata.warnings) io.stderr(`warning: --idp-metadata: ${w}\n`);
      idpCertificates = [...metadata.certificates];
      idpEntityId ??= metadata.entityId;
    } catch (e) {
      if (isSamlError(e))
        throw new UsageError(`--idp-metadata ${metadataFile}: ${e.message} [${e.code}]`);
      throw e;
    }
  } else {
    idpCertificates = [];
    for (const file of certFiles) idpCertificates.push(...(await readCertificates(file)));
    if (idpEntityId === undefined) {
      throw new UsageError(
        "--idp-entity-id is required with --idp-cert (Entra: https://sts.windows.net/<tenant-id>/)",
      );
    }
  }
  const spDecryptionKeys: KeyObject[] = [];
  for (const file of v["sp-key"] ?? []) spDecryptionKeys.push(await readPrivateKey(file));

  const input = await readInput(positionals[0], io);
  const message = detect(input);
  if (message === undefined)
    throw new UsageError(`${positionals[0] ?? "standard input"}: empty input`);

  const seen = new Set<string>();
  const options: ResponseValidationOptions = {
    idpCertificates,
    idpEntityId,
    spEntityId,
    acsUrl,
    expectedRequestId: inResponseTo,
    allowUnsolicited,
    now,
    clockSkewSeconds,
    algorithms: { allowSha1: v["allow-sha1"] === true },
    spDecryptionKeys,
    // One run, one message: an in-memory cache is the whole replay store.
    replayCache: {
      consume: (key) => {
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      },
    },
  };
  let verified: VerifiedResponse;
  try {
    verified =
      message.kind === "xml"
        ? await validateResponseXml(decodeUtf8(message.bytes), options)
        : await validateResponse(message.base64, options);
  } catch (e) {
    if (!(e instanceof SamlError)) throw e;
    if (v.json === true) {
      const refused: RefusedJson = { ok: false, code: e.code, message: e.message };
      io.stdout(`${JSON.stringify(refused)}\n`);
    } else {
      io.stdout(refusalReport(e));
    }
    return EXIT_REFUSED;
  }
  if (v.json === true) {
    io.stdout(`${JSON.stringify(acceptedJson(verified))}\n`);
  } else {
    io.stdout(acceptedReport(verified, idpCertificates, now));
  }
  return EXIT_OK;
}

export function acceptedJson(r: VerifiedResponse): AcceptedJson {
  // A null prototype: an attribute named __proto__ stays an ordinary key.
  const attributes: Record<string, readonly string[]> = Object.create(null);
  for (const [name, values] of Object.entries(r.attributes)) attributes[name] = [...values];
  return {
    ok: true,
    issuer: r.issuer,
    nameId: r.nameId,
    nameIdFormat: r.nameIdFormat ?? null,
    sessionIndex: r.sessionIndex ?? null,
    email: r.email ?? null,
    attributes,
    notOnOrAfter: r.notOnOrAfter.toISOString(),
  };
}

function required(value: string | undefined, option: string): string {
  if (value === undefined || value === "") throw new UsageError(`${option} is required`);
  return value;
}

function parseSkew(value: string): number {
  if (!/^\d{1,6}$/.test(value)) {
    throw new UsageError(`--clock-skew ${JSON.stringify(value)}: a whole number of seconds`);
  }
  return Number(value);
}

/** Every certificate of a PEM file (one or several BEGIN CERTIFICATE blocks, or bare Base64). */
async function readCertificates(file: string): Promise<TrustedCertificate[]> {
  const text = (await readOptionFile(file, "--idp-cert")).toString("utf8");
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [
    text,
  ];
  try {
    return blocks.map((b) => readCertificate(b, `--idp-cert ${file}`));
  } catch (e) {
    if (isSamlError(e)) throw new UsageError(e.message);
    throw e;
  }
}

async function readPrivateKey(file: string): Promise<KeyObject> {
  const bytes = await readOptionFile(file, "--sp-key");
  try {
    return createPrivateKey(bytes);
  } catch {
    throw new UsageError(`--sp-key ${file}: not a PEM private key (unencrypted PKCS#8 or PKCS#1)`);
  }
}

type Detected = { kind: "xml"; bytes: Buffer } | { kind: "base64"; base64: string };

/**
 * XML when it starts with "<" (after a byte-order mark and whitespace), else the base64 form
 * value, also as pasted from developer tools: "SAMLResponse=" in front, %2B %2F %3D escapes.
 */
export function detect(input: Buffer): Detected | undefined {
  let start = 0;
  if (input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) start = 3;
  while (start < input.length && [0x20, 0x09, 0x0a, 0x0d].includes(input[start]!)) start++;
  if (start === input.length) return undefined;
  if (input[start] === 0x3c) return { kind: "xml", bytes: input.subarray(start) };
  let text = input.toString("latin1").trim();
  text = text.replace(/^SAMLResponse=/, "");
  text = text.replace(/%2B/gi, "+").replace(/%2F/gi, "/").replace(/%3D/gi, "=");
  return { kind: "base64", base64: text };
}

function refusalReport(e: SamlError): string {
  return `REFUSED  ${e.code}\n  ${e.message}\n  Fix: ${e.fix}\n`;
}

function acceptedReport(
  r: VerifiedResponse,
  certs: readonly TrustedCertificate[],
  now: Date,
): string {
  const row = (label: string, value: string): string => `  ${label.padEnd(15)} ${value}`;
  const cert = certs.find((c) => c.fingerprint256 === r.certificateFingerprint);
  const parts = [r.signed.response ? "Response" : "", r.signed.assertion ? "Assertion" : ""]
    .filter((p) => p !== "")
    .join(" and ");
  const lines = [
    "ACCEPTED  the Response passes every check",
    row("Issuer", r.issuer),
    row("NameID", r.nameIdFormat === undefined ? r.nameId : `${r.nameId}  (${r.nameIdFormat})`),
    row("Email", r.email ?? "(none: no emailaddress claim and the NameID is not an email address)"),
    row("Session index", r.sessionIndex ?? "(none)"),
    row(
      "Valid",
      `${r.notBefore?.toISOString() ?? "(no NotBefore)"} to ${r.notOnOrAfter.toISOString()} (checked at ${now.toISOString()})`,
    ),
    row(
      "Authenticated",
      `${r.authnInstant.toISOString()}${r.authnContextClassRef === undefined ? "" : `  (${r.authnContextClassRef})`}`,
    ),
    row(
      "Signed",
      `${parts} by ${r.certificateFingerprint}${cert === undefined ? "" : ` (${cert.subject}, expires ${cert.notAfter.toISOString()})`}`,
    ),
    row("Encrypted", r.encrypted ? "yes (EncryptedAssertion, decrypted with the SP key)" : "no"),
    row("Response ID", r.responseId),
    row("Assertion ID", r.assertionId),
    row("InResponseTo", r.inResponseTo ?? "(none: IdP-initiated)"),
  ];
  const names = Object.keys(r.attributes);
  lines.push(`  Attributes (${names.length})`);
  for (const name of names) {
    lines.push(`    ${name}`);
    for (const value of r.attributes[name]!) lines.push(`      ${value}`);
  }
  return `${lines.join("\n")}\n`;
}

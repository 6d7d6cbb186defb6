/**
 * Certificates and keys as admins paste them into environment variables: with or without PEM
 * armour, quoted, on one line, with literal "\n" escapes, with LF or CRLF line breaks. Config
 * checks their shape here with node:crypto only; the SAML layer reads them again when it uses
 * them (config imports no other layer, DESIGN.md).
 *
 * Each reader returns either the value or a reason phrased to follow the variable's name:
 * "SAML_CERT: <reason>".
 */

import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  type PrivateKeyInput,
  X509Certificate,
} from "node:crypto";

export type Read<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

export interface CertificateText {
  /** Base64 of the DER, one line. */
  readonly base64: string;
  readonly pem: string;
  /** SHA-256 fingerprint, upper-case hex with colons (as openssl and Entra show it). */
  readonly fingerprint256: string;
  readonly subject: string;
  readonly keyType: "rsa" | "ec";
  /** ISO 8601 instants (strings, so the frozen config holds no mutable Date). */
  readonly notBefore: string;
  readonly notAfter: string;
}

interface Unwrapped {
  /** Labels of the BEGIN lines found, e.g. ["CERTIFICATE"]. */
  readonly labels: readonly string[];
  readonly body: string;
}

/** Strips quotes, escapes, armour and whitespace; what is left should be the Base64 body. */
export function unwrapPem(input: string): Unwrapped {
  let s = input.trim();
  while (
    s.length >= 2 &&
    ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'")))
  ) {
    s = s.slice(1, -1).trim();
  }
  s = s.replace(/\\r|\\n/g, "\n");
  const labels = [...s.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]!);
  s = s.replace(/-----(?:BEGIN|END) [A-Z0-9 ]+-----/g, "");
  return { labels, body: s.replace(/[\s"']/g, "") };
}

function decodeBase64(body: string): Read<Buffer> {
  if (body === "")
    return { ok: false, reason: "it is empty once quotes and BEGIN/END lines are removed" };
  const bad = body.match(/[^A-Za-z0-9+/=]/);
  if (bad !== null) {
    return {
      ok: false,
      reason: `it is not Base64: it contains ${JSON.stringify(bad[0])} (only A-Z, a-z, 0-9, +, / and = may remain once the BEGIN/END lines, quotes and line breaks are removed)`,
    };
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
    return {
      ok: false,
      reason: `it is not valid Base64 (${body.length} characters, padding misplaced or the text cut off: a complete value has a multiple of 4 characters)`,
    };
  }
  return { ok: true, value: Buffer.from(body, "base64") };
}

/** The length a DER SEQUENCE declares for itself, to tell "cut off" from "not a certificate". */
function declaredDerLength(der: Buffer): number | undefined {
  if (der.length < 2 || der[0] !== 0x30) return undefined;
  const first = der[1]!;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || der.length < 2 + n) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
  return 2 + n + len;
}

function looksLikePrivateKey(der: Buffer): boolean {
  for (const type of ["pkcs8", "pkcs1", "sec1"] as const) {
    try {
      createPrivateKey({ key: der, format: "der", type });
      return true;
    } catch {
      // not this encoding
    }
  }
  return false;
}

const PRIVATE_KEY_PASTED =
  "it is a private key, not a certificate. Paste the IdP's certificate (Entra: Certificate (Base64)); a private key must never leave the machine it belongs to";

export function readCertificateText(input: string): Read<CertificateText> {
  const { labels, body } = unwrapPem(input);
  if (labels.some((l) => l.includes("PRIVATE KEY")))
    return { ok: false, reason: PRIVATE_KEY_PASTED };
  if (labels.filter((l) => l === "CERTIFICATE").length > 1) {
    return { ok: false, reason: "it holds more than one certificate; give exactly one" };
  }
  const other = labels.find((l) => l !== "CERTIFICATE");
  if (other !== undefined) {
    return { ok: false, reason: `it is a PEM "${other}", not a CERTIFICATE` };
  }
  const der = decodeBase64(body);
  if (!der.ok) return der;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der.value);
  } catch {
    const declared = declaredDerLength(der.value);
    if (declared !== undefined && declared > der.value.length) {
      return {
        ok: false,
        reason: `it is cut off: ${der.value.length} of the ${declared} bytes it declares are present (copy the whole text, from the first to the last character)`,
      };
    }
    if (looksLikePrivateKey(der.value)) return { ok: false, reason: PRIVATE_KEY_PASTED };
    return { ok: false, reason: "it is Base64 but not an X.509 certificate" };
  }
  const keyType = x509.publicKey.asymmetricKeyType;
  if (keyType !== "rsa" && keyType !== "ec") {
    return {
      ok: false,
      reason: `its key type is ${keyType ?? "unknown"}; SAML signatures use RSA or EC keys`,
    };
  }
  const base64 = x509.raw.toString("base64");
  return {
    ok: true,
    value: {
      base64,
      pem: toPem("CERTIFICATE", base64),
      fingerprint256: x509.fingerprint256,
      subject: x509.subject.replaceAll("\n", ", "),
      keyType,
      notBefore: new Date(x509.validFrom).toISOString(),
      notAfter: new Date(x509.validTo).toISOString(),
    },
  };
}

/** Reads an RSA private key (PKCS#8 or PKCS#1, armoured or bare) and returns it as PKCS#8 PEM. */
export function readPrivateKeyText(input: string): Read<{ pem: string; key: KeyObject }> {
  const { labels, body } = unwrapPem(input);
  if (labels.includes("ENCRYPTED PRIVATE KEY") || /Proc-Type:\s*4,ENCRYPTED/.test(input)) {
    return {
      ok: false,
      reason:
        "it is encrypted with a passphrase; store it decrypted (openssl pkey -in key.pem -out key-plain.pem) and protect the file instead",
    };
  }
  if (labels.includes("CERTIFICATE")) {
    return { ok: false, reason: "it is a certificate, not a private key" };
  }
  const der = decodeBase64(body);
  if (!der.ok) return der;
  const attempts: PrivateKeyInput[] = [
    { key: der.value, format: "der", type: "pkcs8" },
    { key: der.value, format: "der", type: "pkcs1" },
    { key: der.value, format: "der", type: "sec1" },
  ];
  for (const attempt of attempts) {
    let key: KeyObject;
    try {
      key = createPrivateKey(attempt);
    } catch {
      continue;
    }
    if (key.asymmetricKeyType !== "rsa") {
      return {
        ok: false,
        reason: `it is an ${key.asymmetricKeyType ?? "unknown"} key; the SP key must be RSA (Entra encrypts assertions to it with RSA-OAEP)`,
      };
    }
    return {
      ok: true,
      value: { pem: key.export({ type: "pkcs8", format: "pem" }).toString(), key },
    };
  }
  return { ok: false, reason: "it is Base64 but not a private key (PKCS#8 or PKCS#1)" };
}

/** True when the private key is the one whose public half the certificate carries. */
export function keyMatchesCertificate(key: KeyObject, certificateBase64: string): boolean {
  const cert = new X509Certificate(Buffer.from(certificateBase64, "base64"));
  const fromKey = createPublicKey(key).export({ type: "spki", format: "der" });
  const fromCert = cert.publicKey.export({ type: "spki", format: "der" });
  return fromKey.equals(fromCert);
}

function toPem(label: string, base64: string): string {
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

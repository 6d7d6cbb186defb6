/**
 * Certificates of an IdP, as configured. Keys come only from here, never from a message's
 * KeyInfo (DESIGN.md, the SAML profile).
 */

import { createHash, type KeyObject, X509Certificate } from "node:crypto";
import { SamlError } from "./errors.ts";

export interface TrustedCertificate {
  /** Base64 of the DER, one line (what Entra calls "Certificate (Base64)" without armour). */
  readonly base64: string;
  readonly pem: string;
  readonly publicKey: KeyObject;
  readonly keyType: "rsa" | "ec";
  /** SHA-256 fingerprint, upper-case hex with colons, as Entra and openssl show it. */
  readonly fingerprint256: string;
  /** SHA-1 thumbprint, upper-case hex without colons, as Entra's portal shows it. */
  readonly thumbprint: string;
  readonly subject: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

/**
 * Reads a certificate the way admins paste it: with or without PEM armour, wrapped in quotes,
 * on one line, with literal "\n" escapes, with line breaks, with CRLF. `source` names the field
 * or variable in errors.
 */
export function readCertificate(input: string, source = "certificate"): TrustedCertificate {
  const base64 = normalizeCertificateText(input);
  if (base64 === "") {
    throw new SamlError("certificate_invalid", { field: source, note: "it is empty" });
  }
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw new SamlError("certificate_invalid", {
      field: source,
      note: "it is not Base64 (only A-Z, a-z, 0-9, +, / and = padding may remain once the BEGIN/END lines, quotes and line breaks are removed)",
    });
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(Buffer.from(base64, "base64"));
  } catch {
    throw new SamlError("certificate_invalid", {
      field: source,
      note: "it is Base64 but not an X.509 certificate (was part of it cut off, or is it a private key?)",
    });
  }
  return fromX509(x509, base64);
}

export function certificateFromDer(der: Buffer): TrustedCertificate {
  return fromX509(new X509Certificate(der), der.toString("base64"));
}

function fromX509(x509: X509Certificate, base64: string): TrustedCertificate {
  const publicKey = x509.publicKey;
  const kt = publicKey.asymmetricKeyType;
  if (kt !== "rsa" && kt !== "ec") {
    throw new SamlError("certificate_invalid", {
      note: `its key type is ${kt ?? "unknown"}; only RSA and EC keys sign SAML`,
    });
  }
  const der = x509.raw;
  return {
    base64,
    pem: toPem(base64),
    publicKey,
    keyType: kt,
    fingerprint256: x509.fingerprint256,
    thumbprint: createHash("sha1").update(der).digest("hex").toUpperCase(),
    subject: x509.subject.replaceAll("\n", ", "),
    notBefore: new Date(x509.validFrom),
    notAfter: new Date(x509.validTo),
  };
}

/** Strips armour, quotes, escapes and whitespace; what is left should be the Base64 body. */
export function normalizeCertificateText(input: string): string {
  let s = input.trim();
  // Quotes around the whole value (a .env line pasted with them).
  while (
    s.length >= 2 &&
    ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'")))
  ) {
    s = s.slice(1, -1).trim();
  }
  s = s.replace(/\\r|\\n/g, "\n");
  s = s.replace(/-----BEGIN [A-Z0-9 ]+-----/g, "").replace(/-----END [A-Z0-9 ]+-----/g, "");
  return s.replace(/[\s"']/g, "");
}

export function toPem(base64: string): string {
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join("\n")}\n-----END CERTIFICATE-----\n`;
}

/** The SHA-256 fingerprint of a certificate carried in a message (only to name it in errors). */
export function fingerprintOfBase64Der(base64: string): string | undefined {
  try {
    return new X509Certificate(Buffer.from(base64.replace(/\s+/g, ""), "base64")).fingerprint256;
  } catch {
    return undefined;
  }
}

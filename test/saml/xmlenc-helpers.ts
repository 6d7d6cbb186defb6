/**
 * Test-side XML Encryption, written independently of src/saml/xmlenc.ts so that the two check
 * each other: hand-built EncryptedAssertions with any key transport (RSA-OAEP with any digest,
 * MGF1 digest and label, or the refused rsa-1_5), either content mode, and every place the
 * EncryptedKey may stand. Also the shared fixtures of the xmlenc tests (keys, a mock Response).
 */

import {
  constants,
  createCipheriv,
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  publicEncrypt,
  randomBytes,
} from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  buildEntraResponse,
  entraIssuer,
  type MockResponseOptions,
} from "../../src/mock-idp/response.ts";

export const KEYS_DIR = join(import.meta.dirname, "..", "fixtures", "keys");

const XENC = "http://www.w3.org/2001/04/xmlenc#";
const XENC11 = "http://www.w3.org/2009/xmlenc11#";
const DS = "http://www.w3.org/2000/09/xmldsig#";
const SAML = "urn:oasis:names:tc:SAML:2.0:assertion";

export function readKey(name: string): KeyObject {
  return createPrivateKey(readFileSync(join(KEYS_DIR, `${name}.key`), "utf8"));
}

export function readCertPem(name: string): string {
  return readFileSync(join(KEYS_DIR, `${name}.crt`), "utf8");
}

/** The certificate's base64 DER, as it goes into KeyInfo. */
export function certBase64(name: string): string {
  return readCertPem(name)
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, "")
    .replace(/\s+/g, "");
}

export function publicKeyOf(name: string): KeyObject {
  return createPublicKey(readCertPem(name));
}

export const TENANT = "8f3c2b1a-4d5e-4f60-9a7b-1c2d3e4f5a6b";
export const ISSUER = entraIssuer(TENANT);
export const ACS = "https://sso.example.test/api/auth/saml/callback";
export const SP_ENTITY_ID = "https://sso.example.test/saml/acme";
export const REQUEST_ID = "_a1b2c3d4e5f60718293a4b5c6d7e8f90";
export const NOW = new Date("2024-05-01T10:00:00.000Z");

/** An Entra-shaped Response for our SP, with the given extra options. */
export function mockResponse(extra: Partial<MockResponseOptions> = {}): string {
  return buildEntraResponse({
    tenantId: TENANT,
    user: {
      upn: "ada@contoso.example",
      mail: "ada@contoso.example",
      objectId: "0b6e5c1d-2f3a-4b5c-8d9e-0f1a2b3c4d5e",
      displayName: "Ada Lovelace",
    },
    acsUrl: ACS,
    audience: SP_ENTITY_ID,
    inResponseTo: REQUEST_ID,
    now: NOW,
    signingKey: readKey("idp-rsa"),
    signingCertificate: certBase64("idp-rsa"),
    ...extra,
  });
}

// ---------------------------------------------------------------------------------------------
// Hand-built encryption.

export type Transport =
  | "rsa-oaep-mgf1p"
  | "rsa-oaep-mgf1p-sha256"
  | "rsa-oaep-sha256"
  | "rsa-oaep-sha256-mgf1sha1"
  | "rsa-oaep-sha512-mgf1sha256"
  | "rsa-oaep-label"
  | "rsa-1_5";

export type Content = "aes128-cbc" | "aes256-cbc" | "aes128-gcm" | "aes256-gcm";

export type Layout = "keyinfo" | "retrieval-method" | "key-name" | "sibling";

export interface HandEncryptOptions {
  readonly plaintext: string;
  readonly recipient: KeyObject;
  readonly content?: Content;
  readonly transport?: Transport;
  readonly layout?: Layout;
  /** EncryptedKeys for other recipients, placed before ours. */
  readonly others?: readonly KeyObject[];
  /** Replaces the content EncryptionMethod URI (unknown-algorithm cases). */
  readonly contentUri?: string;
}

interface TransportSpec {
  uri: string;
  hash: string;
  mgf: string;
  label: Buffer;
  params: string;
}

const DIGEST_URI: Record<string, string> = {
  sha1: `${DS}sha1`,
  sha256: `${XENC}sha256`,
  sha512: `${XENC}sha512`,
};

function transportSpec(t: Transport): TransportSpec {
  const oaep = (
    uri: string,
    hash: string,
    mgf: string,
    params: string,
    label = Buffer.alloc(0),
  ) => ({
    uri,
    hash,
    mgf,
    label,
    params,
  });
  switch (t) {
    case "rsa-oaep-mgf1p":
      return oaep(`${XENC}rsa-oaep-mgf1p`, "sha1", "sha1", "");
    case "rsa-oaep-mgf1p-sha256":
      // mgf1p fixes MGF1-SHA1 whatever the digest: a digest/MGF mismatch.
      return oaep(
        `${XENC}rsa-oaep-mgf1p`,
        "sha256",
        "sha1",
        `<ds:DigestMethod Algorithm="${DIGEST_URI.sha256}"/>`,
      );
    case "rsa-oaep-sha256":
      return oaep(
        `${XENC11}rsa-oaep`,
        "sha256",
        "sha256",
        `<ds:DigestMethod Algorithm="${DIGEST_URI.sha256}"/><xenc11:MGF xmlns:xenc11="${XENC11}" Algorithm="${XENC11}mgf1sha256"/>`,
      );
    case "rsa-oaep-sha256-mgf1sha1":
      // No MGF element: the default is MGF1 with SHA-1 (xmlenc-core1 5.5.2).
      return oaep(
        `${XENC11}rsa-oaep`,
        "sha256",
        "sha1",
        `<ds:DigestMethod Algorithm="${DIGEST_URI.sha256}"/>`,
      );
    case "rsa-oaep-sha512-mgf1sha256":
      return oaep(
        `${XENC11}rsa-oaep`,
        "sha512",
        "sha256",
        `<ds:DigestMethod Algorithm="${DIGEST_URI.sha512}"/><xenc11:MGF xmlns:xenc11="${XENC11}" Algorithm="${XENC11}mgf1sha256"/>`,
      );
    case "rsa-oaep-label": {
      const label = Buffer.from("gatehouse-label");
      return oaep(
        `${XENC}rsa-oaep-mgf1p`,
        "sha1",
        "sha1",
        `<xenc:OAEPparams>${label.toString("base64")}</xenc:OAEPparams>`,
        label,
      );
    }
    case "rsa-1_5":
      return { uri: `${XENC}rsa-1_5`, hash: "", mgf: "", label: Buffer.alloc(0), params: "" };
  }
}

function mgf1(seed: Buffer, length: number, hash: string): Buffer {
  const blocks: Buffer[] = [];
  for (let i = 0; Buffer.concat(blocks).length < length; i++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(i);
    blocks.push(
      createHash(hash)
        .update(Buffer.concat([seed, c]))
        .digest(),
    );
  }
  return Buffer.concat(blocks).subarray(0, length);
}

/** RSAES-OAEP-ENCRYPT (RFC 8017 7.1.1) with independent OAEP and MGF1 digests. */
export function oaepEncrypt(
  key: KeyObject,
  message: Buffer,
  hash: string,
  mgfHash: string,
  label: Buffer,
): Buffer {
  const k = key.asymmetricKeyDetails!.modulusLength! / 8;
  const hLen = createHash(hash).digest().length;
  const lHash = createHash(hash).update(label).digest();
  const ps = Buffer.alloc(k - message.length - 2 * hLen - 2);
  const db = Buffer.concat([lHash, ps, Buffer.from([1]), message]);
  const seed = randomBytes(hLen);
  const dbMask = mgf1(seed, k - hLen - 1, mgfHash);
  const maskedDb = Buffer.from(db.map((b, i) => b ^ dbMask[i]!));
  const seedMask = mgf1(maskedDb, hLen, mgfHash);
  const maskedSeed = Buffer.from(seed.map((b, i) => b ^ seedMask[i]!));
  const em = Buffer.concat([Buffer.from([0]), maskedSeed, maskedDb]);
  return publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, em);
}

function wrapKey(recipient: KeyObject, key: Buffer, t: TransportSpec): Buffer {
  if (t.hash === "")
    return publicEncrypt({ key: recipient, padding: constants.RSA_PKCS1_PADDING }, key);
  return oaepEncrypt(recipient, key, t.hash, t.mgf, t.label);
}

/** Content encryption as xmlenc-core1 5.2 describes it (CBC padding octets random, not PKCS#7). */
export function encryptContent(content: Content, key: Buffer, plaintext: Buffer): Buffer {
  const bits = content.slice(3, 6);
  if (content.endsWith("gcm")) {
    const iv = randomBytes(12);
    const c = createCipheriv(`aes-${bits}-gcm` as "aes-256-gcm", key, iv);
    const body = Buffer.concat([c.update(plaintext), c.final()]);
    return Buffer.concat([iv, body, c.getAuthTag()]);
  }
  const padLength = 16 - (plaintext.length % 16);
  const padding = Buffer.concat([randomBytes(padLength - 1), Buffer.from([padLength])]);
  const iv = randomBytes(16);
  const c = createCipheriv(`aes-${bits}-cbc`, key, iv);
  c.setAutoPadding(false);
  return Buffer.concat([iv, c.update(Buffer.concat([plaintext, padding])), c.final()]);
}

export function handEncrypt(o: HandEncryptOptions): string {
  const content = o.content ?? "aes256-gcm";
  const contentUri =
    o.contentUri ?? (content.endsWith("gcm") ? `${XENC11}${content}` : `${XENC}${content}`);
  const key = randomBytes(content.startsWith("aes128") ? 16 : 32);
  const t = transportSpec(o.transport ?? "rsa-oaep-mgf1p");
  const layout = o.layout ?? "keyinfo";
  const cipher = encryptContent(content, key, Buffer.from(o.plaintext, "utf8"));

  const encryptedKey = (recipient: KeyObject, id: string, name: string): string =>
    `<xenc:EncryptedKey xmlns:xenc="${XENC}" xmlns:ds="${DS}" Id="${id}">` +
    `<xenc:EncryptionMethod Algorithm="${t.uri}">${t.params}</xenc:EncryptionMethod>` +
    `<xenc:CipherData><xenc:CipherValue>${wrapKey(recipient, key, t).toString("base64")}</xenc:CipherValue></xenc:CipherData>` +
    `<xenc:CarriedKeyName>${name}</xenc:CarriedKeyName></xenc:EncryptedKey>`;
  const others = (o.others ?? []).map((k, i) => encryptedKey(k, `_other${i}`, `other-${i}`));
  const ours = encryptedKey(o.recipient, "_ek", "sp-key");

  let keyInfo = "";
  let siblings = "";
  switch (layout) {
    case "keyinfo":
      keyInfo = `<ds:KeyInfo xmlns:ds="${DS}">${others.join("")}${ours}</ds:KeyInfo>`;
      break;
    case "retrieval-method":
      keyInfo = `<ds:KeyInfo xmlns:ds="${DS}"><ds:RetrievalMethod Type="${XENC}EncryptedKey" URI="#_ek"/></ds:KeyInfo>`;
      siblings = others.join("") + ours;
      break;
    case "key-name":
      keyInfo = `<ds:KeyInfo xmlns:ds="${DS}"><ds:KeyName>sp-key</ds:KeyName></ds:KeyInfo>`;
      siblings = others.join("") + ours;
      break;
    case "sibling":
      siblings = others.join("") + ours;
      break;
  }
  return (
    `<saml:EncryptedAssertion xmlns:saml="${SAML}">` +
    `<xenc:EncryptedData xmlns:xenc="${XENC}" Id="_ed" Type="${XENC}Element">` +
    `<xenc:EncryptionMethod Algorithm="${contentUri}"/>${keyInfo}` +
    `<xenc:CipherData><xenc:CipherValue>${cipher.toString("base64")}</xenc:CipherValue></xenc:CipherData>` +
    `</xenc:EncryptedData>${siblings}</saml:EncryptedAssertion>`
  );
}

/** Changes one byte of the EncryptedData's CipherValue: `at` counts from the end when negative. */
export function tamperContent(xml: string, at: number, mask = 0x80): string {
  const re =
    /(<xenc:EncryptedData\b[\s\S]*?<xenc:CipherData><xenc:CipherValue>)([^<]+)(<\/xenc:CipherValue><\/xenc:CipherData><\/xenc:EncryptedData>)/;
  const m = re.exec(xml);
  if (m === null) throw new Error("tamperContent: no EncryptedData CipherValue");
  const bytes = Buffer.from(m[2]!.replace(/\s+/g, ""), "base64");
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] = bytes[i]! ^ mask;
  return xml.replace(re, `$1${bytes.toString("base64")}$3`);
}

/**
 * XML Encryption 1.1 (https://www.w3.org/TR/xmlenc-core1/) for EncryptedAssertion
 * (saml-core-2.0-os 2.3.4): RSA-OAEP key transport, AES-GCM and AES-CBC content encryption.
 *
 * The profile accepted, and nothing more:
 * - EncryptedAssertion holds one xenc:EncryptedData, then any number of xenc:EncryptedKey
 *   (core 2.3.4: several recipients may each get their own EncryptedKey).
 * - EncryptedData is of Type Element (or untyped), names its EncryptionMethod, and carries its
 *   ciphertext inline (CipherValue; CipherReference would make us fetch URLs).
 * - The content key is transported in an EncryptedKey, inside EncryptedData's ds:KeyInfo (the
 *   shape Entra sends) or as a sibling of EncryptedData (referenced by ds:RetrievalMethod or
 *   ds:KeyName, or not at all); every candidate is tried with every configured SP key.
 * - Key transport: RSA-OAEP only (xmlenc-core1 5.5.2), both identifiers. RSA PKCS#1 v1.5
 *   (rsa-1_5) is refused: its padding oracle (Bleichenbacher) is practical against XML
 *   Encryption (Jager, Schinzel, Somorovsky, "One Bad Apple", ESORICS 2012).
 * - Content: AES-GCM and AES-CBC (xmlenc-core1 5.2, block encryption), 128, 192 or 256-bit keys.
 *
 * Every refusal is decryption_failed. For CBC, which authenticates nothing, every failure after
 * the key was unwrapped (padding, UTF-8, XML, not an Assertion) is reported with one and the
 * same message, so a caller cannot tell padding errors from parse errors (the oracle of Jager
 * and Somorovsky, "How to Break XML Encryption", CCS 2011). GCM's tag is checked first, so its
 * plaintext is authentic and its problems can be named precisely.
 */

import {
  type CipherGCMTypes,
  constants,
  createCipheriv,
  createDecipheriv,
  createHash,
  type KeyObject,
  privateDecrypt,
  publicEncrypt,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import { DIGEST_METHOD_URI, DIGEST_METHODS, DSIG_NS, type HashName } from "./algorithms.ts";
import { fingerprintOfBase64Der } from "./certs.ts";
import { decodeBase64Strict } from "./dsig.ts";
import { isSamlError, SamlError } from "./errors.ts";
import { SAML_ASSERTION_NS, XMLENC_NS } from "./namespaces.ts";
import { parseXml, parseXmlFragment } from "./xml/parse.ts";
import { attr, childElements, directText, type XmlElement } from "./xml/tree.ts";

export const XMLENC11_NS = "http://www.w3.org/2009/xmlenc11#";

const TYPE_ELEMENT = `${XMLENC_NS}Element`;
const TYPE_ENCRYPTED_KEY = `${XMLENC_NS}EncryptedKey`;

interface ContentAlgorithm {
  readonly mode: "gcm" | "cbc";
  readonly keyBytes: 16 | 24 | 32;
}

/** Block encryption algorithms (xmlenc-core1 5.2). */
const CONTENT_ALGORITHMS: Readonly<Record<string, ContentAlgorithm>> = {
  [`${XMLENC11_NS}aes128-gcm`]: { mode: "gcm", keyBytes: 16 },
  [`${XMLENC11_NS}aes192-gcm`]: { mode: "gcm", keyBytes: 24 },
  [`${XMLENC11_NS}aes256-gcm`]: { mode: "gcm", keyBytes: 32 },
  [`${XMLENC_NS}aes128-cbc`]: { mode: "cbc", keyBytes: 16 },
  [`${XMLENC_NS}aes192-cbc`]: { mode: "cbc", keyBytes: 24 },
  [`${XMLENC_NS}aes256-cbc`]: { mode: "cbc", keyBytes: 32 },
};

const RSA_OAEP_MGF1P = `${XMLENC_NS}rsa-oaep-mgf1p`;
const RSA_OAEP = `${XMLENC11_NS}rsa-oaep`;
const RSA_1_5 = `${XMLENC_NS}rsa-1_5`;

/** Mask generation functions for xmlenc11#rsa-oaep (xmlenc-core1 5.5.2). */
const MGF_ALGORITHMS: Readonly<Record<string, HashName | "sha224">> = {
  [`${XMLENC11_NS}mgf1sha1`]: "sha1",
  [`${XMLENC11_NS}mgf1sha224`]: "sha224",
  [`${XMLENC11_NS}mgf1sha256`]: "sha256",
  [`${XMLENC11_NS}mgf1sha384`]: "sha384",
  [`${XMLENC11_NS}mgf1sha512`]: "sha512",
};

/** More EncryptedKey candidates than this is not a genuine message (each costs RSA work). */
const MAX_ENCRYPTED_KEYS = 8;

const FIELD = "EncryptedAssertion";
const CONTENT_FAILED =
  "the encrypted content could not be decrypted into one saml:Assertion (it was altered, or encrypted for another key)";

/**
 * The one error every CBC failure after key transport produces; the Response validator uses it
 * too for failures after decryption, so no step is distinguishable from another.
 */
export function cbcContentFailure(): SamlError {
  return fail(CONTENT_FAILED, "EncryptedData");
}

function fail(
  note: string,
  field = FIELD,
  extra: { expected?: string; received?: string } = {},
): SamlError {
  return new SamlError("decryption_failed", { field, note, ...extra });
}

interface KeyTransport {
  readonly hash: HashName;
  readonly mgfHash: HashName | "sha224";
  readonly label: Buffer | undefined;
  readonly cipherValue: Buffer;
  /** SHA-256 fingerprint of the certificate the IdP says it encrypted to, if it says. */
  readonly recipientFingerprint: string | undefined;
}

/**
 * Decrypts an EncryptedAssertion (saml-core-2.0-os 2.3.4) with the SP's private keys, trying
 * each, and returns the Assertion element. The Assertion is parsed as if it stood in place of
 * the EncryptedAssertion: its parent is the EncryptedAssertion's parent (the Response), so
 * prefixes declared on the Response resolve and a signature on the Assertion verifies over the
 * same canonical form as it would have before encryption.
 */
export function decryptAssertion(encrypted: XmlElement, keys: readonly KeyObject[]): XmlElement {
  if (keys.length === 0) {
    throw fail(
      "no SP decryption key is configured for this connection: add the private key of the certificate uploaded in Entra, Token encryption",
    );
  }
  const rsaKeys = keys.filter((k) => k.type === "private" && k.asymmetricKeyType === "rsa");
  if (rsaKeys.length === 0) {
    throw fail(
      `none of the ${keys.length} configured SP decryption keys is an RSA private key (RSA-OAEP key transport needs one)`,
    );
  }

  const { encryptedData, siblingKeys } = splitEncryptedAssertion(encrypted);
  const content = readEncryptedData(encryptedData);
  const transports = candidateKeys(encryptedData, siblingKeys).map(readEncryptedKey);

  // Unwrap the content key: every configured key against every candidate EncryptedKey. OAEP's
  // own check makes a wrong key fail here, not later.
  let contentKey: Buffer | undefined;
  for (const t of transports) {
    for (const key of rsaKeys) {
      const k = oaepDecrypt(key, t);
      if (k !== undefined && k.length === content.algorithm.keyBytes) {
        contentKey = k;
        break;
      }
    }
    if (contentKey !== undefined) break;
  }
  if (contentKey === undefined) {
    const fps = transports.map((t) => t.recipientFingerprint).filter((f) => f !== undefined);
    throw fail(
      `none of the ${rsaKeys.length} configured SP decryption key(s) unwraps the content key: the IdP encrypted to a certificate whose private key is not configured here` +
        (fps.length > 0 ? ` (the IdP names certificate SHA-256 ${fps.join(", ")})` : "") +
        ". In Entra, Token encryption: check which certificate is active",
      "EncryptedKey",
    );
  }

  const plaintext = decryptContent(content, contentKey);
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(plaintext);
    const context = encrypted.parent;
    const assertion = context === null ? parseXml(text) : parseXmlFragment(text, context);
    if (assertion.ns !== SAML_ASSERTION_NS || assertion.local !== "Assertion") {
      throw fail("the decrypted content is not a saml:Assertion", FIELD, {
        expected: `{${SAML_ASSERTION_NS}}Assertion`,
        received: `{${assertion.ns}}${assertion.local}`,
      });
    }
    return assertion;
  } catch (e) {
    if (!(e instanceof Error)) throw e;
    // CBC: one message for every failure, whatever step it came from (see the file comment).
    if (content.algorithm.mode === "cbc") throw fail(CONTENT_FAILED, "EncryptedData");
    if (isSamlError(e) && e.code === "decryption_failed") throw e;
    const why = isSamlError(e) ? e.message : "not valid UTF-8";
    throw fail(
      `the decrypted content is not one well-formed saml:Assertion: ${why}`,
      "EncryptedData",
    );
  }
}

function isEnc(el: XmlElement, local: string): boolean {
  return el.ns === XMLENC_NS && el.local === local;
}

function isDs(el: XmlElement, local: string): boolean {
  return el.ns === DSIG_NS && el.local === local;
}

/** EncryptedAssertion: xenc:EncryptedData, then xenc:EncryptedKey* (saml-core 2.3.4). */
function splitEncryptedAssertion(encrypted: XmlElement): {
  encryptedData: XmlElement;
  siblingKeys: XmlElement[];
} {
  if (encrypted.ns !== SAML_ASSERTION_NS || encrypted.local !== "EncryptedAssertion") {
    throw fail("not a saml:EncryptedAssertion element");
  }
  assertNoText(encrypted, FIELD);
  const [first, ...rest] = childElements(encrypted);
  if (first === undefined || !isEnc(first, "EncryptedData")) {
    throw fail("expected xenc:EncryptedData as the first child (saml-core 2.3.4)");
  }
  for (const r of rest) {
    if (!isEnc(r, "EncryptedKey"))
      throw fail(`unexpected ${r.qname} (only xenc:EncryptedKey may follow EncryptedData)`);
  }
  return { encryptedData: first, siblingKeys: rest };
}

function assertNoText(el: XmlElement, field: string): void {
  for (const c of el.children) {
    if (c.type === "text" && c.value.trim() !== "")
      throw fail(`unexpected text inside ${el.local}`, field);
  }
}

interface Content {
  readonly algorithm: ContentAlgorithm;
  readonly cipherValue: Buffer;
}

/** EncryptedData (xmlenc-core1 3.4): EncryptionMethod, ds:KeyInfo?, CipherData, EncryptionProperties?. */
function readEncryptedData(ed: XmlElement): Content {
  const type = attr(ed, "Type");
  if (type !== undefined && type !== TYPE_ELEMENT) {
    throw fail("EncryptedData must encrypt an element (saml-core 2.3.4)", "EncryptedData Type", {
      expected: TYPE_ELEMENT,
      received: type,
    });
  }
  const parts = childrenByName(ed, "EncryptedData", [
    "EncryptionMethod",
    "KeyInfo",
    "CipherData",
    "EncryptionProperties",
  ]);
  const method = parts.get("EncryptionMethod");
  if (method === undefined)
    throw fail("EncryptedData names no EncryptionMethod", "EncryptedData EncryptionMethod");
  const uri = attr(method, "Algorithm") ?? "";
  const algorithm = CONTENT_ALGORITHMS[uri];
  if (algorithm === undefined) {
    throw fail(
      uri === `${XMLENC_NS}tripledes-cbc`
        ? "Triple DES is not accepted; configure the IdP to use AES-256"
        : "unsupported content encryption algorithm",
      "EncryptedData EncryptionMethod",
      { expected: "aes256-gcm, aes128-gcm, aes256-cbc or aes128-cbc", received: uri },
    );
  }
  return { algorithm, cipherValue: readCipherValue(parts.get("CipherData"), "EncryptedData") };
}

/** The direct children of `el`, each allowed name at most once, nothing else (XML-Enc or ds). */
function childrenByName(
  el: XmlElement,
  field: string,
  allowed: readonly string[],
): Map<string, XmlElement> {
  assertNoText(el, field);
  const out = new Map<string, XmlElement>();
  for (const c of childElements(el)) {
    const ok = c.local === "KeyInfo" ? isDs(c, "KeyInfo") : c.ns === XMLENC_NS;
    if (!ok || !allowed.includes(c.local) || out.has(c.local)) {
      throw fail(`unexpected or repeated ${c.qname} in ${field}`, field);
    }
    out.set(c.local, c);
  }
  return out;
}

function readCipherValue(cipherData: XmlElement | undefined, field: string): Buffer {
  if (cipherData === undefined) throw fail(`${field} has no CipherData`, `${field} CipherData`);
  const [value, ...more] = childElements(cipherData);
  if (value !== undefined && isEnc(value, "CipherReference")) {
    throw fail(
      "CipherReference is not supported: the ciphertext must be inline (CipherValue)",
      `${field} CipherData`,
    );
  }
  if (value === undefined || more.length > 0 || !isEnc(value, "CipherValue")) {
    throw fail("CipherData must hold exactly one CipherValue", `${field} CipherData`);
  }
  try {
    return decodeBase64Strict(directText(value), `${field} CipherValue`);
  } catch {
    throw fail("CipherValue is not valid Base64", `${field} CipherValue`);
  }
}

/**
 * The EncryptedKeys that may carry EncryptedData's key: those inside its ds:KeyInfo, and the
 * siblings it points at by ds:RetrievalMethod (by Id) or ds:KeyName (by CarriedKeyName); when
 * it points at none, every sibling (xmlenc-core1 3.5, extensions to ds:KeyInfo).
 */
function candidateKeys(encryptedData: XmlElement, siblings: readonly XmlElement[]): XmlElement[] {
  const inside: XmlElement[] = [];
  const referenced = new Set<XmlElement>();
  let pointed = false;
  const keyInfo = childElements(encryptedData).find((c) => isDs(c, "KeyInfo"));
  for (const c of keyInfo === undefined ? [] : childElements(keyInfo)) {
    if (isEnc(c, "EncryptedKey")) {
      inside.push(c);
    } else if (isDs(c, "RetrievalMethod") && attr(c, "Type") === TYPE_ENCRYPTED_KEY) {
      pointed = true;
      const uri = attr(c, "URI") ?? "";
      const target = uri.startsWith("#")
        ? siblings.find((s) => attr(s, "Id") === uri.slice(1))
        : undefined;
      if (target === undefined) {
        throw fail(
          "ds:RetrievalMethod points to no EncryptedKey of this EncryptedAssertion (only same-message references are followed)",
          "KeyInfo RetrievalMethod",
          { received: uri },
        );
      }
      referenced.add(target);
    } else if (isDs(c, "KeyName")) {
      const name = directText(c).trim();
      for (const s of siblings) {
        const carried = childElements(s).find((x) => isEnc(x, "CarriedKeyName"));
        if (carried !== undefined && directText(carried).trim() === name) {
          pointed = true;
          referenced.add(s);
        }
      }
    }
  }
  const all = [...inside, ...(pointed ? siblings.filter((s) => referenced.has(s)) : siblings)];
  if (all.length === 0) throw fail("no xenc:EncryptedKey carries the content key", "KeyInfo");
  if (all.length > MAX_ENCRYPTED_KEYS) {
    throw fail(`more than ${MAX_ENCRYPTED_KEYS} EncryptedKey elements`, "EncryptedKey", {
      received: String(all.length),
    });
  }
  return all;
}

/** EncryptedKey (xmlenc-core1 3.5.1) with an RSA-OAEP EncryptionMethod (5.5.2). */
function readEncryptedKey(ek: XmlElement): KeyTransport {
  const parts = childrenByName(ek, "EncryptedKey", [
    "EncryptionMethod",
    "KeyInfo",
    "CipherData",
    "EncryptionProperties",
    "ReferenceList",
    "CarriedKeyName",
  ]);
  const method = parts.get("EncryptionMethod");
  const field = "EncryptedKey EncryptionMethod";
  if (method === undefined) throw fail("EncryptedKey names no EncryptionMethod", field);
  const uri = attr(method, "Algorithm") ?? "";
  if (uri === RSA_1_5) {
    throw fail(
      "RSA PKCS#1 v1.5 key transport (rsa-1_5) is refused: it is open to Bleichenbacher's padding-oracle attack. Configure the IdP to use RSA-OAEP",
      field,
      { expected: `${RSA_OAEP_MGF1P} or ${RSA_OAEP}`, received: uri },
    );
  }
  if (uri !== RSA_OAEP_MGF1P && uri !== RSA_OAEP) {
    throw fail("unsupported key transport algorithm", field, {
      expected: `${RSA_OAEP_MGF1P} or ${RSA_OAEP}`,
      received: uri,
    });
  }
  // Parameters (5.5.2): ds:DigestMethod (default SHA-1), xenc:OAEPparams (the label, default
  // empty) and, for xmlenc11#rsa-oaep only, xenc11:MGF (default MGF1 with SHA-1; rsa-oaep-mgf1p
  // fixes MGF1 with SHA-1).
  let hash: HashName = "sha1";
  let mgfHash: HashName | "sha224" = "sha1";
  let label: Buffer | undefined;
  for (const p of childElements(method)) {
    if (isDs(p, "DigestMethod")) {
      const d = attr(p, "Algorithm") ?? "";
      const h = DIGEST_METHODS[d];
      if (h === undefined)
        throw fail("unsupported OAEP DigestMethod", `${field} DigestMethod`, { received: d });
      hash = h;
    } else if (isEnc(p, "OAEPparams")) {
      try {
        label = decodeBase64Strict(directText(p), "OAEPparams");
      } catch {
        throw fail("OAEPparams is not valid Base64", `${field} OAEPparams`);
      }
    } else if (uri === RSA_OAEP && p.ns === XMLENC11_NS && p.local === "MGF") {
      const m = attr(p, "Algorithm") ?? "";
      const h = MGF_ALGORITHMS[m];
      if (h === undefined)
        throw fail("unsupported OAEP mask generation function", `${field} MGF`, { received: m });
      mgfHash = h;
    } else {
      throw fail(`unexpected ${p.qname} in the RSA-OAEP EncryptionMethod`, field);
    }
  }
  return {
    hash,
    mgfHash,
    label,
    cipherValue: readCipherValue(parts.get("CipherData"), "EncryptedKey"),
    recipientFingerprint: keyInfoCertificateFingerprint(parts.get("KeyInfo")),
  };
}

/** Informational only (for the admin's note): never used to choose or trust a key. */
function keyInfoCertificateFingerprint(keyInfo: XmlElement | undefined): string | undefined {
  if (keyInfo === undefined) return undefined;
  for (const x509Data of childElements(keyInfo)) {
    if (!isDs(x509Data, "X509Data")) continue;
    for (const c of childElements(x509Data)) {
      if (isDs(c, "X509Certificate"))
        return fingerprintOfBase64Der(directText(c).replace(/\s+/g, ""));
    }
  }
  return undefined;
}

/** RSA-OAEP decryption (RFC 8017 7.1.2); undefined on any failure, whatever its cause. */
function oaepDecrypt(key: KeyObject, t: KeyTransport): Buffer | undefined {
  try {
    if (t.hash === t.mgfHash) {
      // OpenSSL uses the OAEP digest for MGF1 too, and checks the padding in constant time.
      return privateDecrypt(
        { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: t.hash, oaepLabel: t.label },
        t.cipherValue,
      );
    }
    // A different MGF1 digest (e.g. rsa-oaep-mgf1p with SHA-256): node:crypto cannot say so, so
    // the raw RSA result is decoded here.
    const em = privateDecrypt({ key, padding: constants.RSA_NO_PADDING }, t.cipherValue);
    return oaepDecode(em, t.hash, t.mgfHash, t.label ?? Buffer.alloc(0));
  } catch {
    return undefined;
  }
}

/**
 * EME-OAEP decoding (RFC 8017 7.1.2 step 3), written without early exits so that every
 * malformed encoding takes the same path (Manger's attack needs them to differ).
 */
function oaepDecode(em: Buffer, hash: string, mgfHash: string, label: Buffer): Buffer | undefined {
  const hLen = createHash(hash).digest().length;
  const k = em.length;
  if (k < 2 * hLen + 2) return undefined;
  const lHash = createHash(hash).update(label).digest();
  const maskedSeed = em.subarray(1, 1 + hLen);
  const maskedDb = em.subarray(1 + hLen);
  const seed = xor(maskedSeed, mgf1(maskedDb, hLen, mgfHash));
  const db = xor(maskedDb, mgf1(seed, k - hLen - 1, mgfHash));
  let bad = em[0]! | (timingSafeEqual(db.subarray(0, hLen), lHash) ? 0 : 1);
  let searching = 1;
  let index = 0;
  for (let i = hLen; i < db.length; i++) {
    const b = db[i]!;
    const isOne = (b ^ 1) === 0 ? 1 : 0;
    const isZero = b === 0 ? 1 : 0;
    index += searching & isOne ? i : 0;
    bad |= searching & (1 - isZero) & (1 - isOne);
    searching &= 1 - isOne;
  }
  bad |= searching;
  return bad === 0 ? Buffer.from(db.subarray(index + 1)) : undefined;
}

/** MGF1 (RFC 8017 B.2.1). */
function mgf1(seed: Buffer, length: number, hash: string): Buffer {
  const out: Buffer[] = [];
  let have = 0;
  for (let counter = 0; have < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    out.push(block);
    have += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const AES_BLOCK = 16;

function decryptContent(content: Content, key: Buffer): Buffer {
  const { algorithm, cipherValue } = content;
  const bits = algorithm.keyBytes * 8;
  if (algorithm.mode === "gcm") {
    // xmlenc-core1 5.2 (AES-GCM): IV (96 bits) || ciphertext || tag (128 bits); no additional data.
    if (cipherValue.length < GCM_IV_BYTES + GCM_TAG_BYTES)
      throw fail("the AES-GCM CipherValue is too short", "EncryptedData CipherValue");
    const iv = cipherValue.subarray(0, GCM_IV_BYTES);
    const tag = cipherValue.subarray(cipherValue.length - GCM_TAG_BYTES);
    const body = cipherValue.subarray(GCM_IV_BYTES, cipherValue.length - GCM_TAG_BYTES);
    try {
      const d = createDecipheriv(`aes-${bits}-gcm` as CipherGCMTypes, key, iv, {
        authTagLength: GCM_TAG_BYTES,
      });
      d.setAuthTag(tag);
      return Buffer.concat([d.update(body), d.final()]);
    } catch {
      throw fail(
        "the AES-GCM authentication tag does not match: the encrypted Assertion was altered in transit",
        "EncryptedData CipherValue",
      );
    }
  }
  // xmlenc-core1 5.2 (AES-CBC): IV (128 bits) || ciphertext. Padding (5.2): the last octet is the
  // padding length (1 to 16), the other padding octets are arbitrary, so it is not PKCS#7 and
  // is removed here. Every failure below reads the same (see the file comment).
  if (cipherValue.length < 2 * AES_BLOCK || cipherValue.length % AES_BLOCK !== 0) {
    throw fail(CONTENT_FAILED, "EncryptedData");
  }
  let padded: Buffer;
  try {
    const d = createDecipheriv(`aes-${bits}-cbc`, key, cipherValue.subarray(0, AES_BLOCK));
    d.setAutoPadding(false);
    padded = Buffer.concat([d.update(cipherValue.subarray(AES_BLOCK)), d.final()]);
  } catch {
    throw fail(CONTENT_FAILED, "EncryptedData");
  }
  const pad = padded[padded.length - 1]!;
  if (pad < 1 || pad > AES_BLOCK) throw fail(CONTENT_FAILED, "EncryptedData");
  return padded.subarray(0, padded.length - pad);
}

// ---------------------------------------------------------------------------------------------
// Encryption (the mock IdP and tests): the shape Entra's token encryption sends.

export interface EncryptionRecipient {
  readonly publicKey: KeyObject;
  /** Base64 DER of the recipient's certificate, put in the EncryptedKey's KeyInfo. */
  readonly certificate?: string;
}

export interface EncryptOptions {
  /** Content encryption. Default aes256-cbc, what Entra sends. */
  readonly algorithm?: "aes256-gcm" | "aes256-cbc";
  /** Key transport. Default rsa-oaep-mgf1p with SHA-1, what Entra sends. */
  readonly keyTransport?: "rsa-oaep-mgf1p" | "rsa-oaep";
}

/**
 * Encrypts `assertionXml` (which must declare every namespace it uses; it is encrypted as given,
 * unchecked) for `recipient` and returns the EncryptedAssertion XML: xenc:EncryptedData of Type
 * Element whose ds:KeyInfo holds the xenc:EncryptedKey, as Entra writes it.
 */
export function encryptAssertion(
  assertionXml: string,
  recipient: EncryptionRecipient,
  options: EncryptOptions = {},
): string {
  const algorithm = options.algorithm ?? "aes256-cbc";
  const transport = options.keyTransport ?? "rsa-oaep-mgf1p";
  const key = randomBytes(32);
  const plaintext = Buffer.from(assertionXml, "utf8");
  let cipherValue: Buffer;
  let contentUri: string;
  if (algorithm === "aes256-gcm") {
    const iv = randomBytes(GCM_IV_BYTES);
    const c = createCipheriv("aes-256-gcm", key, iv, { authTagLength: GCM_TAG_BYTES });
    const body = Buffer.concat([c.update(plaintext), c.final()]);
    cipherValue = Buffer.concat([iv, body, c.getAuthTag()]);
    contentUri = `${XMLENC11_NS}aes256-gcm`;
  } else {
    // PKCS#7 padding is one of the paddings xmlenc-core1 5.2 allows (last octet = length).
    const iv = randomBytes(AES_BLOCK);
    const c = createCipheriv("aes-256-cbc", key, iv);
    cipherValue = Buffer.concat([iv, c.update(plaintext), c.final()]);
    contentUri = `${XMLENC_NS}aes256-cbc`;
  }

  const oaepHash: HashName = transport === "rsa-oaep" ? "sha256" : "sha1";
  const wrapped = publicEncrypt(
    { key: recipient.publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash },
    key,
  );
  const transportMethod =
    transport === "rsa-oaep"
      ? `<e:EncryptionMethod Algorithm="${RSA_OAEP}"><DigestMethod Algorithm="${DIGEST_METHOD_URI.sha256}"/>` +
        `<xenc11:MGF xmlns:xenc11="${XMLENC11_NS}" Algorithm="${XMLENC11_NS}mgf1sha256"/></e:EncryptionMethod>`
      : `<e:EncryptionMethod Algorithm="${RSA_OAEP_MGF1P}"><DigestMethod Algorithm="${DIGEST_METHOD_URI.sha1}"/></e:EncryptionMethod>`;
  const recipientKeyInfo =
    recipient.certificate === undefined
      ? ""
      : `<KeyInfo><X509Data><X509Certificate>${recipient.certificate}</X509Certificate></X509Data></KeyInfo>`;
  return (
    `<EncryptedAssertion xmlns="${SAML_ASSERTION_NS}">` +
    `<xenc:EncryptedData xmlns:xenc="${XMLENC_NS}" Type="${TYPE_ELEMENT}">` +
    `<xenc:EncryptionMethod Algorithm="${contentUri}"/>` +
    `<KeyInfo xmlns="${DSIG_NS}"><e:EncryptedKey xmlns:e="${XMLENC_NS}">${transportMethod}${recipientKeyInfo}` +
    `<e:CipherData><e:CipherValue>${wrapped.toString("base64")}</e:CipherValue></e:CipherData></e:EncryptedKey></KeyInfo>` +
    `<xenc:CipherData><xenc:CipherValue>${cipherValue.toString("base64")}</xenc:CipherValue></xenc:CipherData>` +
    `</xenc:EncryptedData></EncryptedAssertion>`
  );
}

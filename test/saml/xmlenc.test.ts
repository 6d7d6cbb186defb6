/**
 * XML Encryption of Assertions (saml-core-2.0-os 2.3.4, xmlenc-core1): round trips, the
 * validator end to end, every place the EncryptedKey may stand, and each refusal by its code.
 * Cross-checked with xmlsec1, an independent implementation.
 */

import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { entraId } from "../../src/mock-idp/response.ts";
import { readCertificate } from "../../src/saml/certs.ts";
import { signEnveloped } from "../../src/saml/dsig.ts";
import { SamlError } from "../../src/saml/errors.ts";
import {
  type ReplayCache,
  type ResponseValidationOptions,
  validateResponse,
  validateResponseXml,
} from "../../src/saml/response.ts";
import { canonicalize } from "../../src/saml/xml/c14n.ts";
import { parseXml, parseXmlFragment } from "../../src/saml/xml/parse.ts";
import { child, type XmlElement } from "../../src/saml/xml/tree.ts";
import { cbcContentFailure, decryptAssertion, encryptAssertion } from "../../src/saml/xmlenc.ts";
import {
  ACS,
  type Content,
  certBase64,
  handEncrypt,
  ISSUER,
  KEYS_DIR,
  type Layout,
  mockResponse,
  NOW,
  publicKeyOf,
  REQUEST_ID,
  readCertPem,
  readKey,
  SP_ENTITY_ID,
  type Transport,
  tamperContent,
} from "./xmlenc-helpers.ts";

const SAML = "urn:oasis:names:tc:SAML:2.0:assertion";
const SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol";

const spKey = readKey("sp-rsa");
const otherKey = readKey("other-rsa");
const spRecipient = { publicKey: publicKeyOf("sp-rsa"), certificate: certBase64("sp-rsa") };
const idpCert = readCertificate(readCertPem("idp-rsa"));

function memoryReplayCache(): ReplayCache {
  const seen = new Set<string>();
  return {
    consume(key) {
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    },
  };
}

function options(over: Partial<ResponseValidationOptions> = {}): ResponseValidationOptions {
  return {
    idpCertificates: [idpCert],
    idpEntityId: ISSUER,
    spEntityId: SP_ENTITY_ID,
    acsUrl: ACS,
    expectedRequestId: REQUEST_ID,
    now: NOW,
    replayCache: memoryReplayCache(),
    spDecryptionKeys: [spKey],
    ...over,
  };
}

function b64(xml: string): string {
  return Buffer.from(xml, "utf8").toString("base64");
}

/** The plain Assertion XML of an unencrypted mock Response, and the Response around it. */
function plainAssertion(signing: "assertion" | "none" = "assertion"): {
  response: string;
  assertion: string;
} {
  const response = mockResponse({ signing });
  const start = response.indexOf("<Assertion ");
  const end = response.indexOf("</Assertion>") + "</Assertion>".length;
  return { response, assertion: response.slice(start, end) };
}

/** Puts `encrypted` in the place of the Response's Assertion. */
function swapAssertion(responseXml: string, encrypted: string): string {
  const start = responseXml.indexOf("<Assertion ");
  const end = responseXml.indexOf("</Assertion>") + "</Assertion>".length;
  return responseXml.slice(0, start) + encrypted + responseXml.slice(end);
}

function encryptedChild(response: XmlElement): XmlElement {
  const el = child(response, SAML, "EncryptedAssertion");
  assert.ok(el !== undefined, "no EncryptedAssertion in the Response");
  return el;
}

function assertDecryptionFailed(fn: () => unknown, note?: RegExp): SamlError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SamlError, `expected a SamlError, got ${String(caught)}`);
  assert.equal(caught.code, "decryption_failed", caught.message);
  if (note !== undefined) assert.match(caught.detail.note ?? "", note);
  return caught;
}

async function rejectsWith(p: Promise<unknown>, code: string): Promise<SamlError> {
  let caught: unknown;
  try {
    await p;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof SamlError, `expected a SamlError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

describe("encryptAssertion / decryptAssertion round trips", () => {
  const { response, assertion } = plainAssertion();
  const original = canonicalize(parseXml(assertion));
  for (const algorithm of ["aes256-gcm", "aes256-cbc"] as const) {
    for (const keyTransport of ["rsa-oaep-mgf1p", "rsa-oaep"] as const) {
      it(`${algorithm} with ${keyTransport}`, () => {
        const enc = encryptAssertion(assertion, spRecipient, { algorithm, keyTransport });
        const doc = parseXml(swapAssertion(response, enc));
        const decrypted = decryptAssertion(encryptedChild(doc), [spKey]);
        assert.equal(decrypted.ns, SAML);
        assert.equal(decrypted.local, "Assertion");
        // In place of the EncryptedAssertion: its parent is the Response.
        assert.equal(decrypted.parent, doc);
        assert.equal(canonicalize(decrypted), original);
      });
    }
  }

  it("writes Entra's shape: EncryptedData of Type Element, EncryptedKey inside its KeyInfo", () => {
    const enc = parseXml(encryptAssertion(assertion, spRecipient));
    assert.equal(enc.ns, SAML);
    assert.equal(enc.local, "EncryptedAssertion");
    const ed = child(enc, "http://www.w3.org/2001/04/xmlenc#", "EncryptedData");
    assert.ok(ed !== undefined);
    assert.equal(
      ed.attributes.find((a) => a.local === "Type")?.value,
      "http://www.w3.org/2001/04/xmlenc#Element",
    );
    const keyInfo = child(ed, "http://www.w3.org/2000/09/xmldsig#", "KeyInfo");
    assert.ok(keyInfo !== undefined);
    assert.ok(child(keyInfo, "http://www.w3.org/2001/04/xmlenc#", "EncryptedKey") !== undefined);
  });

  const transports: Transport[] = [
    "rsa-oaep-mgf1p",
    "rsa-oaep-mgf1p-sha256",
    "rsa-oaep-sha256",
    "rsa-oaep-sha256-mgf1sha1",
    "rsa-oaep-sha512-mgf1sha256",
    "rsa-oaep-label",
  ];
  for (const transport of transports) {
    it(`hand-built key transport ${transport} (independent OAEP encoder)`, () => {
      const enc = handEncrypt({
        plaintext: assertion,
        recipient: spRecipient.publicKey,
        transport,
      });
      const doc = parseXml(swapAssertion(response, enc));
      assert.equal(canonicalize(decryptAssertion(encryptedChild(doc), [spKey])), original);
    });
  }

  const contents: Content[] = ["aes128-cbc", "aes256-cbc", "aes128-gcm", "aes256-gcm"];
  for (const content of contents) {
    it(`hand-built content ${content} (CBC with arbitrary padding octets, xmlenc-core1 5.2)`, () => {
      const enc = handEncrypt({ plaintext: assertion, recipient: spRecipient.publicKey, content });
      const doc = parseXml(swapAssertion(response, enc));
      assert.equal(canonicalize(decryptAssertion(encryptedChild(doc), [spKey])), original);
    });
  }

  const layouts: Layout[] = ["keyinfo", "retrieval-method", "key-name", "sibling"];
  for (const layout of layouts) {
    it(`finds the EncryptedKey: ${layout}, after another recipient's key`, () => {
      const enc = handEncrypt({
        plaintext: assertion,
        recipient: spRecipient.publicKey,
        layout,
        others: [publicKeyOf("other-rsa")],
      });
      const doc = parseXml(swapAssertion(response, enc));
      assert.equal(canonicalize(decryptAssertion(encryptedChild(doc), [spKey])), original);
    });
  }

  it("decrypts with the second of two configured keys", () => {
    const doc = parseXml(swapAssertion(response, encryptAssertion(assertion, spRecipient)));
    assert.equal(canonicalize(decryptAssertion(encryptedChild(doc), [otherKey, spKey])), original);
  });
});

describe("parseXmlFragment", () => {
  const doc = parseXml(`<p:R xmlns:p="urn:p" xmlns:q="urn:q"><p:C/></p:R>`);

  it("resolves prefixes in the context's scope and sets parent to the context", () => {
    const el = parseXmlFragment(`<q:A q:x="1"><p:B/></q:A>`, doc);
    assert.equal(el.ns, "urn:q");
    assert.equal(el.parent, doc);
    assert.equal(
      canonicalize(el),
      `<q:A xmlns:q="urn:q" q:x="1"><p:B xmlns:p="urn:p"></p:B></q:A>`,
    );
    // The context is not changed.
    assert.equal(doc.children.length, 1);
  });

  it("keeps the parser's refusals", () => {
    const code = (xml: string): string => {
      try {
        parseXmlFragment(xml, doc);
      } catch (e) {
        if (e instanceof SamlError) return e.code;
      }
      return "accepted";
    };
    assert.equal(code(`<z:A/>`), "malformed_xml");
    assert.equal(code(`<q:A/><q:B/>`), "malformed_xml");
    assert.equal(code(`<?xml version="1.0"?><q:A/>`), "xml_pi_forbidden");
    assert.equal(code(`<!DOCTYPE q:A><q:A/>`), "xml_dtd_forbidden");
    assert.equal(code(`<q:A>&ent;</q:A>`), "xml_entity_forbidden");
    assert.equal(code(` <!-- c --><q:A/> `), "accepted");
  });

  it("counts depth from the top of the context's document", () => {
    const inner = doc.children[0] as XmlElement;
    assert.throws(
      () => parseXmlFragment(`<q:A><q:B/></q:A>`, inner, { maxDepth: 3 }),
      (e: unknown) => e instanceof SamlError && e.code === "xml_too_deep",
    );
    assert.equal(parseXmlFragment(`<q:A/>`, inner, { maxDepth: 3 }).local, "A");
  });
});

describe("validateResponse with an EncryptedAssertion", () => {
  for (const algorithm of ["aes256-gcm", "aes256-cbc"] as const) {
    it(`signed Assertion, then encrypted (${algorithm})`, async () => {
      const xml = mockResponse({ signing: "assertion", encryptFor: { ...spRecipient, algorithm } });
      assert.ok(!xml.includes("<Assertion "));
      const r = await validateResponse(b64(xml), options());
      assert.equal(r.encrypted, true);
      assert.deepEqual(r.signed, { response: false, assertion: true });
      assert.equal(r.nameId, "ada@contoso.example");
      assert.equal(r.email, "ada@contoso.example");
    });
  }

  it("Response signing only: the Response signature covers the EncryptedAssertion", async () => {
    const xml = mockResponse({ signing: "response", encryptFor: spRecipient });
    const r = await validateResponse(b64(xml), options());
    assert.equal(r.encrypted, true);
    assert.deepEqual(r.signed, { response: true, assertion: false });
  });

  it("Response and Assertion signed", async () => {
    const xml = mockResponse({
      signing: "both",
      encryptFor: { ...spRecipient, algorithm: "aes256-gcm" },
    });
    const r = await validateResponse(b64(xml), options());
    assert.deepEqual(r.signed, { response: true, assertion: true });
  });

  it("decrypts with the second of two configured keys", async () => {
    const xml = mockResponse({ encryptFor: spRecipient });
    const r = await validateResponse(b64(xml), options({ spDecryptionKeys: [otherKey, spKey] }));
    assert.equal(r.encrypted, true);
  });

  it("an Assertion using prefixes declared only on the Response, signed in that context", async () => {
    const xml = prefixedResponse("assertion");
    const r = await validateResponseXml(xml, options());
    assert.equal(r.encrypted, true);
    assert.equal(r.signed.assertion, true);
    assert.equal(r.nameId, "ada@contoso.example");
  });

  it("the same, signed on the Response only", async () => {
    const r = await validateResponseXml(prefixedResponse("response"), options());
    assert.deepEqual(r.signed, { response: true, assertion: false });
  });

  it("a tampered Assertion signature inside the ciphertext is still caught after decryption", async () => {
    const xml = prefixedResponse("assertion", (a) => a.replace("Ada Lovelace", "Eve Lovelace"));
    await rejectsWith(validateResponseXml(xml, options()), "digest_mismatch");
  });
});

/**
 * A Response written by hand: `saml:` and `ds:` declared on samlp:Response only, the Assertion
 * signed as it stands there (exclusive C14N renders the inherited declarations the same way as
 * its own), then encrypted with its plaintext still relying on the Response's declarations.
 */
function prefixedResponse(
  signing: "assertion" | "response",
  tamper?: (assertionXml: string) => string,
  encrypt = true,
): string {
  const id = entraId();
  const nb = new Date(NOW.getTime() - 5 * 60_000).toISOString();
  const noa = new Date(NOW.getTime() + 60 * 60_000).toISOString();
  const decl = `xmlns:saml="${SAML}"`;
  let assertion =
    `<saml:Assertion ${decl} ID="${id}" IssueInstant="${NOW.toISOString()}" Version="2.0">` +
    `<saml:Issuer>${ISSUER}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">ada@contoso.example</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="${REQUEST_ID}" NotOnOrAfter="${noa}" Recipient="${ACS}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${nb}" NotOnOrAfter="${noa}"><saml:AudienceRestriction><saml:Audience>${SP_ENTITY_ID}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AttributeStatement><saml:Attribute Name="http://schemas.microsoft.com/identity/claims/displayname"><saml:AttributeValue>Ada Lovelace</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>` +
    `<saml:AuthnStatement AuthnInstant="${NOW.toISOString()}" SessionIndex="${id}"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:Password</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    `</saml:Assertion>`;
  const key = { privateKey: readKey("idp-rsa"), certificate: certBase64("idp-rsa") };
  if (signing === "assertion") assertion = signEnveloped(assertion, key, { prefix: "ds" });
  if (tamper !== undefined) assertion = tamper(assertion);
  // Drop the Assertion's own declaration: from here on, `saml:` resolves on the Response.
  assertion = assertion.replace(` ${decl}`, "");
  assert.ok(!assertion.includes(decl));
  assert.throws(
    () => parseXml(assertion),
    (e: unknown) => e instanceof SamlError && e.code === "malformed_xml",
  );
  // Unencrypted: the Assertion inside its EncryptedAssertion, for xmlsec1 to encrypt in place.
  const enc = encrypt
    ? encryptAssertion(assertion, spRecipient, { algorithm: "aes256-gcm" })
    : `<saml:EncryptedAssertion>${assertion}</saml:EncryptedAssertion>`;
  let response =
    `<samlp:Response xmlns:samlp="${SAMLP}" ${decl} xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="${entraId()}" Version="2.0" IssueInstant="${NOW.toISOString()}" Destination="${ACS}" InResponseTo="${REQUEST_ID}">` +
    `<saml:Issuer>${ISSUER}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>` +
    `${enc}</samlp:Response>`;
  if (signing === "response") response = signEnveloped(response, key, { prefix: "ds" });
  return response;
}

describe("refusals: decryption_failed", () => {
  const { response, assertion } = plainAssertion();

  it("no SP decryption key configured", async () => {
    const xml = mockResponse({ encryptFor: spRecipient });
    const e = await rejectsWith(
      validateResponse(b64(xml), options({ spDecryptionKeys: [] })),
      "decryption_failed",
    );
    assert.match(e.detail.note ?? "", /no SP decryption key is configured/);
    await rejectsWith(
      validateResponse(b64(xml), options({ spDecryptionKeys: undefined })),
      "decryption_failed",
    );
  });

  it("only a wrong key configured (and the note names the certificate the IdP used)", async () => {
    const xml = mockResponse({ encryptFor: spRecipient });
    const e = await rejectsWith(
      validateResponse(b64(xml), options({ spDecryptionKeys: [otherKey] })),
      "decryption_failed",
    );
    assert.match(e.detail.note ?? "", /not configured here/);
    assert.match(e.detail.note ?? "", /SHA-256/);
  });

  it("a key that is not an RSA private key", () => {
    const doc = parseXml(swapAssertion(response, encryptAssertion(assertion, spRecipient)));
    assertDecryptionFailed(
      () => decryptAssertion(encryptedChild(doc), [readKey("idp-ec")]),
      /RSA private key/,
    );
  });

  it("a tampered AES-GCM tag", async () => {
    const xml = tamperContent(
      mockResponse({ encryptFor: { ...spRecipient, algorithm: "aes256-gcm" } }),
      -1,
      0x01,
    );
    const e = await rejectsWith(validateResponse(b64(xml), options()), "decryption_failed");
    assert.match(e.detail.note ?? "", /authentication tag/);
  });

  it("tampered AES-GCM ciphertext", async () => {
    const xml = tamperContent(
      mockResponse({ encryptFor: { ...spRecipient, algorithm: "aes256-gcm" } }),
      40,
    );
    await rejectsWith(validateResponse(b64(xml), options()), "decryption_failed");
  });

  it("tampered AES-CBC ciphertext: padding and parse failures read exactly the same", async () => {
    const xml = mockResponse({ encryptFor: { ...spRecipient, algorithm: "aes256-cbc" } });
    // The last octet of the next-to-last block flips the padding length octet to >= 0x80.
    const badPadding = await rejectsWith(
      validateResponse(b64(tamperContent(xml, -17)), options()),
      "decryption_failed",
    );
    // A flipped octet in the first ciphertext block garbles the Assertion's start tag.
    const badXml = await rejectsWith(
      validateResponse(b64(tamperContent(xml, 20, 0x3c)), options()),
      "decryption_failed",
    );
    assert.equal(badPadding.message, badXml.message);
    assert.deepEqual(badPadding.detail, badXml.detail);
  });

  it("tampered ciphertext in a signed Response is caught by the Response signature first", async () => {
    const xml = tamperContent(mockResponse({ signing: "response", encryptFor: spRecipient }), 20);
    await rejectsWith(validateResponse(b64(xml), options()), "digest_mismatch");
  });

  it("rsa-1_5 key transport is refused, naming Bleichenbacher", () => {
    const enc = handEncrypt({
      plaintext: assertion,
      recipient: spRecipient.publicKey,
      transport: "rsa-1_5",
    });
    const doc = parseXml(swapAssertion(response, enc));
    assertDecryptionFailed(() => decryptAssertion(encryptedChild(doc), [spKey]), /Bleichenbacher/);
  });

  it("an unknown content algorithm (Triple DES)", () => {
    const enc = handEncrypt({
      plaintext: assertion,
      recipient: spRecipient.publicKey,
      contentUri: "http://www.w3.org/2001/04/xmlenc#tripledes-cbc",
    });
    const doc = parseXml(swapAssertion(response, enc));
    assertDecryptionFailed(() => decryptAssertion(encryptedChild(doc), [spKey]), /Triple DES/);
  });

  it("CipherReference instead of an inline CipherValue", () => {
    const enc = encryptAssertion(assertion, spRecipient).replace(
      /<xenc:CipherData><xenc:CipherValue>[^<]*<\/xenc:CipherValue><\/xenc:CipherData><\/xenc:EncryptedData>/,
      `<xenc:CipherData><xenc:CipherReference URI="http://127.0.0.1:1/x"/></xenc:CipherData></xenc:EncryptedData>`,
    );
    const doc = parseXml(swapAssertion(response, enc));
    assertDecryptionFailed(() => decryptAssertion(encryptedChild(doc), [spKey]), /CipherReference/);
  });

  it("a RetrievalMethod to an EncryptedKey that is not there", () => {
    const enc = handEncrypt({
      plaintext: assertion,
      recipient: spRecipient.publicKey,
      layout: "retrieval-method",
    }).replace('URI="#_ek"', 'URI="#_nowhere"');
    const doc = parseXml(swapAssertion(response, enc));
    assertDecryptionFailed(() => decryptAssertion(encryptedChild(doc), [spKey]), /RetrievalMethod/);
  });

  it("EncryptedData of Type Content", () => {
    const enc = encryptAssertion(assertion, spRecipient).replace(
      'Type="http://www.w3.org/2001/04/xmlenc#Element"',
      'Type="http://www.w3.org/2001/04/xmlenc#Content"',
    );
    const doc = parseXml(swapAssertion(response, enc));
    assertDecryptionFailed(() => decryptAssertion(encryptedChild(doc), [spKey]));
  });

  for (const algorithm of ["aes256-gcm", "aes256-cbc"] as const) {
    it(`plaintext that is not an Assertion (${algorithm})`, async () => {
      const notAssertion = assertion
        .replace(/^<Assertion /, "<Evidence ")
        .replace(/<\/Assertion>$/, "</Evidence>");
      const xml = swapAssertion(
        response,
        encryptAssertion(notAssertion, spRecipient, { algorithm }),
      );
      const e = await rejectsWith(validateResponse(b64(xml), options()), "decryption_failed");
      if (algorithm === "aes256-gcm") assert.match(e.detail.note ?? "", /not a saml:Assertion/);
    });

    it(`plaintext with two sibling Assertions (${algorithm})`, async () => {
      const xml = swapAssertion(
        response,
        encryptAssertion(assertion + assertion, spRecipient, { algorithm }),
      );
      await rejectsWith(validateResponse(b64(xml), options()), "decryption_failed");
    });
  }

  it("plaintext Assertion with another Assertion nested inside: assertion_multiple (GCM), uniform decryption_failed (CBC, unsigned Response)", async () => {
    const { assertion: unsigned } = plainAssertion("none");
    const nested = unsigned.replace(
      /<\/Subject>/,
      `</Subject><Advice>${unsigned.replace(/ ID="[^"]+"/, ` ID="${entraId()}"`)}</Advice>`,
    );
    const gcm = swapAssertion(
      mockResponse({ signing: "none" }),
      encryptAssertion(nested, spRecipient, { algorithm: "aes256-gcm" }),
    );
    await rejectsWith(validateResponse(b64(gcm), options()), "assertion_multiple");
    // CBC is malleable and nothing signs the ciphertext: a failure after decryption must be
    // indistinguishable from a failure of decryption (no oracle).
    const cbc = swapAssertion(
      mockResponse({ signing: "none" }),
      encryptAssertion(nested, spRecipient, { algorithm: "aes256-cbc" }),
    );
    const err = await validateResponse(b64(cbc), options()).then(
      () => assert.fail("accepted"),
      (e: unknown) => e,
    );
    assert.deepEqual((err as SamlError).toJSON(), cbcContentFailure().toJSON());
  });

  it("plaintext with an XML declaration or a DTD", () => {
    for (const plaintext of [
      `<?xml version="1.0"?>${assertion}`,
      `<!DOCTYPE x [<!ENTITY a "b">]>${assertion}`,
    ]) {
      const doc = parseXml(
        swapAssertion(
          response,
          encryptAssertion(plaintext, spRecipient, { algorithm: "aes256-gcm" }),
        ),
      );
      assertDecryptionFailed(() => decryptAssertion(encryptedChild(doc), [spKey]));
    }
  });

  it("plaintext that is not UTF-8", () => {
    const enc = handEncrypt({ plaintext: "x", recipient: spRecipient.publicKey });
    const bad = enc.replace(
      /(<xenc:CipherValue>)[^<]+(<\/xenc:CipherValue><\/xenc:CipherData><\/xenc:EncryptedData>)/,
      (_m, a, b) => {
        void a;
        return `${a}${Buffer.alloc(40, 0xff).toString("base64")}${b}`;
      },
    );
    const doc = parseXml(swapAssertion(response, bad));
    assertDecryptionFailed(() => decryptAssertion(encryptedChild(doc), [spKey]));
  });
});

describe("fixtures: test/fixtures/encrypted", () => {
  const dir = join(KEYS_DIR, "..", "encrypted");
  const cases = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory());
  it("has the refusal cases", () => {
    assert.ok(cases.some((c) => c.name === "bad-decryption_failed-wrong-key"));
    assert.ok(cases.length >= 6);
  });
  for (const c of cases) {
    it(c.name, async () => {
      const xml = readFileSync(join(dir, c.name, "response.xml"), "utf8");
      const m = /^bad-([a-z0-9_]+?)(?:-[a-z0-9_.-]+)?$/.exec(c.name);
      if (c.name.startsWith("good-")) {
        const r = await validateResponseXml(xml, options());
        assert.equal(r.encrypted, true);
      } else {
        assert.ok(m !== null, `fixture directory name ${c.name}`);
        await rejectsWith(validateResponseXml(xml, options()), m[1]!);
      }
    });
  }
});

describe("cross-check with xmlsec1", () => {
  const xmlsec = spawnSync("xmlsec1", ["--version"], { encoding: "utf8" });
  const skip = xmlsec.status === 0 ? false : "xmlsec1 is not installed (Debian package xmlsec1)";

  /** xmlsec1 --encrypt of the (first) Assertion of `docXml`, with a template naming `uri`. */
  function xmlsecEncrypt(docXml: string, uri: string, sessionKey: string): string {
    const tmp = mkdtempSync(join(tmpdir(), "gatehouse-xmlenc-"));
    try {
      writeFileSync(join(tmp, "doc.xml"), docXml);
      writeFileSync(
        join(tmp, "template.xml"),
        `<xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Type="http://www.w3.org/2001/04/xmlenc#Element">` +
          `<xenc:EncryptionMethod Algorithm="${uri}"/>` +
          `<ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey>` +
          `<xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"/>` +
          `<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>` +
          `<xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>`,
      );
      const out = join(tmp, "out.xml");
      execFileSync(
        "xmlsec1",
        [
          "--encrypt",
          "--pubkey-cert-pem",
          join(KEYS_DIR, "sp-rsa.crt"),
          "--session-key",
          sessionKey,
          "--xml-data",
          join(tmp, "doc.xml"),
          "--node-xpath",
          "//*[local-name()='Assertion']",
          "--output",
          out,
          join(tmp, "template.xml"),
        ],
        { stdio: "pipe" },
      );
      return readFileSync(out, "utf8");
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }

  // The Assertion stands inside a saml:EncryptedAssertion of the Response; xmlsec1 replaces it
  // with the EncryptedData built from the template.
  const shapes: [string, () => string][] = [
    [
      "Entra-shaped Assertion (own default namespace)",
      () =>
        mockResponse({ signing: "assertion" })
          .replace("<Assertion ", "<saml:EncryptedAssertion><Assertion ")
          .replace("</Assertion>", "</Assertion></saml:EncryptedAssertion>")
          .replace("<samlp:Response ", `<samlp:Response xmlns:saml="${SAML}" `),
    ],
    // xmlsec1 serializes the node without the declarations it inherits, so this plaintext
    // relies on the Response's `saml:` declaration.
    [
      "saml:-prefixed Assertion (Response's declarations)",
      () => prefixedResponse("assertion", undefined, false),
    ],
  ];
  const templates: [string, string, string][] = [
    ["aes256-cbc", "http://www.w3.org/2001/04/xmlenc#aes256-cbc", "aes-256"],
    ["aes256-gcm", "http://www.w3.org/2009/xmlenc11#aes256-gcm", "aes-256"],
    ["aes128-gcm", "http://www.w3.org/2009/xmlenc11#aes128-gcm", "aes-128"],
  ];
  for (const [name, uri, sessionKey] of templates) {
    for (const [shape, build] of shapes) {
      it(`xmlsec1 --encrypt (${name}, rsa-oaep-mgf1p), signed ${shape}: validated by us`, {
        skip,
      }, async () => {
        const xml = xmlsecEncrypt(build(), uri, sessionKey);
        assert.ok(
          xml.includes("EncryptedData") && !/<(saml:)?Assertion /.test(xml),
          "xmlsec1 did not encrypt",
        );
        const r = await validateResponseXml(xml, options());
        assert.equal(r.encrypted, true);
        assert.equal(r.signed.assertion, true);
        assert.equal(r.nameId, "ada@contoso.example");
        await rejectsWith(
          validateResponseXml(xml, options({ spDecryptionKeys: [otherKey] })),
          "decryption_failed",
        );
      });
    }
  }

  it("xmlsec1 --decrypt reads what encryptAssertion writes (both modes)", { skip }, () => {
    const tmp = mkdtempSync(join(tmpdir(), "gatehouse-xmlenc-"));
    try {
      const { response, assertion } = plainAssertion();
      for (const algorithm of ["aes256-cbc", "aes256-gcm"] as const) {
        const xml = swapAssertion(
          response,
          encryptAssertion(assertion, spRecipient, { algorithm }),
        );
        writeFileSync(join(tmp, "enc.xml"), xml);
        const out = execFileSync(
          "xmlsec1",
          ["--decrypt", "--privkey-pem", join(KEYS_DIR, "sp-rsa.key"), join(tmp, "enc.xml")],
          { encoding: "utf8", stdio: "pipe" },
        );
        const decrypted = parseXml(out);
        const a = child(decrypted, SAML, "EncryptedAssertion");
        assert.ok(a !== undefined);
        const inner = child(a, SAML, "Assertion");
        assert.ok(inner !== undefined, `xmlsec1 output: ${out.slice(0, 200)}`);
        assert.equal(canonicalize(inner), canonicalize(parseXml(assertion)));
      }
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});

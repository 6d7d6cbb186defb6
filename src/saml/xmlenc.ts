/**
 * XML Encryption 1.1 (https://www.w3.org/TR/xmlenc-core1/) for EncryptedAssertion
 * (saml-core-2.0-os 2.3.4): RSA-OAEP key transport, AES-256-GCM and AES-256-CBC content.
 */

import type { KeyObject } from "node:crypto";
import { SamlError } from "./errors.ts";
import type { XmlElement } from "./xml/tree.ts";

/** Decrypts an EncryptedAssertion and returns the Assertion element, parsed in its context. */
export function decryptAssertion(encrypted: XmlElement, keys: readonly KeyObject[]): XmlElement {
  if (keys.length === 0) {
    throw new SamlError("decryption_failed", {
      field: "EncryptedAssertion",
      note: "no SP decryption key is configured",
    });
  }
  throw new SamlError("decryption_failed", {
    field: "EncryptedAssertion",
    note: `not implemented yet (${encrypted.local})`,
  });
}

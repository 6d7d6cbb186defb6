/**
 * The algorithm identifiers we know, and the policy deciding which are acceptable.
 * XML-DSig 1.1 section 6, RFC 6931 (additional XML security URIs).
 */

export const DSIG_NS = "http://www.w3.org/2000/09/xmldsig#";

export const C14N_EXCLUSIVE = "http://www.w3.org/2001/10/xml-exc-c14n#";
export const C14N_EXCLUSIVE_WITH_COMMENTS = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
export const TRANSFORM_ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

export type HashName = "sha1" | "sha256" | "sha384" | "sha512";

export const DIGEST_METHODS: Readonly<Record<string, HashName>> = {
  "http://www.w3.org/2000/09/xmldsig#sha1": "sha1",
  "http://www.w3.org/2001/04/xmlenc#sha256": "sha256",
  "http://www.w3.org/2001/04/xmldsig-more#sha384": "sha384",
  "http://www.w3.org/2001/04/xmlenc#sha512": "sha512",
};

export interface SignatureMethod {
  readonly keyType: "rsa" | "ec";
  readonly hash: HashName;
}

export const SIGNATURE_METHODS: Readonly<Record<string, SignatureMethod>> = {
  "http://www.w3.org/2000/09/xmldsig#rsa-sha1": { keyType: "rsa", hash: "sha1" },
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256": { keyType: "rsa", hash: "sha256" },
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384": { keyType: "rsa", hash: "sha384" },
  "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512": { keyType: "rsa", hash: "sha512" },
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1": { keyType: "ec", hash: "sha1" },
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256": { keyType: "ec", hash: "sha256" },
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384": { keyType: "ec", hash: "sha384" },
  "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512": { keyType: "ec", hash: "sha512" },
};

export const SIGNATURE_METHOD_URI = {
  "rsa-sha1": "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
  "rsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
  "rsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
  "rsa-sha512": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
  "ecdsa-sha256": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
  "ecdsa-sha384": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
  "ecdsa-sha512": "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
} as const;
export type SignatureAlgorithm = keyof typeof SIGNATURE_METHOD_URI;

export const DIGEST_METHOD_URI: Readonly<Record<HashName, string>> = {
  sha1: "http://www.w3.org/2000/09/xmldsig#sha1",
  sha256: "http://www.w3.org/2001/04/xmlenc#sha256",
  sha384: "http://www.w3.org/2001/04/xmldsig-more#sha384",
  sha512: "http://www.w3.org/2001/04/xmlenc#sha512",
};

/** Which algorithms a connection accepts. SHA-1 is refused unless the connection opts in. */
export interface AlgorithmPolicy {
  readonly allowSha1?: boolean;
}

export function hashAllowed(hash: HashName, policy: AlgorithmPolicy): boolean {
  return hash !== "sha1" || policy.allowSha1 === true;
}

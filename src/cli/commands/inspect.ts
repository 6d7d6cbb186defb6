/**
 * `gatehouse inspect`: decodes any SAML message and prints what an admin looks for, without
 * validating anything. Reads with our own parser only, so what it shows is what the validator
 * would see.
 */

import { X509Certificate } from "node:crypto";
import { DSIG_NS } from "../../saml/algorithms.ts";
import { isSamlError, type SamlError } from "../../saml/errors.ts";
import { decodeUtf8 } from "../../saml/message.ts";
import {
  SAML_ASSERTION_NS,
  SAML_METADATA_NS,
  SAML_PROTOCOL_NS,
  XSI_NS,
} from "../../saml/namespaces.ts";
import { decodeRedirectMessage } from "../../saml/redirect.ts";
import { parseXml } from "../../saml/xml/parse.ts";
import {
  attr,
  child,
  childElements,
  children,
  descendants,
  directText,
  type XmlElement,
} from "../../saml/xml/tree.ts";
import {
  type CliIo,
  EXIT_OK,
  EXIT_REFUSED,
  fromNow,
  parseCommandLine,
  parseIsoInstant,
  readInput,
  UsageError,
} from "../command.ts";
import { prettyXml } from "../pretty-xml.ts";

export const usage = `Usage: gatehouse inspect [FILE|-] [--now ISO_INSTANT] [--json]

Decodes and prints a SAML message without validating it: a Response (base64 or XML), an
AuthnRequest or Logout message (HTTP-Redirect deflated base64, or XML), a whole Redirect URL
(SAMLRequest/SAMLResponse, RelayState, SigAlg), or metadata. No FILE or "-": standard input.

  --now ISO_INSTANT   the instant times are compared with (default: now)
  --json              the same facts as one JSON object
exit 0 printed, 1 the input is not a readable SAML message, 2 usage or unreadable file
`;

const OPTIONS = { now: { type: "string" }, json: { type: "boolean" } } as const;

/** Decoded messages larger than this are not SAML. */
const MAX_DECODED_BYTES = 4 * 1024 * 1024;

export type InputEncoding = "xml" | "base64" | "base64-deflated" | "redirect-url" | "query-string";

export interface RedirectFacts {
  readonly endpoint?: string;
  readonly parameter: "SAMLRequest" | "SAMLResponse";
  readonly relayState?: string;
  readonly sigAlg?: string;
  readonly signature: boolean;
}

export interface TimeFact {
  readonly where: string;
  readonly value: string;
  readonly fromNow: string | null;
}

export interface CertificateFact {
  readonly where: string;
  readonly fingerprint256: string | null;
  readonly subject: string | null;
  readonly notBefore: string | null;
  readonly notAfter: string | null;
  readonly expired: boolean | null;
  readonly expiresFromNow: string | null;
  readonly error?: string;
}

export interface SignatureFact {
  readonly where: string;
  readonly signedElementId: string | null;
  readonly referenceUri: string | null;
  readonly referencesParent: boolean;
  readonly signatureAlgorithm: string | null;
  readonly digestAlgorithm: string | null;
  readonly canonicalization: string | null;
  readonly transforms: string[];
}

export interface AssertionFact {
  readonly id: string | null;
  readonly issuer: string | null;
  readonly nameId: string | null;
  readonly nameIdFormat: string | null;
  readonly recipient: string | null;
  readonly subjectInResponseTo: string | null;
  readonly audiences: string[];
  readonly sessionIndex: string | null;
  readonly authnContextClassRef: string | null;
  readonly attributes: Record<string, string[]>;
}

export interface InspectReport {
  readonly encoding: InputEncoding;
  readonly redirect: RedirectFacts | null;
  readonly messageType: string;
  readonly id: string | null;
  readonly issuer: string | null;
  readonly destination: string | null;
  readonly inResponseTo: string | null;
  readonly status: { readonly codes: string[]; readonly message: string | null } | null;
  readonly request: Record<string, string | null> | null;
  readonly logout: Record<string, string | string[] | null> | null;
  readonly assertions: AssertionFact[];
  readonly encryptedAssertions: number;
  readonly metadata: MetadataFact[] | null;
  readonly times: TimeFact[];
  readonly signatures: SignatureFact[];
  readonly certificates: CertificateFact[];
  readonly now: string;
}

export interface MetadataFact {
  readonly entityId: string | null;
  readonly roles: {
    readonly type: string;
    readonly protocols: string | null;
    readonly endpoints: { service: string; binding: string | null; location: string | null }[];
    readonly nameIdFormats: string[];
    readonly keys: { use: string | null; fingerprint256: string | null }[];
  }[];
}

export async function run(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandLine(args, OPTIONS);
  if (positionals.length > 1) throw new UsageError("at most one input FILE (or - for stdin)");
  const now = values.now === undefined ? io.now() : parseIsoInstant(values.now, "--now");
  const input = await readInput(positionals[0], io);
  let report: InspectReport;
  let root: XmlElement;
  try {
    const decoded = decodeInput(input);
    if (decoded === undefined)
      throw new UsageError(`${positionals[0] ?? "standard input"}: empty input`);
    root = parseXml(decoded.xml);
    report = inspectTree(root, decoded.encoding, decoded.redirect, now);
  } catch (e) {
    if (!isSamlError(e)) throw e;
    io.stdout(
      values.json === true
        ? `${JSON.stringify({ ok: false, code: e.code, message: e.message })}\n`
        : unreadable(e),
    );
    return EXIT_REFUSED;
  }
  io.stdout(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : render(report, root));
  return EXIT_OK;
}

function unreadable(e: SamlError): string {
  return `NOT READABLE  ${e.code}\n  ${e.message}\n  Fix: ${e.fix}\n`;
}

// ---------------------------------------------------------------------------------------------
// Input detection.

interface Decoded {
  readonly xml: string;
  readonly encoding: InputEncoding;
  readonly redirect: RedirectFacts | null;
}

const MESSAGE_PARAMS = ["SAMLRequest", "SAMLResponse"] as const;

export function decodeInput(input: Buffer): Decoded | undefined {
  let bytes = input;
  if (bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) bytes = bytes.subarray(3);
  const text = bytes.toString("latin1").trim();
  if (text === "") return undefined;
  if (text.startsWith("<")) return { xml: decodeUtf8(bytes), encoding: "xml", redirect: null };
  if (/^https?:\/\//i.test(text)) {
    const url = URL.parse(text);
    if (url === null) throw new UsageError("the input looks like a URL but does not parse as one");
    return fromQuery(url.searchParams, "redirect-url", `${url.origin}${url.pathname}`);
  }
  if (/^(?:SAMLRequest|SAMLResponse|RelayState|SigAlg|Signature)=/.test(text)) {
    return fromQuery(new URLSearchParams(text.replace(/^\?/, "")), "query-string", undefined);
  }
  const value = text.replace(/%2B/gi, "+").replace(/%2F/gi, "/").replace(/%3D/gi, "=");
  return fromBase64(value, null);
}

function fromQuery(
  params: URLSearchParams,
  encoding: InputEncoding,
  endpoint: string | undefined,
): Decoded {
  const present = MESSAGE_PARAMS.filter((p) => params.has(p));
  if (present.length !== 1) {
    throw new UsageError("the URL must carry exactly one SAMLRequest or SAMLResponse parameter");
  }
  const parameter = present[0]!;
  const redirect: RedirectFacts = {
    ...(endpoint === undefined ? {} : { endpoint }),
    parameter,
    ...(params.has("RelayState") ? { relayState: params.get("RelayState")! } : {}),
    ...(params.has("SigAlg") ? { sigAlg: params.get("SigAlg")! } : {}),
    signature: params.has("Signature"),
  };
  // A pasted URL sometimes has '+' unescaped, which query decoding turns into a space.
  const value = params.get(parameter)!.replaceAll(" ", "+");
  const xml = decodeRedirectMessage(value, MAX_DECODED_BYTES);
  return { xml, encoding, redirect };
}

function fromBase64(value: string, redirect: RedirectFacts | null): Decoded {
  const compact = value.replace(/[ \t\r\n]+/g, "");
  if (compact.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
    // Let the binding's own decoder name the problem (malformed_base64).
    decodeRedirectMessage(compact, MAX_DECODED_BYTES);
  }
  const raw = Buffer.from(compact, "base64");
  let start = raw[0] === 0xef && raw[1] === 0xbb && raw[2] === 0xbf ? 3 : 0;
  while (start < raw.length && [0x20, 0x09, 0x0a, 0x0d].includes(raw[start]!)) start++;
  if (raw[start] === 0x3c) return { xml: decodeUtf8(raw), encoding: "base64", redirect };
  return {
    xml: decodeRedirectMessage(compact, MAX_DECODED_BYTES),
    encoding: "base64-deflated",
    redirect,
  };
}

// ---------------------------------------------------------------------------------------------
// Facts.

const TIME_ATTRIBUTES = new Set([
  "IssueInstant",
  "NotBefore",
  "NotOnOrAfter",
  "AuthnInstant",
  "SessionNotOnOrAfter",
  "validUntil",
]);

export function inspectTree(
  root: XmlElement,
  encoding: InputEncoding,
  redirect: RedirectFacts | null,
  now: Date,
): InspectReport {
  const issuerEl = child(root, SAML_ASSERTION_NS, "Issuer");
  return {
    encoding,
    redirect,
    messageType: messageType(root),
    id: attr(root, "ID") ?? null,
    issuer:
      issuerEl === undefined
        ? root.local === "EntityDescriptor"
          ? (attr(root, "entityID") ?? null)
          : null
        : directText(issuerEl).trim(),
    destination: attr(root, "Destination") ?? null,
    inResponseTo: attr(root, "InResponseTo") ?? null,
    status: statusOf(root),
    request: root.ns === SAML_PROTOCOL_NS && root.local === "AuthnRequest" ? requestOf(root) : null,
    logout: root.ns === SAML_PROTOCOL_NS && root.local === "LogoutRequest" ? logoutOf(root) : null,
    assertions: [...descendants(root)]
      .filter((e) => e.ns === SAML_ASSERTION_NS && e.local === "Assertion")
      .map(assertionOf),
    encryptedAssertions: [...descendants(root)].filter(
      (e) => e.ns === SAML_ASSERTION_NS && e.local === "EncryptedAssertion",
    ).length,
    metadata: root.ns === SAML_METADATA_NS ? metadataOf(root) : null,
    times: timesOf(root, now),
    signatures: [...descendants(root)]
      .filter((e) => e.ns === DSIG_NS && e.local === "Signature")
      .map(signatureOf),
    certificates: [...descendants(root)]
      .filter((e) => e.ns === DSIG_NS && e.local === "X509Certificate")
      .map((e) => certificateOf(e, now)),
    now: now.toISOString(),
  };
}

function messageType(root: XmlElement): string {
  const known =
    (root.ns === SAML_PROTOCOL_NS &&
      ["Response", "AuthnRequest", "LogoutRequest", "LogoutResponse", "ArtifactResolve"].includes(
        root.local,
      )) ||
    (root.ns === SAML_METADATA_NS &&
      ["EntityDescriptor", "EntitiesDescriptor"].includes(root.local)) ||
    (root.ns === SAML_ASSERTION_NS && root.local === "Assertion");
  return known ? root.local : `{${root.ns}}${root.local} (not a SAML 2.0 message)`;
}

/** "Response/Assertion/Conditions": where an element sits, by local names. */
function pathOf(el: XmlElement): string {
  const parts: string[] = [];
  for (let e: XmlElement | null = el; e !== null; e = e.parent) parts.unshift(e.local);
  return parts.join("/");
}

function statusOf(root: XmlElement): InspectReport["status"] {
  const status = child(root, SAML_PROTOCOL_NS, "Status");
  if (status === undefined) return null;
  const codes: string[] = [];
  for (
    let c = child(status, SAML_PROTOCOL_NS, "StatusCode");
    c !== undefined;
    c = child(c, SAML_PROTOCOL_NS, "StatusCode")
  ) {
    codes.push(attr(c, "Value") ?? "");
  }
  const message = child(status, SAML_PROTOCOL_NS, "StatusMessage");
  return { codes, message: message === undefined ? null : directText(message) };
}

function requestOf(root: XmlElement): Record<string, string | null> {
  const policy = child(root, SAML_PROTOCOL_NS, "NameIDPolicy");
  return {
    assertionConsumerServiceUrl: attr(root, "AssertionConsumerServiceURL") ?? null,
    protocolBinding: attr(root, "ProtocolBinding") ?? null,
    forceAuthn: attr(root, "ForceAuthn") ?? null,
    isPassive: attr(root, "IsPassive") ?? null,
    nameIdPolicyFormat: policy === undefined ? null : (attr(policy, "Format") ?? null),
    requestedAuthnContext:
      child(root, SAML_PROTOCOL_NS, "RequestedAuthnContext") === undefined ? null : "present",
  };
}

function logoutOf(root: XmlElement): Record<string, string | string[] | null> {
  const nameId = child(root, SAML_ASSERTION_NS, "NameID");
  return {
    nameId: nameId === undefined ? null : directText(nameId),
    nameIdFormat: nameId === undefined ? null : (attr(nameId, "Format") ?? null),
    sessionIndexes: children(root, SAML_PROTOCOL_NS, "SessionIndex").map((e) => directText(e)),
    reason: attr(root, "Reason") ?? null,
  };
}

function assertionOf(a: XmlElement): AssertionFact {
  const text = (el: XmlElement | undefined): string | null =>
    el === undefined ? null : directText(el);
  const subject = child(a, SAML_ASSERTION_NS, "Subject");
  const nameId = subject === undefined ? undefined : child(subject, SAML_ASSERTION_NS, "NameID");
  const confirmation =
    subject === undefined ? undefined : child(subject, SAML_ASSERTION_NS, "SubjectConfirmation");
  const data =
    confirmation === undefined
      ? undefined
      : child(confirmation, SAML_ASSERTION_NS, "SubjectConfirmationData");
  const conditions = child(a, SAML_ASSERTION_NS, "Conditions");
  const audiences: string[] = [];
  for (const r of conditions === undefined
    ? []
    : children(conditions, SAML_ASSERTION_NS, "AudienceRestriction")) {
    for (const au of children(r, SAML_ASSERTION_NS, "Audience")) audiences.push(directText(au));
  }
  const authn = child(a, SAML_ASSERTION_NS, "AuthnStatement");
  const ctx = authn === undefined ? undefined : child(authn, SAML_ASSERTION_NS, "AuthnContext");
  const attributes: Record<string, string[]> = Object.create(null);
  for (const statement of children(a, SAML_ASSERTION_NS, "AttributeStatement")) {
    for (const at of children(statement, SAML_ASSERTION_NS, "Attribute")) {
      const name = attr(at, "Name") ?? "(no Name)";
      let list = attributes[name];
      if (list === undefined) {
        list = [];
        attributes[name] = list;
      }
      for (const v of children(at, SAML_ASSERTION_NS, "AttributeValue")) list.push(directText(v));
    }
  }
  return {
    id: attr(a, "ID") ?? null,
    issuer: text(child(a, SAML_ASSERTION_NS, "Issuer")),
    nameId: text(nameId),
    nameIdFormat: nameId === undefined ? null : (attr(nameId, "Format") ?? null),
    recipient: data === undefined ? null : (attr(data, "Recipient") ?? null),
    subjectInResponseTo: data === undefined ? null : (attr(data, "InResponseTo") ?? null),
    audiences,
    sessionIndex: authn === undefined ? null : (attr(authn, "SessionIndex") ?? null),
    authnContextClassRef:
      ctx === undefined ? null : text(child(ctx, SAML_ASSERTION_NS, "AuthnContextClassRef")),
    attributes,
  };
}

function metadataOf(root: XmlElement): MetadataFact[] {
  const entities = [...descendants(root)].filter(
    (e) => e.ns === SAML_METADATA_NS && e.local === "EntityDescriptor",
  );
  return entities.map((entity) => ({
    entityId: attr(entity, "entityID") ?? null,
    roles: childElements(entity)
      .filter((r) => r.ns === SAML_METADATA_NS && r.local.endsWith("Descriptor"))
      .map((role) => ({
        type:
          role.local === "RoleDescriptor"
            ? `RoleDescriptor ${attr(role, "type", XSI_NS) ?? ""}`.trim()
            : role.local,
        protocols: attr(role, "protocolSupportEnumeration") ?? null,
        endpoints: childElements(role)
          .filter((e) => e.ns === SAML_METADATA_NS && attr(e, "Binding") !== undefined)
          .map((e) => ({
            service: e.local,
            binding: attr(e, "Binding") ?? null,
            location: attr(e, "Location") ?? null,
          })),
        nameIdFormats: children(role, SAML_METADATA_NS, "NameIDFormat").map((e) =>
          directText(e).trim(),
        ),
        keys: children(role, SAML_METADATA_NS, "KeyDescriptor").map((kd) => {
          const cert = [...descendants(kd)].find(
            (e) => e.ns === DSIG_NS && e.local === "X509Certificate",
          );
          return {
            use: attr(kd, "use") ?? null,
            fingerprint256: cert === undefined ? null : (x509Of(cert)?.fingerprint256 ?? null),
          };
        }),
      })),
  }));
}

function timesOf(root: XmlElement, now: Date): TimeFact[] {
  const out: TimeFact[] = [];
  for (const el of descendants(root)) {
    for (const a of el.attributes) {
      if (a.ns !== "" || !TIME_ATTRIBUTES.has(a.local)) continue;
      const t = Date.parse(a.value);
      out.push({
        where: `${pathOf(el)} ${a.local}`,
        value: a.value,
        fromNow: Number.isNaN(t) ? null : fromNow(new Date(t), now),
      });
    }
  }
  return out;
}

function signatureOf(sig: XmlElement): SignatureFact {
  const signedInfo = child(sig, DSIG_NS, "SignedInfo");
  const algorithm = (local: string, within: XmlElement | undefined): string | null => {
    const el = within === undefined ? undefined : child(within, DSIG_NS, local);
    return el === undefined ? null : (attr(el, "Algorithm") ?? null);
  };
  const reference = signedInfo === undefined ? undefined : child(signedInfo, DSIG_NS, "Reference");
  const transforms = reference === undefined ? undefined : child(reference, DSIG_NS, "Transforms");
  const parentId = sig.parent === null ? undefined : attr(sig.parent, "ID");
  const uri = reference === undefined ? undefined : attr(reference, "URI");
  return {
    where: sig.parent === null ? "Signature" : pathOf(sig.parent),
    signedElementId: parentId ?? null,
    referenceUri: uri ?? null,
    referencesParent: parentId !== undefined && uri === `#${parentId}`,
    signatureAlgorithm: algorithm("SignatureMethod", signedInfo),
    digestAlgorithm: algorithm("DigestMethod", reference),
    canonicalization: algorithm("CanonicalizationMethod", signedInfo),
    transforms:
      transforms === undefined
        ? []
        : children(transforms, DSIG_NS, "Transform").map((t) => attr(t, "Algorithm") ?? "?"),
  };
}

function x509Of(el: XmlElement): X509Certificate | undefined {
  try {
    return new X509Certificate(Buffer.from(directText(el).replace(/\s+/g, ""), "base64"));
  } catch {
    return undefined;
  }
}

function certificateOf(el: XmlElement, now: Date): CertificateFact {
  let where = pathOf(el.parent?.parent ?? el);
  const kd = el.parent?.parent?.parent;
  if (kd !== undefined && kd !== null && kd.local === "KeyDescriptor") {
    where = `${pathOf(kd)}${attr(kd, "use") === undefined ? "" : ` use=${attr(kd, "use")}`}`;
  }
  const x = x509Of(el);
  if (x === undefined) {
    return {
      where,
      fingerprint256: null,
      subject: null,
      notBefore: null,
      notAfter: null,
      expired: null,
      expiresFromNow: null,
      error: "not a readable X.509 certificate",
    };
  }
  const notAfter = new Date(x.validTo);
  return {
    where,
    fingerprint256: x.fingerprint256,
    subject: x.subject.replaceAll("\n", ", "),
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: notAfter.toISOString(),
    expired: notAfter.getTime() <= now.getTime(),
    expiresFromNow: fromNow(notAfter, now),
  };
}

// ---------------------------------------------------------------------------------------------
// The readable report.

const ENCODING_LABEL: Record<InputEncoding, string> = {
  xml: "XML",
  base64: "base64 (HTTP-POST binding)",
  "base64-deflated": "deflated base64 (HTTP-Redirect binding)",
  "redirect-url": "HTTP-Redirect URL",
  "query-string": "HTTP-Redirect query string",
};

function render(r: InspectReport, root: XmlElement): string {
  const lines: string[] = [];
  const row = (label: string, value: string | null | undefined, indent = "  "): void => {
    if (value !== null && value !== undefined) lines.push(`${indent}${label.padEnd(22)} ${value}`);
  };
  lines.push(`${r.messageType}  (${ENCODING_LABEL[r.encoding]}; not validated)`);
  if (r.redirect !== null) {
    row("Endpoint", r.redirect.endpoint);
    row("Parameter", r.redirect.parameter);
    row("RelayState", r.redirect.relayState);
    row("SigAlg", r.redirect.sigAlg);
    row("Query signature", r.redirect.signature ? "present" : "absent");
  }
  row("ID", r.id);
  row("Issuer", r.issuer);
  row("Destination", r.destination);
  row("InResponseTo", r.inResponseTo);
  if (r.status !== null) {
    row("Status", r.status.codes.join(" / "));
    row("StatusMessage", r.status.message);
  }
  for (const [k, v] of Object.entries(r.request ?? {})) row(k, v);
  for (const [k, v] of Object.entries(r.logout ?? {}))
    row(k, Array.isArray(v) ? v.join(", ") || "(none)" : v);
  if (r.encryptedAssertions > 0)
    row("EncryptedAssertion", `${r.encryptedAssertions} (content not shown: needs the SP key)`);
  for (const a of r.assertions) {
    lines.push(`Assertion ${a.id ?? "(no ID)"}`);
    row("Issuer", a.issuer);
    row("NameID", a.nameIdFormat === null ? a.nameId : `${a.nameId}  (${a.nameIdFormat})`);
    row("Recipient", a.recipient);
    row("InResponseTo", a.subjectInResponseTo);
    row("Audience", a.audiences.join(", ") || "(none)");
    row("SessionIndex", a.sessionIndex);
    row("AuthnContextClassRef", a.authnContextClassRef);
    const names = Object.keys(a.attributes);
    lines.push(`  Attributes (${names.length})`);
    for (const name of names) {
      lines.push(`    ${name}`);
      for (const v of a.attributes[name]!) lines.push(`      ${v}`);
    }
  }
  for (const entity of r.metadata ?? []) {
    lines.push(`Entity ${entity.entityId ?? "(no entityID)"}`);
    for (const role of entity.roles) {
      lines.push(`  ${role.type}`);
      for (const e of role.endpoints)
        lines.push(`    ${e.service} ${e.binding ?? "?"}  ${e.location ?? "?"}`);
      for (const f of role.nameIdFormats) lines.push(`    NameIDFormat ${f}`);
      for (const k of role.keys)
        lines.push(
          `    KeyDescriptor use=${k.use ?? "(any)"}  ${k.fingerprint256 ?? "(no readable certificate)"}`,
        );
    }
  }
  lines.push(`Times (now is ${r.now})`);
  for (const t of r.times)
    lines.push(`  ${t.where.padEnd(60)} ${t.value}  (${t.fromNow ?? "not a valid instant"})`);
  lines.push(`Signatures (${r.signatures.length})`);
  for (const s of r.signatures) {
    lines.push(`  on ${s.where}${s.signedElementId === null ? "" : ` (ID ${s.signedElementId})`}`);
    row(
      "Reference",
      `${s.referenceUri ?? "(none)"}${s.referencesParent ? " = the enclosing element" : " (NOT the enclosing element)"}`,
      "    ",
    );
    row("SignatureMethod", s.signatureAlgorithm ?? "(none)", "    ");
    row("DigestMethod", s.digestAlgorithm ?? "(none)", "    ");
    row("Canonicalization", s.canonicalization ?? "(none)", "    ");
    row("Transforms", s.transforms.join(", ") || "(none)", "    ");
  }
  lines.push(`Certificates (${r.certificates.length})`);
  for (const c of r.certificates) {
    lines.push(`  in ${c.where}`);
    if (c.error !== undefined) {
      row("Error", c.error, "    ");
      continue;
    }
    row("SHA-256", c.fingerprint256, "    ");
    row("Subject", c.subject, "    ");
    row(
      "Valid",
      `${c.notBefore} to ${c.notAfter} (${c.expired ? `EXPIRED ${c.expiresFromNow}` : `expires ${c.expiresFromNow}`})`,
      "    ",
    );
  }
  lines.push("XML");
  return `${lines.join("\n")}\n${prettyXml(root)}`;
}

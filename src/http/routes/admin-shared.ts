/**
 * What the admin API and the admin pages share: fetching Federation Metadata by URL (size, time
 * and scheme limits), the connection input with our defaults, a connection's certificates and
 * the SP values to paste into Entra, users without their secrets, and SAML refusals of an
 * upload turned into AdminErrors naming the field.
 */

import { AdminError, type ConnectionInput } from "../../domain/admin.ts";
import type { Account, Connection, User } from "../../domain/model.ts";
import { readCertificate } from "../../saml/certs.ts";
import { SamlError } from "../../saml/errors.ts";
import { MAX_METADATA_BYTES } from "../../saml/metadata.ts";
import type { AppContext } from "../context.ts";

export const METADATA_FETCH_TIMEOUT_MS = 5_000;
const MAX_REDIRECTS = 3;
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
const DAY_MS = 86_400_000;

/**
 * Fetches Federation Metadata XML. https only, except on this machine (tests, the demo IdP);
 * redirects are followed by hand so each hop is held to the same rule; 5 s for the whole
 * exchange and 1 MiB at most, counted while reading rather than trusted from Content-Length.
 */
export async function fetchMetadata(url: string): Promise<string> {
  const signal = AbortSignal.timeout(METADATA_FETCH_TIMEOUT_MS);
  let target = checkMetadataUrl(url);
  try {
    for (let hop = 0; ; hop++) {
      const res = await fetch(target, {
        redirect: "manual",
        signal,
        headers: { accept: "application/samlmetadata+xml, application/xml, text/xml" },
      });
      if (res.status >= 300 && res.status < 400) {
        const location = res.headers.get("location");
        await res.body?.cancel();
        if (location === null || hop >= MAX_REDIRECTS)
          throw metadataUrlError(`it redirected ${hop + 1} times without reaching the metadata`);
        target = checkMetadataUrl(new URL(location, target).toString());
        continue;
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw metadataUrlError(`the server answered HTTP ${res.status}`);
      }
      return await readCapped(res);
    }
  } catch (e) {
    if (e instanceof AdminError) throw e;
    const name = (e as Error).name;
    if (name === "TimeoutError" || name === "AbortError")
      throw metadataUrlError(`no answer within ${METADATA_FETCH_TIMEOUT_MS / 1000} seconds`);
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw metadataUrlError(
      `it could not be fetched (${cause?.code ?? cause?.message ?? (e as Error).message})`,
    );
  }
}

function checkMetadataUrl(raw: string): URL {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new AdminError("metadataUrl", "The metadata URL is not an absolute URL.");
  }
  if (u.protocol === "https:") return u;
  if (u.protocol === "http:" && LOCAL_HOSTS.has(u.hostname)) return u;
  throw new AdminError(
    "metadataUrl",
    `The metadata URL must use https (${u.protocol.replace(":", "")} is only accepted for localhost). In Entra, copy "App Federation Metadata Url" from the SAML Certificates section.`,
  );
}

async function readCapped(res: Response): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > MAX_METADATA_BYTES) {
    await res.body?.cancel();
    throw metadataUrlError(`it is larger than ${MAX_METADATA_BYTES} bytes`);
  }
  if (res.body === null) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > MAX_METADATA_BYTES) {
      await reader.cancel();
      throw metadataUrlError(`it is larger than ${MAX_METADATA_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function metadataUrlError(why: string): AdminError {
  return new AdminError("metadataUrl", `The metadata URL could not be used: ${why}.`);
}

/** The fields of a connection form or body, before defaults. */
export interface ConnectionBody {
  name?: string;
  metadataXml?: string;
  metadataUrl?: string;
  idpEntityId?: string;
  ssoUrl?: string;
  sloUrl?: string | null;
  certificates?: string[];
  spEntityId?: string;
  acsUrl?: string;
  allowSha1?: boolean;
  signRequests?: boolean;
  requireSignedAssertion?: boolean;
  requireSignedResponse?: boolean;
}

/** Our side of a new connection, unique to this installation and account (STYLE.md). */
export function defaultSpValues(
  ctx: AppContext,
  account: Account,
): { spEntityId: string; acsUrl: string } {
  return {
    spEntityId: ctx.url(`/saml/${account.name}`),
    acsUrl: ctx.url("/api/auth/saml/callback"),
  };
}

/**
 * The domain's ConnectionInput from a body: the metadata fetched when given by URL, our side
 * defaulted (from `existing` when replacing the IdP side, else the installation's defaults).
 */
export async function connectionInput(
  ctx: AppContext,
  account: Account,
  body: ConnectionBody,
  existing?: Connection,
): Promise<ConnectionInput> {
  if (body.metadataXml !== undefined && body.metadataUrl !== undefined)
    throw new AdminError("metadataUrl", "Give the metadata XML or its URL, not both.");
  const metadataXml =
    body.metadataUrl === undefined ? body.metadataXml : await fetchMetadata(body.metadataUrl);
  const defaults = existing ?? defaultSpValues(ctx, account);
  const keep = <K extends keyof Connection>(k: K): Connection[K] | undefined => existing?.[k];
  return {
    ...stripUndefined({
      name: body.name ?? keep("name"),
      metadataXml,
      metadataUrl: body.metadataUrl,
      idpEntityId: body.idpEntityId,
      ssoUrl: body.ssoUrl,
      sloUrl: body.sloUrl,
      certificates: body.certificates,
      allowSha1: body.allowSha1 ?? keep("allowSha1"),
      signRequests: body.signRequests ?? keep("signRequests"),
      requireSignedAssertion: body.requireSignedAssertion ?? keep("requireSignedAssertion"),
      requireSignedResponse: body.requireSignedResponse ?? keep("requireSignedResponse"),
    }),
    spEntityId: body.spEntityId ?? defaults.spEntityId,
    acsUrl: body.acsUrl ?? defaults.acsUrl,
  };
}

function stripUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Runs a connection change, turning the SAML core's refusal of the metadata or a certificate
 * into an AdminError naming the input the admin gave (`source`: metadataXml or metadataUrl).
 */
export async function withSamlFields<T>(source: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    if (!(e instanceof SamlError)) throw e;
    const field = e.detail.field?.startsWith("certificates[") ? e.detail.field : source;
    throw new AdminError(field, `${e.message}. ${e.fix}`);
  }
}

export interface CertificateView {
  readonly fingerprint256: string;
  readonly subject: string;
  readonly notAfter: Date;
  readonly daysLeft: number;
}

export interface SpValues {
  /** Entra: Identifier (Entity ID). */
  readonly identifier: string;
  /** Entra: Reply URL (Assertion Consumer Service URL). */
  readonly replyUrl: string;
  readonly logoutUrl: string;
  readonly signOnUrl: string;
  readonly metadataUrl: string;
}

export function certificateViews(connection: Connection, now: Date): CertificateView[] {
  return connection.certificates.map((c, i) => {
    const cert = readCertificate(c, `certificates[${i}]`);
    return {
      fingerprint256: cert.fingerprint256,
      subject: cert.subject,
      notAfter: cert.notAfter,
      daysLeft: Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS),
    };
  });
}

export function spValues(ctx: AppContext, connection: Connection): SpValues {
  return {
    identifier: connection.spEntityId,
    replyUrl: connection.acsUrl,
    logoutUrl: ctx.url("/api/auth/saml/logout/callback"),
    signOnUrl: ctx.url("/login"),
    metadataUrl: ctx.url(`/api/auth/saml/metadata/${connection.id}`),
  };
}

/** A user as admins see it: never the password hash or the TOTP secret. */
export function publicUser(u: User) {
  const { passwordHash, totpSecret, ...rest } = u;
  return { ...rest, hasPassword: passwordHash !== null, totp: totpSecret !== null };
}

// Runs the gatehouse CLI as a child process, as scripts do.
import { spawnSync } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildEntraResponse, type MockResponseOptions } from "../../src/mock-idp/response.ts";
import { readCertificate } from "../../src/saml/certs.ts";

export const MAIN = join(import.meta.dirname, "../../src/cli/main.ts");
export const KEYS = join(import.meta.dirname, "../fixtures/keys");
export const TENANT = "82869000-6ad1-48f0-8171-272ed18796e9";
export const IDP = `https://sts.windows.net/${TENANT}/`;
export const SP = "https://app.example.com/saml";
export const ACS = "https://app.example.com/api/auth/saml/callback";
export const ISSUED = new Date("2027-03-01T10:00:00.000Z");

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function cli(args: readonly string[], stdin?: string | Buffer): CliResult {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    input: stdin ?? "",
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export const tmp = mkdtempSync(join(tmpdir(), "gatehouse-cli-"));

export function writeTmp(name: string, content: string | Buffer): string {
  const path = join(tmp, name);
  writeFileSync(path, content);
  return path;
}

export const keyFile = (name: string, ext: "crt" | "key"): string => join(KEYS, `${name}.${ext}`);

export function entraResponse(over: Partial<MockResponseOptions> = {}): string {
  return buildEntraResponse({
    tenantId: TENANT,
    user: {
      upn: "alice@contoso.com",
      mail: "alice.smith@contoso.com",
      objectId: "3b9f1c2e-7a44-4b8e-9d0a-1f2e3d4c5b6a",
      givenName: "Alice",
      surname: "Smith",
      groups: ["g1", "g2"],
    },
    acsUrl: ACS,
    audience: SP,
    now: ISSUED,
    signingKey: createPrivateKey(readFileSync(keyFile("idp-rsa", "key"))),
    signingCertificate: readCertificate(readFileSync(keyFile("idp-rsa", "crt"), "utf8")).base64,
    ...over,
  });
}

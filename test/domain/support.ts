// What the domain tests of self-service setup share: their clock, and an account with an
// Entra connection made through the admin functions, as the operator at the shell makes them.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type Actor,
  type ConnectionInput,
  createAccount,
  createConnection,
} from "../../src/domain/admin.ts";
import type { Account, AccountSettings, Connection, Role } from "../../src/domain/model.ts";
import type { Store } from "../../src/domain/store.ts";
import { readCertificate } from "../../src/saml/certs.ts";

const KEYS = join(import.meta.dirname, "../fixtures/keys");
/** A test key's certificate, as Base64 DER. */
export const certificate = (name: string): string =>
  readCertificate(readFileSync(join(KEYS, `${name}.crt`), "utf8")).base64;

export const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
export const T0 = new Date("2026-11-22T09:00:00.000Z");
export const CLI: Actor = { actor: "cli" };
export const ALL_ON: Record<Role, boolean> = {
  admin: true,
  supervisor: true,
  agent: true,
  user: true,
};

/** Entra's values as the setup page's typed fields take them. */
export const ENTRA_CONNECTION: ConnectionInput = {
  name: "Entra",
  idpEntityId: `https://sts.windows.net/${TENANT}/`,
  ssoUrl: `https://login.microsoftonline.com/${TENANT}/saml2`,
  certificates: [certificate("idp-rsa")],
  spEntityId: "https://gatehouse.example.com/sp/contoso",
  acsUrl: "https://gatehouse.example.com/api/auth/saml/callback",
};

export interface World {
  readonly store: Store;
  readonly account: Account;
  /** Active, never tested. */
  readonly connection: Connection;
}

export async function accountWithEntra(
  store: Store,
  settings: Partial<AccountSettings> = {},
  name = "contoso",
): Promise<World> {
  const account = await createAccount(store, { name, settings }, CLI, T0);
  const { connection } = await createConnection(store, account.id, ENTRA_CONNECTION, CLI, T0);
  return { store, account, connection };
}

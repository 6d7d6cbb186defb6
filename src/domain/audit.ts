/** Audit events: every login attempt and every admin change, with the typed reason. */

import { newId } from "./ids.ts";
import type { AuditEvent, AuditOutcome } from "./model.ts";
import { newReference } from "./secrets.ts";
import type { Store } from "./store.ts";

export interface AuditInput {
  readonly type: string;
  readonly outcome: AuditOutcome;
  readonly reason?: string | null;
  readonly accountId?: string | null;
  readonly userId?: string | null;
  readonly connectionId?: string | null;
  readonly actor: string;
  readonly ip?: string | null;
  readonly detail?: Readonly<Record<string, unknown>>;
  /** Reuse a reference already shown to the user; a new one is made otherwise. */
  readonly reference?: string;
}

export async function audit(store: Store, input: AuditInput, now: Date): Promise<AuditEvent> {
  const event: AuditEvent = {
    id: newId("evt"),
    at: now,
    reference: input.reference ?? newReference(),
    type: input.type,
    outcome: input.outcome,
    reason: input.reason ?? null,
    accountId: input.accountId ?? null,
    userId: input.userId ?? null,
    connectionId: input.connectionId ?? null,
    actor: input.actor,
    ip: input.ip ?? null,
    detail: input.detail ?? {},
  };
  await store.audit.append(event);
  return event;
}

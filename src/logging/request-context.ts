import { AsyncLocalStorage } from 'node:async_hooks';

/** Who made a change, for the audit trail. */
export interface Actor {
  subject: string;
  role: 'admin' | null;
  scope: string;
}

export interface RequestContext {
  /** Ours, always generated. */
  requestId: string;
  /** The caller's X-Request-Id, when it sent a safe one: kept beside ours, never instead of it. */
  clientRequestId?: string;
  /** Set by the auth guard once the caller is known. */
  actor?: Actor;
}

/** The request a piece of work belongs to: its id for every log line, its caller for the audit trail. */
export const requestContext = new AsyncLocalStorage<RequestContext>();

/** The actor and request of the current request; outside one, the system itself. */
export function currentAudit(): { actor: Actor; requestId: string | null; clientRequestId: string | null } {
  const store = requestContext.getStore();
  return {
    actor: store?.actor ?? { subject: 'system', role: null, scope: '' },
    requestId: store?.requestId ?? null,
    clientRequestId: store?.clientRequestId ?? null,
  };
}

/** Who made a change, for the audit trail. */
export interface Actor {
  subject: string;
  role: 'admin' | null;
  scope: string;
}

/**
 * Who is calling and in which request: what the audit trail records with every change. Passed
 * explicitly from the controller (`@CurrentPrincipal()`) to where events are written.
 */
export interface Caller {
  actor: Actor;
  /** Ours, always generated. */
  requestId: string | null;
  /** The caller's X-Request-Id, when it sent a safe one: kept beside ours, never instead of it. */
  clientRequestId: string | null;
}

/** Changes the service makes on its own (no request, no caller). */
export const SYSTEM_CALLER: Caller = {
  actor: { subject: 'system', role: null, scope: '' },
  requestId: null,
  clientRequestId: null,
};

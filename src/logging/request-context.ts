import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingHttpHeaders } from 'node:http';

export interface RequestContext {
  /** Ours, always generated. */
  requestId: string;
  /** The caller's X-Request-Id, when it sent a safe one: kept beside ours, never instead of it. */
  clientRequestId?: string;
}

/**
 * The request a piece of work belongs to, for log lines only: every line written while serving a request
 * says which one. The audit trail never reads it: its caller and ids are passed explicitly (`Caller`).
 */
export const requestContext = new AsyncLocalStorage<RequestContext>();

// What a caller may send as X-Request-Id to be kept: short, and nothing a log line could be forged with.
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id, if it sent a safe one. */
export function clientRequestIdOf(headers: IncomingHttpHeaders): string | undefined {
  const given = headers['x-request-id'];
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : undefined;
}

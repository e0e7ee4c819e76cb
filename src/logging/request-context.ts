import type { IncomingHttpHeaders } from 'node:http';

// What a caller may send as X-Request-Id to be kept: short, and nothing a log line could be forged with.
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's X-Request-Id, if it sent a safe one. */
export function clientRequestIdOf(headers: IncomingHttpHeaders): string | undefined {
  const given = headers['x-request-id'];
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : undefined;
}

/**
 * The request a log line belongs to: every line written while serving a request says which one. Passed
 * explicitly, as the last argument of a Nest `Logger` call (`logger.warn(message, context)`; AppLogger
 * adds its ids to the line), from the request down to whatever logs for it. Not AsyncLocalStorage: on
 * Node 20 that turns on promise hooks, which then cost every promise of every request, read path included.
 * The audit trail does not read it either: its caller and ids are passed as `Caller`.
 */
export class RequestContext {
  private constructor(
    /** Ours, always generated. */
    readonly requestId: string,
    /** The caller's X-Request-Id, when it sent a safe one: kept beside ours, never instead of it. */
    readonly clientRequestId: string | undefined,
  ) {}

  /** The context of a Fastify request (its `id` is ours, from genReqId). */
  static of(request: { id: string; headers: IncomingHttpHeaders }): RequestContext {
    return new RequestContext(request.id, clientRequestIdOf(request.headers));
  }

  /** The context of a request whose ids were already taken (a `Caller`); undefined for none (background work). */
  static from(ids: { requestId: string | null; clientRequestId: string | null }): RequestContext | undefined {
    return ids.requestId === null
      ? undefined
      : new RequestContext(ids.requestId, ids.clientRequestId ?? undefined);
  }

  /** The fields a log line gets. */
  fields(): { requestId: string; clientRequestId?: string } {
    return this.clientRequestId === undefined
      ? { requestId: this.requestId }
      : { requestId: this.requestId, clientRequestId: this.clientRequestId };
  }
}

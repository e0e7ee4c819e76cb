import { AsyncLocalStorage } from 'node:async_hooks';

/** The request a piece of work belongs to, so that every log line it writes carries the request id. */
export const requestContext = new AsyncLocalStorage<{ requestId: string }>();

// The one place where any thrown value becomes the contract's error envelope.
import { HttpException, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import { isDatabaseUnavailable } from '../database/database-errors';
import type { FundingSource } from '../funding-sources/funding-source';
import type { RequestContext } from '../logging/request-context';
import { AppError, type FieldError } from './app-error';
import { ERROR_CODES, type ErrorCode } from './error-codes';

export interface ErrorBody {
  statusCode: number;
  error: string;
  code: ErrorCode;
  message: string;
  requestId: string;
  details?: readonly FieldError[];
  /** DUPLICATE_ITEM: the user's funding sources that the refused link would have duplicated. */
  fundingSources?: readonly FundingSource[];
}

const logger = new Logger('Errors');

// Fastify's own errors (body parsing, limits) carry a statusCode and an FST_* code.
function fastifyError(err: unknown): { statusCode: number; code: string } | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { statusCode, code } = err as { statusCode?: unknown; code?: unknown };
  return typeof statusCode === 'number' && typeof code === 'string' && code.startsWith('FST_')
    ? { statusCode, code }
    : undefined;
}

// Node's request stream fails this way when the client goes away mid-body, or the server cuts it off
// (HTTP_REQUEST_TIMEOUT_MS): nobody is left to answer, and nothing is wrong on our side.
function isAbortedBody(err: unknown): boolean {
  const error = err instanceof HttpException ? err.cause : err;
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (code === 'ECONNRESET' && message === 'aborted') || code === 'ERR_HTTP_REQUEST_TIMEOUT';
}

function classify(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (isAbortedBody(err)) {
    return new AppError('MALFORMED_JSON', 'The request body was cut off before it was complete.');
  }

  // Nest wraps Fastify's body-parser errors in an HttpException whose cause is the FST_* error.
  const fst = fastifyError(err) ?? fastifyError(err instanceof HttpException ? err.cause : undefined);
  if (fst) {
    if (fst.statusCode === 413)
      return new AppError('PAYLOAD_TOO_LARGE', 'The request body is larger than 64 KiB.');
    if (fst.statusCode === 415) {
      return new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the request body as application/json.');
    }
    if (fst.statusCode === 400) return new AppError('MALFORMED_JSON', 'The request body is not valid JSON.');
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    if (status === 404) return new AppError('ROUTE_NOT_FOUND', 'No such route.');
    if (status === 401) return new AppError('UNAUTHENTICATED', 'A valid bearer token is required.');
    if (status === 403) return new AppError('FORBIDDEN', 'This token may not perform this request.');
    if (status === 413) return new AppError('PAYLOAD_TOO_LARGE', 'The request body is larger than 64 KiB.');
    if (status === 400) return new AppError('VALIDATION_FAILED', 'The request is malformed.');
  }
  if (isDatabaseUnavailable(err)) {
    return new AppError(
      'DATABASE_UNAVAILABLE',
      'The database is not available right now. Try again shortly.',
    );
  }
  return new AppError('INTERNAL_ERROR', 'An unexpected error occurred.');
}

/** Seconds a client should wait before retrying this error, for the Retry-After header; undefined: none. */
export function retryAfterSeconds(code: ErrorCode): number | undefined {
  const entry = ERROR_CODES[code];
  return 'retryAfterSeconds' in entry ? entry.retryAfterSeconds : undefined;
}

/** Builds the response for any error; unexpected ones are logged (server side only) with the request's ids. */
export function toErrorBody(err: unknown, request: RequestContext): ErrorBody {
  const appError = classify(err);
  const { requestId } = request;
  if (isAbortedBody(err))
    logger.log(`Request body aborted before it was complete request=${requestId}`, request);
  else if (appError.status >= 500) {
    const detail =
      appError.code === 'INTERNAL_ERROR' && err instanceof Error ? (err.stack ?? err.message) : '';
    // An expected outage (database away, Bluum busy or failing) is a warning; a bug is an error.
    if (appError.code === 'INTERNAL_ERROR')
      logger.error(`${appError.code} request=${requestId} ${detail}`.trim(), request);
    else logger.warn(`${appError.code} request=${requestId}`, request);
  }
  return {
    statusCode: appError.status,
    error: STATUS_CODES[appError.status] ?? 'Error',
    code: appError.code,
    message: appError.message,
    requestId,
    ...(appError.details ? { details: appError.details } : {}),
    ...(appError.fundingSources ? { fundingSources: appError.fundingSources } : {}),
  };
}

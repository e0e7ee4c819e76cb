// Stripe's Idempotency-Key semantics for a write route: the first response (status and body) is kept for
// 24 hours and replayed for the same key and request; the same key with another request is a 422; the
// same key while the first request still runs is a 409. Keys are scoped to the calling subject.
import {
  type CallHandler,
  type ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  type NestInterceptor,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { from, type Observable, of, throwError } from 'rxjs';
import { catchError, mergeMap } from 'rxjs/operators';
import type { AuthenticatedRequest } from '../auth/auth.guard';
import { AppError } from '../common/app-error';
import { toErrorBody } from '../common/error-envelope';
import { RequestContext } from '../logging/request-context';
import type { ErrorCode } from '../common/error-codes';
import type { BluumConfig } from '../config/app-config';
import { BLUUM_CONFIG } from '../config/config.module';
import { IdempotencyRepository } from './idempotency.repository';

export const IDEMPOTENCY_HEADER = 'idempotency-key';
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
const RETENTION_MS = 24 * 60 * 60 * 1000;

// Same JSON whatever the order of keys, so {a,b} and {b,a} are one request.
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

// Answers that say "not now" rather than "no": the same request may well succeed on a retry.
const RETRYABLE_CONFLICTS: ReadonlySet<ErrorCode> = new Set([
  'CONNECT_IN_PROGRESS',
  'DISCONNECT_IN_PROGRESS',
]);

function statusOf(err: unknown): number {
  if (err instanceof AppError) return err.status;
  if (err instanceof HttpException) return err.getStatus();
  return 500;
}

/** Whether a failed request's key is given up (worth a retry with the same key) rather than kept. */
function isRetryable(err: unknown): boolean {
  return statusOf(err) >= 500 || (err instanceof AppError && RETRYABLE_CONFLICTS.has(err.code));
}

@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly inFlightLifetimeMs: number;

  constructor(
    private readonly keys: IdempotencyRepository,
    @Inject(BLUUM_CONFIG) config: BluumConfig,
  ) {
    // A request outlives at most its Bluum-bound work; past this its process is gone.
    this.inFlightLifetimeMs = config.bluumWorkBudgetMs;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<AuthenticatedRequest>();
    const reply = http.getResponse<FastifyReply>();
    const key = request.headers[IDEMPOTENCY_HEADER];
    if (key === undefined) return next.handle();
    if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
      const message = 'Idempotency-Key must be 1-255 visible ASCII characters';
      return throwError(
        () => new AppError('VALIDATION_FAILED', message, [{ field: 'Idempotency-Key', message }]),
      );
    }
    const subject = request.principal?.subject;
    if (!subject) return next.handle();

    const requestHash = createHash('sha256')
      .update(`${request.method} ${request.url}\n${canonical(request.body)}`)
      .digest('hex');
    const now = Date.now();
    const started = this.keys.start(
      subject,
      key,
      requestHash,
      new Date(now + RETENTION_MS),
      new Date(now - this.inFlightLifetimeMs),
    );

    return from(started).pipe(
      mergeMap((start) => {
        switch (start.kind) {
          case 'replay':
            void reply.header('idempotent-replayed', 'true').status(start.status);
            return of(start.body);
          case 'mismatch':
            throw new AppError(
              'IDEMPOTENCY_KEY_REUSED',
              'This Idempotency-Key was used with a different request.',
            );
          case 'in-flight':
            throw new AppError(
              'IDEMPOTENCY_KEY_IN_FLIGHT',
              'A request with this Idempotency-Key is still being processed. Retry after it finishes.',
            );
          case 'started':
            return next.handle().pipe(
              mergeMap(async (body: unknown) => {
                await this.keys.complete(subject, key, reply.statusCode, body);
                return body;
              }),
              catchError(async (err: unknown) => {
                // A 5xx or an "in progress" 409 is worth retrying with the same key, so it is not kept;
                // any other answer is final. When the database is what failed, recording this fails too:
                // the key then stays in flight until it goes stale, and the caller gets the first error.
                const record = isRetryable(err)
                  ? this.keys.release(subject, key)
                  : this.keys.complete(
                      subject,
                      key,
                      statusOf(err),
                      toErrorBody(err, RequestContext.of(request)),
                    );
                await record.catch(() => undefined);
                throw err;
              }),
            );
        }
      }),
    );
  }
}

import { AppError } from '../common/app-error';

/**
 * BLUUM_UNAVAILABLE (a 429 or 5xx, or no answer) with how long Bluum asked callers to wait (its
 * Retry-After), when it said. The reconciliation sweep pauses all its calls that long; to a request's
 * caller it is an ordinary BLUUM_UNAVAILABLE.
 */
export class BluumUnavailableError extends AppError {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super('BLUUM_UNAVAILABLE', message);
  }
}

/** The pause Bluum asked for with a failure, if it asked for one. */
export function retryAfterOf(err: unknown): number | undefined {
  return err instanceof BluumUnavailableError ? err.retryAfterMs : undefined;
}

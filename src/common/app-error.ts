import type { FundingSource } from '../funding-sources/funding-source';
import { ERROR_CODES, type ErrorCode } from './error-codes';

export interface FieldError {
  field: string;
  message: string;
}

/** A failure with a stable code; the exception filter turns it into the contract's error envelope. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly status: number;
  /** Overrides the code's own Retry-After (see error-codes.ts) where the thrower knows better. */
  retryAfterSeconds?: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: readonly FieldError[],
    /** The funding sources the answer is about (DUPLICATE_ITEM: the ones already linked). */
    readonly fundingSources?: readonly FundingSource[],
  ) {
    super(message);
    this.status = ERROR_CODES[code].status;
  }
}

/** An AppError answered with `Retry-After: seconds`. */
export function withRetryAfter(error: AppError, seconds: number): AppError {
  error.retryAfterSeconds = seconds;
  return error;
}

/** VALIDATION_FAILED with one detail per bad field: the DTOs' ValidationPipe and the read path's pipes. */
export function validationFailed(details: readonly FieldError[]): AppError {
  return new AppError('VALIDATION_FAILED', details.map((detail) => detail.message).join('; '), details);
}

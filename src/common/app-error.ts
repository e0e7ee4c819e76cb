import { ERROR_CODES, type ErrorCode } from './error-codes';

export interface FieldError {
  field: string;
  message: string;
}

/** A failure with a stable code; the exception filter turns it into the contract's error envelope. */
export class AppError extends Error {
  override readonly name = 'AppError';
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: readonly FieldError[],
  ) {
    super(message);
    this.status = ERROR_CODES[code].status;
  }
}

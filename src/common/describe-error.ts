import { AppError } from './app-error';

/**
 * A failure as one log line: our own errors by code and message, anything else by its first line only
 * (a driver error's later lines can carry the statement and its parameters). Never a token: none of
 * the errors this describes carries one.
 */
export function describeError(err: unknown): string {
  if (err instanceof AppError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message.split('\n')[0] : 'unknown error';
}

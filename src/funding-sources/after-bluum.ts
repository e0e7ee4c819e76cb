// What a service does once Bluum has acted (linked or disconnected a bank) and the outcome is to be
// recorded, shared by connect and disconnect; and the hints added to Bluum's failures after which Bluum
// may have acted all the same.
import { AppError } from '../common/app-error';
import type { Clock } from '../common/clock';
import { isDatabaseUnavailable } from '../database/database-errors';
import type { UserLockFailure } from './funding-source-writes';

// After Bluum linked or disconnected an item, recording it is retried after these pauses.
const RECORD_RETRY_DELAYS_MS = [200, 800];
// Failures after which Bluum may have acted anyway: its reply, not its work, was lost.
const AMBIGUOUS_FAILURES = new Set(['BLUUM_TIMEOUT', 'BLUUM_UNAVAILABLE', 'BLUUM_BAD_RESPONSE']);

/** What recordAfterBluum answers when the database stayed away through every retry. */
export const UNRECORDED = Symbol('unrecorded');

/**
 * Records what Bluum has already done, retrying a database that blinked (RECORD_RETRY_DELAYS_MS, on
 * `clock`); UNRECORDED if it stays away. Any other failure is thrown as it is.
 */
export async function recordAfterBluum<T>(
  record: () => Promise<T>,
  clock: Clock,
): Promise<T | typeof UNRECORDED> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await record();
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      if (attempt >= RECORD_RETRY_DELAYS_MS.length) return UNRECORDED;
      await clock.sleep(RECORD_RETRY_DELAYS_MS[attempt]);
    }
  }
}

/** `err` with `hint` added when it is a Bluum failure after which Bluum may have acted all the same. */
export function withAmbiguityHint(err: unknown, hint: string): unknown {
  if (!(err instanceof AppError) || !AMBIGUOUS_FAILURES.has(err.code)) return err;
  return new AppError(err.code, `${err.message} ${hint}`);
}

// The user was locked for a write after Bluum answered, and was gone or moved to another Bluum account.
export function userLockFailure(failure: UserLockFailure, userId: string): AppError {
  return failure.kind === 'user-not-found'
    ? new AppError('USER_NOT_FOUND', `No user ${userId} is registered.`)
    : new AppError('BLUUM_ACCOUNT_CONFLICT', "The user's Bluum account changed while talking to Bluum.");
}

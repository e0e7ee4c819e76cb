import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The time as the waiting loops see it (connect's claim poll, disconnect's wait, the retries after
 * Bluum, the reconciliation sweep's pauses). Injected so a unit spec can drive those loops without
 * waiting for real; production uses SYSTEM_CLOCK, also the default wherever none is provided.
 */
export abstract class Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  abstract now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason once it aborts. */
  abstract sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    await sleep(ms, undefined, signal ? { signal } : undefined);
  }
}

export const SYSTEM_CLOCK: Clock = new SystemClock();

import { Inject, Injectable } from '@nestjs/common';
import { AppError, withRetryAfter } from '../common/app-error';
import type { BluumConfig } from '../config/app-config';
import { BLUUM_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';

/**
 * A per-instance cap on calls to Bluum in flight (BLUUM_MAX_CONCURRENCY). A slow Bluum then ties up at
 * most that many requests; the next one is refused at once with 503 BLUUM_BUSY instead of queueing, and
 * Bluum's own rate limit (25 requests a second per key pair) is not stormed by one instance.
 * One Bluum account (one user) may hold at most BLUUM_MAX_CONCURRENCY_PER_USER of those slots: beyond
 * it a request is answered 429 RATE_LIMITED at once, so while Bluum is slow two users cannot leave
 * everyone else BLUUM_BUSY.
 */
@Injectable()
export class BluumBulkhead {
  private readonly limit: number;
  private readonly perUserLimit: number;
  private inFlight = 0;
  /** Request calls in flight per Bluum account; an account is removed when it has none. */
  private readonly inFlightByUser = new Map<string, number>();
  /** Background work waiting for a slot, woken at each release. */
  private readonly waiters = new Set<() => void>();

  constructor(
    @Inject(BLUUM_CONFIG) config: BluumConfig,
    private readonly metrics: MetricsService,
  ) {
    this.limit = config.bluumMaxConcurrency;
    this.perUserLimit = config.bluumMaxConcurrencyPerUser;
  }

  /** A request's call on behalf of the user who holds Bluum account `user`. */
  async run<T>(user: string, work: () => Promise<T>): Promise<T> {
    const held = this.inFlightByUser.get(user) ?? 0;
    if (held >= this.perUserLimit) {
      this.metrics.countBulkheadRejection('user');
      throw withRetryAfter(
        new AppError(
          'RATE_LIMITED',
          'Too many calls to Bluum are in flight for this user. Nothing was changed; try again shortly.',
        ),
        1,
      );
    }
    if (this.inFlight >= this.limit) {
      this.metrics.countBulkheadRejection('instance');
      throw new AppError(
        'BLUUM_BUSY',
        'Too many calls to Bluum are in flight on this instance. Nothing was changed; try again shortly.',
      );
    }
    this.inFlightByUser.set(user, held + 1);
    try {
      return await this.enter(work);
    } finally {
      const left = (this.inFlightByUser.get(user) ?? 1) - 1;
      if (left === 0) this.inFlightByUser.delete(user);
      else this.inFlightByUser.set(user, left);
    }
  }

  /**
   * Background work (the reconciliation sweep): never refused, it waits instead, and it starts only
   * while fewer than half the slots (rounded down, but at least one) are taken. With a limit of 2 or more
   * the slots it holds are never the ones a request needs (a request is refused only when requests
   * themselves hold at least half). With a limit of 1 its share is that one slot: while it holds it, a
   * request is refused with BLUUM_BUSY, so run with BLUUM_MAX_CONCURRENCY of 2 or more when reconciliation
   * is on. Rejects with the signal's reason when `signal` aborts while waiting.
   */
  async runBackground<T>(work: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const share = Math.max(1, Math.floor(this.limit / 2));
    while (this.inFlight >= share) await this.nextRelease(signal);
    signal?.throwIfAborted();
    return this.enter(work);
  }

  private async enter<T>(work: () => Promise<T>): Promise<T> {
    this.inFlight++;
    this.metrics.bluumInFlight.set(this.inFlight);
    try {
      return await work();
    } finally {
      this.inFlight--;
      this.metrics.bluumInFlight.set(this.inFlight);
      // Every waiter looks again; whoever still finds too many in flight waits for the next release.
      const waiting = [...this.waiters];
      this.waiters.clear();
      for (const wake of waiting) wake();
    }
  }

  private nextRelease(signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const onAbort = (): void => {
        this.waiters.delete(wake);
        reject(signal?.reason as Error);
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

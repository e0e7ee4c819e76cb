import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { Principal } from '../auth/principal';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import { describeError } from '../common/describe-error';
import type { HttpConfig } from '../config/app-config';
import { HTTP_CONFIG } from '../config/config.module';
import { RateLimitRepository } from './rate-limit.repository';

const WINDOW_MS = 60_000;
// How often an instance adds its counts to the shared ones (and learns the others').
const FLUSH_EVERY_MS = 1_000;

export type CallerVerdict = { allowed: true } | { allowed: false; limit: number; retryAfterSeconds: number };

/**
 * Every authenticated request's caller, counted per minute across instances without a database round
 * trip on the request's path: each instance counts in memory, and at most once a second (on a request,
 * never on a timer) adds what it counted to PostgreSQL's rate_limit_counters in one statement, which
 * answers every instance's total so far. A caller is refused once that total plus what this instance
 * counted since is over its limit. The price of no round trip: N instances may let up to N seconds'
 * worth of requests more through before each learns the others' counts. While the database is away,
 * each instance still holds the line on its own counts (and the request fails on the database anyway).
 */
@Injectable()
export class CallerRateLimit {
  private readonly logger = new Logger(CallerRateLimit.name);
  private window = 0;
  /** Counted here and not yet added to the shared count. */
  private pending = new Map<string, number>();
  /** Counted here and being added now: in neither `pending` nor `shared` until the flush answers. */
  private inFlight = new Map<string, number>();
  /** The shared count (every instance's) as the last flush answered it. */
  private shared = new Map<string, number>();
  private lastFlush = Number.NEGATIVE_INFINITY;
  private flushing = false;
  private failing = false;

  constructor(
    private readonly counters: RateLimitRepository,
    @Inject(HTTP_CONFIG) private readonly config: HttpConfig,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  /** Counts one request of `principal` and says whether it may go on. */
  hit(principal: Principal): CallerVerdict {
    const now = this.clock.now();
    const window = Math.floor(now / WINDOW_MS) * WINDOW_MS;
    if (window !== this.window) {
      // A new minute: the last one's counts no longer matter, flushed or not.
      this.window = window;
      this.pending = new Map();
      this.inFlight = new Map();
      this.shared = new Map();
    }
    // A service's name and a user's id live in one column: the kind keeps them apart.
    const subject = `${principal.isService || principal.isAdmin ? 'calls:s' : 'calls:u'}:${principal.subject}`;
    const counted = (this.pending.get(subject) ?? 0) + 1;
    this.pending.set(subject, counted);
    const limit =
      principal.isService || principal.isAdmin
        ? this.config.serviceRequestRateLimitPerMinute
        : this.config.requestRateLimitPerMinute;
    const seen = (this.shared.get(subject) ?? 0) + (this.inFlight.get(subject) ?? 0) + counted;
    // After the verdict: a flush moves this request's count from `pending` to `inFlight`.
    if (now - this.lastFlush >= FLUSH_EVERY_MS && !this.flushing) void this.flush(window, now);
    if (seen <= limit) return { allowed: true };
    return {
      allowed: false,
      limit,
      retryAfterSeconds: Math.max(1, Math.ceil((window + WINDOW_MS - now) / 1000)),
    };
  }

  private async flush(window: number, now: number): Promise<void> {
    this.flushing = true;
    this.lastFlush = now;
    const batch = this.pending;
    this.pending = new Map();
    this.inFlight = batch;
    try {
      const totals = await this.counters.addHits(new Date(window), batch);
      if (window !== this.window) return;
      for (const [subject, count] of totals) this.shared.set(subject, count);
      this.inFlight = new Map();
      if (this.failing) this.logger.log('request counts are shared again');
      this.failing = false;
    } catch (err) {
      // Kept, to be added with the next flush; meanwhile this instance judges by its own counts.
      if (window === this.window) {
        this.inFlight = new Map();
        for (const [subject, count] of batch)
          this.pending.set(subject, (this.pending.get(subject) ?? 0) + count);
      }
      if (!this.failing) this.logger.warn(`request counts not shared: ${describeError(err)}`);
      this.failing = true;
    } finally {
      this.flushing = false;
    }
  }
}

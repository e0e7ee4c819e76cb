import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobsConfig } from '../config/app-config';
import { JOBS_CONFIG } from '../config/config.module';
import { JobTimer } from '../jobs/job-timer';
import { ScheduledJobsRepository } from '../jobs/scheduled-jobs.repository';
import { RetentionRepository } from './retention.repository';

export const RETENTION_JOB = 'retention-sweep';
// A stored connect response is kept this long: Plaid Link's onSuccess firing twice is seconds apart.
const EXCHANGE_RESPONSE_HOURS = 24;
// A rate-limit window counts for a minute; an hour leaves room for any clock skew between instances.
const RATE_WINDOW_MINUTES = 60;
// Settled webhook deliveries are kept this long for admins (a failed one can be sent again until then).
const DELIVERED_WEBHOOK_DAYS = 7;
const FAILED_WEBHOOK_DAYS = 30;
const BATCH = 1_000;
// At most this many batches per table and sweep, so that one sweep is bounded; the next goes on.
const MAX_BATCHES = 1_000;
// A pause between batches leaves the database to the requests.
const BATCH_PAUSE_MS = 10;
// A claimed sweep whose instance died is taken over after this long.
const LEASE_MS = 10 * 60_000;

export interface SweepResult {
  idempotencyKeys: number;
  exchangeResponses: number;
  rateLimitWindows: number;
  webhookDeliveries: number;
}

/**
 * Keeps four tables from growing without bound: expired idempotency keys, the stored responses of old
 * public-token exchanges, old rate-limit windows, settled webhook deliveries. Every RETENTION_SWEEP_SECONDS one instance (the one
 * that claims the run in PostgreSQL) sweeps, in small batches, and logs one line.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(RetentionService.name);
  private readonly intervalMs: number;
  private readonly timer = new JobTimer('retention sweep', this.logger, () => this.runIfDue());
  private stopped = false;

  constructor(
    private readonly retention: RetentionRepository,
    private readonly jobs: ScheduledJobsRepository,
    @Inject(JOBS_CONFIG) config: JobsConfig,
  ) {
    this.intervalMs = config.retentionSweepSeconds * 1_000;
  }

  onApplicationBootstrap(): void {
    if (this.intervalMs > 0) this.timer.start(this.intervalMs);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    this.timer.stop();
  }

  /** Sweeps if a sweep is due and no other instance has claimed it; null when this one did not sweep. */
  async runIfDue(): Promise<SweepResult | null> {
    const lease = await this.jobs.claimLease(RETENTION_JOB, this.intervalMs, LEASE_MS);
    if (lease === null) return null;
    try {
      return await this.sweep();
    } finally {
      await this.jobs.release(RETENTION_JOB, lease);
    }
  }

  /** One sweep of every table it keeps; logs what it removed. */
  async sweep(): Promise<SweepResult> {
    const started = Date.now();
    const result: SweepResult = {
      idempotencyKeys: await this.inBatches(() => this.retention.deleteExpiredIdempotencyKeys(BATCH)),
      exchangeResponses: await this.inBatches(() =>
        this.retention.dropExchangeResponses(EXCHANGE_RESPONSE_HOURS, BATCH),
      ),
      rateLimitWindows: await this.inBatches(() =>
        this.retention.deleteRateLimitWindows(RATE_WINDOW_MINUTES, BATCH),
      ),
      webhookDeliveries: await this.inBatches(() =>
        this.retention.deleteSettledWebhookDeliveries(DELIVERED_WEBHOOK_DAYS, FAILED_WEBHOOK_DAYS, BATCH),
      ),
    };
    this.logger.log(
      `retention sweep: removed ${result.idempotencyKeys} expired idempotency keys, dropped ` +
        `${result.exchangeResponses} stored connect responses older than ${EXCHANGE_RESPONSE_HOURS} h, ` +
        `removed ${result.rateLimitWindows} rate-limit windows and ${result.webhookDeliveries} settled ` +
        `webhook deliveries, in ${Date.now() - started} ms`,
    );
    return result;
  }

  private async inBatches(removeOne: () => Promise<number>): Promise<number> {
    let total = 0;
    for (let batch = 0; batch < MAX_BATCHES && !this.stopped; batch++) {
      const removed = await removeOne();
      total += removed;
      if (removed < BATCH) break;
      await sleep(BATCH_PAUSE_MS);
    }
    return total;
  }
}

import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { SYSTEM_CALLER } from '../auth/caller';
import { retryAfterOf } from '../bluum/bluum-errors';
import { BluumGateway } from '../bluum/bluum.gateway';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { isDatabaseUnavailable } from '../database/database-errors';
import { FundingSourceWrites } from '../funding-sources/funding-source-writes';
import { JobTimer } from '../jobs/job-timer';
import { type JobLease, ScheduledJobsRepository } from '../jobs/scheduled-jobs.repository';
import {
  MetricsService,
  type ReconcileSweepOutcome,
  type ReconcileUserOutcome,
} from '../metrics/metrics.service';
import { type DueUser, ReconciliationRepository, type WalkCursor } from './reconciliation.repository';
import { describeError } from '../common/describe-error';

export const RECONCILE_JOB = 'reconciliation-sweep';
/** The sweep's row in rate_limit_counters: its calls to Bluum per second, across instances. */
export const BLUUM_REQUESTS_SUBJECT = 'bluum-requests:reconcile';
// Users read per page of the walk.
const BATCH = 100;
// Calls to Bluum the sweep has in flight at once: few, so it never crowds the requests' bulkhead.
const CONCURRENCY = 2;
// No request slot is granted this close to the end of a second (see takeRequestSlot).
const SLOT_GUARD_MS = 250;
// A claimed sweep whose instance died is taken over after this long (at its next due time); a live
// sweep renews it every RENEW_MS, and stops if another instance has taken the run over.
const LEASE_MS = 2 * 60_000;
const RENEW_MS = 30_000;
// A user whose call Bluum answered "wait" (Retry-After) is tried again after the pause, this many times
// in all within one sweep; after that it is retried next sweep.
const MAX_ATTEMPTS = 3;
// Bluum's Retry-After is obeyed up to this long; a longer one is taken as this (the lease is renewed).
const MAX_PAUSE_MS = 10 * 60_000;
// How long shutdown waits for a stopping sweep to let go of its lease.
const SHUTDOWN_WAIT_MS = 5_000;

export interface ReconcileSweepResult {
  /** Users whose Bluum list was read, or tried. */
  checked: number;
  changed: number;
  failed: number;
  durationMs: number;
  /** complete, or why the sweep ended before walking every due user. */
  outcome: ReconcileSweepOutcome;
}

/** One sweep in progress: how it ends early, and the pause Bluum asked for. */
interface SweepRun {
  readonly signal: AbortSignal;
  /** Ends the sweep early (the first reason given is kept). */
  end(outcome: Exclude<ReconcileSweepOutcome, 'complete'>): void;
  ended(): ReconcileSweepOutcome | null;
  /** No call to Bluum starts before this (Date.now() ms). */
  pausedUntil: number;
}

/**
 * Keeps every user's stored funding sources in line with Bluum, which sends no funding-source webhooks:
 * every RECONCILE_INTERVAL_SECONDS one instance (the one that claims the run in PostgreSQL) walks the
 * users with items not all disconnected, least recently reconciled first, reads each one's list from
 * Bluum and applies sync's rules (FundingSourcesRepository.syncItems), its audit events by `system`.
 * Its calls to Bluum stay under BLUUM_MAX_REQUESTS_PER_SECOND across all instances (a counter in
 * PostgreSQL), pause as long as Bluum's Retry-After says, and take at most half the bulkhead, waiting
 * instead of taking a slot a request needs. A user Bluum (or its lock) fails for is logged and retried
 * next sweep; a database outage ends the sweep. No database connection is held while Bluum is waited on.
 */
@Injectable()
export class ReconciliationService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ReconciliationService.name);
  private readonly intervalMs: number;
  private readonly requestsPerSecond: number;
  private readonly timer = new JobTimer('reconciliation sweep', this.logger, () => this.runIfDue());
  private stopped = false;
  private current: SweepRun | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly repository: ReconciliationRepository,
    private readonly jobs: ScheduledJobsRepository,
    private readonly fundingSources: FundingSourceWrites,
    private readonly bluum: BluumGateway,
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.intervalMs = config.reconcileIntervalSeconds * 1_000;
    this.requestsPerSecond = config.bluumMaxRequestsPerSecond;
  }

  onApplicationBootstrap(): void {
    if (this.intervalMs > 0) this.timer.start(this.intervalMs);
  }

  /** Stops the timer and a sweep in flight (its waits and its call to Bluum are abandoned at once). */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.timer.stop();
    this.current?.end('stopped');
    if (this.running) {
      let timer: NodeJS.Timeout | undefined;
      const giveUp = new Promise((resolve) => {
        timer = setTimeout(resolve, SHUTDOWN_WAIT_MS);
      });
      await Promise.race([this.running.catch(() => undefined), giveUp]);
      clearTimeout(timer);
    }
  }

  /** Sweeps if a sweep is due and no other instance has claimed it; null when this one did not sweep. */
  runIfDue(): Promise<ReconcileSweepResult | null> {
    const run = this.claimAndSweep();
    this.running = run;
    return run;
  }

  private async claimAndSweep(): Promise<ReconcileSweepResult | null> {
    if (this.stopped) return null;
    let lease: JobLease | null = await this.jobs.claimLease(RECONCILE_JOB, this.intervalMs, LEASE_MS);
    if (lease === null) return null;
    const run = this.newRun();
    if (this.stopped) run.end('stopped');
    // Renewals one after the other, so the lease released at the end is the last one written.
    let renewing = Promise.resolve();
    const renewal = setInterval(() => {
      renewing = renewing.then(async () => {
        try {
          const renewed: JobLease | null = await this.jobs.extend(RECONCILE_JOB, lease as JobLease, LEASE_MS);
          if (renewed === null) run.end('lease_lost');
          else lease = renewed;
        } catch (err) {
          // The sweep's own queries meet the same outage and end it.
          this.logger.warn(`reconciliation: renewing the sweep's lease failed: ${describeError(err)}`);
        }
      });
    }, RENEW_MS);
    renewal.unref();
    this.current = run;
    try {
      return await this.sweep(run);
    } finally {
      this.current = undefined;
      clearInterval(renewal);
      await renewing;
      if (run.ended() !== 'lease_lost') {
        await this.jobs
          .release(RECONCILE_JOB, lease)
          .catch((err: unknown) =>
            this.logger.warn(`reconciliation: releasing the sweep's lease failed: ${describeError(err)}`),
          );
      }
    }
  }

  private newRun(): SweepRun {
    const controller = new AbortController();
    let outcome: ReconcileSweepOutcome | null = null;
    return {
      signal: controller.signal,
      end(why) {
        outcome ??= why;
        controller.abort(new Error(`reconciliation sweep ended: ${why}`));
      },
      ended: () => outcome,
      pausedUntil: 0,
    };
  }

  /** Walks the due users page by page, CONCURRENCY at a time; one log line and the metrics at the end. */
  private async sweep(run: SweepRun): Promise<ReconcileSweepResult> {
    const started = Date.now();
    const counts: Record<ReconcileUserOutcome, number> = { unchanged: 0, changed: 0, failed: 0 };
    try {
      // The database's clock: users reconciled from now on (by this sweep) are not due again in it.
      const before = await this.repository.now();
      let cursor: WalkCursor | null = null;
      while (!run.signal.aborted) {
        const page = await this.repository.dueUsers(before, cursor, BATCH);
        if (page.length === 0) break;
        cursor = page[page.length - 1];
        await this.reconcileAll(page, run, counts);
        if (page.length < BATCH) break;
      }
      if (!run.signal.aborted) await this.repository.pruneRequestSlots(BLUUM_REQUESTS_SUBJECT);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      run.end('database_unavailable');
    }
    const outcome = run.ended() ?? 'complete';
    const result: ReconcileSweepResult = {
      checked: counts.unchanged + counts.changed + counts.failed,
      changed: counts.changed,
      failed: counts.failed,
      durationMs: Date.now() - started,
      outcome,
    };
    const line =
      `reconciliation sweep${outcome === 'complete' ? '' : ` ended early (${outcome})`}: ` +
      `${result.checked} users checked, ${result.changed} changed, ${result.failed} failed, ` +
      `in ${result.durationMs} ms`;
    if (outcome === 'database_unavailable' || outcome === 'lease_lost') this.logger.warn(line);
    else this.logger.log(line);
    this.metrics.observeReconcileSweep(outcome, result.durationMs / 1000);
    return result;
  }

  /** Reconciles `users` in their order, CONCURRENCY at a time, until all are done or the sweep ends. */
  private async reconcileAll(
    users: readonly DueUser[],
    run: SweepRun,
    counts: Record<ReconcileUserOutcome, number>,
  ): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (!run.signal.aborted && next < users.length) {
        const outcome = await this.reconcileUser(users[next++], run);
        if (outcome === null) return;
        counts[outcome]++;
        this.metrics.countReconciledUser(outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, users.length) }, worker));
  }

  /**
   * One user, by sync's rules: Bluum's list (within the rate budget and any pause Bluum asked for),
   * then syncItems in its own transaction, then the user's reconciled_at. null when the sweep ended
   * meanwhile (the user keeps its place for the next sweep).
   */
  private async reconcileUser(user: DueUser, run: SweepRun): Promise<ReconcileUserOutcome | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.waitForBluum(run);
        const bluumItems = await this.bluum.listItems(user.bluumAccountId, {
          background: true,
          signal: run.signal,
        });
        const synced = await this.fundingSources.syncItems(
          user.id,
          user.bluumAccountId,
          bluumItems,
          SYSTEM_CALLER,
          'reconcile',
        );
        if (synced.kind !== 'synced') {
          this.logger.warn(
            `reconciliation: user ${user.id} not reconciled (${synced.kind}); next sweep retries`,
          );
          return 'failed';
        }
        if (synced.skipped.length > 0) {
          this.logger.warn(
            `reconciliation: user ${user.id}: ${synced.skipped.length} item(s) from Bluum are stored for another user; left alone`,
          );
        }
        await this.repository.markReconciled(user.id);
        return synced.added + synced.updated > 0 ? 'changed' : 'unchanged';
      } catch (err) {
        if (run.signal.aborted) return null;
        if (isDatabaseUnavailable(err)) {
          run.end('database_unavailable');
          return null;
        }
        const retryAfterMs = retryAfterOf(err);
        if (retryAfterMs !== undefined) {
          const pause = Math.min(retryAfterMs, MAX_PAUSE_MS);
          run.pausedUntil = Math.max(run.pausedUntil, Date.now() + pause);
          this.logger.warn(`reconciliation: Bluum asked to wait ${pause} ms; the sweep's calls pause`);
          if (attempt < MAX_ATTEMPTS) continue;
        }
        this.logger.warn(
          `reconciliation: user ${user.id} not reconciled (${describeError(err)}); next sweep retries`,
        );
        return 'failed';
      }
    }
  }

  /** Waits out a pause Bluum asked for, then for a slot of the per-second budget shared by all instances. */
  private async waitForBluum(run: SweepRun): Promise<void> {
    for (;;) {
      // Looked at again after every wait: another worker may have met a Retry-After meanwhile.
      if (Date.now() < run.pausedUntil) {
        await sleep(run.pausedUntil - Date.now(), undefined, { signal: run.signal });
        continue;
      }
      const slot = await this.repository.takeRequestSlot(
        BLUUM_REQUESTS_SUBJECT,
        this.requestsPerSecond,
        SLOT_GUARD_MS,
      );
      if (slot.granted) return;
      await sleep(slot.waitMs + 1, undefined, { signal: run.signal });
    }
  }
}

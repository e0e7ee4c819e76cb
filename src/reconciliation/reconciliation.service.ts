import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { describeError } from '../common/describe-error';
import type { JobsConfig } from '../config/app-config';
import { JOBS_CONFIG } from '../config/config.module';
import { JobTimer } from '../jobs/job-timer';
import { type JobLease, ScheduledJobsRepository } from '../jobs/scheduled-jobs.repository';
import { type ReconcileSweepResult, ReconcileSweep } from './reconcile-sweep';
import { SweepRun } from './sweep-run';

export type { ReconcileSweepResult } from './reconcile-sweep';

export const RECONCILE_JOB = 'reconciliation-sweep';
// A claimed sweep whose instance died is taken over after this long (at its next due time); a live
// sweep renews it every RENEW_MS, and stops if another instance has taken the run over.
const LEASE_MS = 2 * 60_000;
const RENEW_MS = 30_000;
// How long shutdown waits for a stopping sweep to let go of its lease.
const SHUTDOWN_WAIT_MS = 5_000;

/**
 * Keeps every user's stored funding sources in line with Bluum, which sends no funding-source webhooks:
 * every RECONCILE_INTERVAL_SECONDS one instance (the one that claims the run in PostgreSQL) sweeps
 * (ReconcileSweep: the walk of the due users; UserReconciler: one user by sync's rules, its audit
 * events by `system`; SweepPacer: Bluum's Retry-After and BLUUM_MAX_REQUESTS_PER_SECOND across all
 * instances). This class owns when a sweep runs: the timer, the run's lease in scheduled_jobs (renewed
 * while it works, the sweep ended if another instance took it over), and shutdown.
 */
@Injectable()
export class ReconciliationService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(ReconciliationService.name);
  private readonly intervalMs: number;
  private readonly timer = new JobTimer('reconciliation sweep', this.logger, () => this.runIfDue());
  private stopped = false;
  private current: SweepRun | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly jobs: ScheduledJobsRepository,
    private readonly sweep: ReconcileSweep,
    @Inject(JOBS_CONFIG) config: JobsConfig,
  ) {
    this.intervalMs = config.reconcileIntervalSeconds * 1_000;
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
    const run = new SweepRun();
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
      return await this.sweep.sweepDue(run);
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
}

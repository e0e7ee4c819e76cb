import { Injectable, Logger, Optional } from '@nestjs/common';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import { isDatabaseUnavailable } from '../database/database-errors';
import {
  MetricsService,
  type ReconcileSweepOutcome,
  type ReconcileUserOutcome,
} from '../metrics/metrics.service';
import { type DueUser, ReconciliationRepository, type WalkCursor } from './reconciliation.repository';
import { SweepPacer } from './sweep-pacer';
import { SweepRun } from './sweep-run';
import { UserReconciler } from './user-reconciler';

// Users read per page of the walk.
const BATCH = 100;
// Calls to Bluum the sweep has in flight at once: few, so it never crowds the requests' bulkhead.
const CONCURRENCY = 2;

export interface ReconcileSweepResult {
  /** Users whose Bluum list was read, or tried. */
  checked: number;
  changed: number;
  failed: number;
  durationMs: number;
  /** complete, or why the sweep ended before walking every due user. */
  outcome: ReconcileSweepOutcome;
}

type Counts = Record<ReconcileUserOutcome, number>;

/**
 * What one sweep does, once its run is claimed (ReconciliationService): walks the due users, least
 * recently reconciled first, page by page, reconciling CONCURRENCY at a time (UserReconciler), and ends
 * with one log line and the metrics. A database outage ends it.
 */
@Injectable()
export class ReconcileSweep {
  private readonly logger = new Logger(ReconcileSweep.name);

  constructor(
    private readonly repository: ReconciliationRepository,
    private readonly reconciler: UserReconciler,
    private readonly pacer: SweepPacer,
    private readonly metrics: MetricsService,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  /** Every user due when it starts (by the database's clock). */
  sweepDue(run: SweepRun): Promise<ReconcileSweepResult> {
    return this.measured(run, async (counts) => {
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
      if (!run.signal.aborted) await this.pacer.prune();
    });
  }

  /**
   * The same sweep over `users` alone, whether due or not, in their order: the walk scoped to them
   * (no lease: callers that need one run each user at most once themselves).
   */
  sweepUsers(users: readonly DueUser[], run: SweepRun = new SweepRun()): Promise<ReconcileSweepResult> {
    return this.measured(run, (counts) => this.reconcileAll(users, run, counts));
  }

  private async measured(
    run: SweepRun,
    walk: (counts: Counts) => Promise<void>,
  ): Promise<ReconcileSweepResult> {
    const started = this.clock.now();
    const counts: Counts = { unchanged: 0, changed: 0, failed: 0 };
    try {
      await walk(counts);
    } catch (err) {
      if (!isDatabaseUnavailable(err)) throw err;
      run.end('database_unavailable');
    }
    const outcome = run.ended() ?? 'complete';
    const result: ReconcileSweepResult = {
      checked: counts.unchanged + counts.changed + counts.failed,
      changed: counts.changed,
      failed: counts.failed,
      durationMs: this.clock.now() - started,
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
  private async reconcileAll(users: readonly DueUser[], run: SweepRun, counts: Counts): Promise<void> {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (!run.signal.aborted && next < users.length) {
        const outcome = await this.reconciler.reconcile(users[next++], run);
        if (outcome === null) return;
        counts[outcome]++;
        this.metrics.countReconciledUser(outcome);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, users.length) }, worker));
  }
}

import { Injectable, Logger } from '@nestjs/common';
import { SYSTEM_CALLER } from '../auth/caller';
import { retryAfterOf } from '../bluum/bluum-errors';
import { BluumGateway } from '../bluum/bluum.gateway';
import { describeError } from '../common/describe-error';
import { isDatabaseUnavailable } from '../database/database-errors';
import { FundingSourceWrites } from '../funding-sources/funding-source-writes';
import type { ReconcileUserOutcome } from '../metrics/metrics.service';
import { type DueUser, ReconciliationRepository } from './reconciliation.repository';
import { SweepPacer } from './sweep-pacer';
import { SweepRun } from './sweep-run';

// A user whose call Bluum answered "wait" (Retry-After) is tried again after the pause, this many times
// in all within one sweep; after that it is retried next sweep.
const MAX_ATTEMPTS = 3;
// Bluum's Retry-After is obeyed up to this long; a longer one is taken as this (the lease is renewed).
const MAX_PAUSE_MS = 10 * 60_000;

/**
 * The sweep's unit of work: one user brought in line with Bluum by sync's rules. No database
 * connection is held while Bluum is waited on.
 */
@Injectable()
export class UserReconciler {
  private readonly logger = new Logger(UserReconciler.name);

  constructor(
    private readonly repository: ReconciliationRepository,
    private readonly writes: FundingSourceWrites,
    private readonly bluum: BluumGateway,
    private readonly pacer: SweepPacer,
  ) {}

  /**
   * Bluum's list (within the rate budget and any pause Bluum asked for), then syncItems in its own
   * transaction with its audit events by `system`, then the user's reconciled_at. A user Bluum (or its
   * lock) fails for is logged and 'failed' (it keeps its place for the next sweep). null when the
   * sweep ended meanwhile, the database's outage included (`run` says why).
   */
  async reconcile(user: DueUser, run: SweepRun = new SweepRun()): Promise<ReconcileUserOutcome | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.syncWithBluum(user, run);
      } catch (err) {
        if (run.signal.aborted) return null;
        if (isDatabaseUnavailable(err)) {
          run.end('database_unavailable');
          return null;
        }
        const retryAfterMs = retryAfterOf(err);
        if (retryAfterMs !== undefined) {
          const pause = Math.min(retryAfterMs, MAX_PAUSE_MS);
          this.pacer.pause(run, pause);
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

  private async syncWithBluum(user: DueUser, run: SweepRun): Promise<ReconcileUserOutcome> {
    await this.pacer.waitForTurn(run);
    const bluumItems = await this.bluum.listItems(user.bluumAccountId, {
      background: true,
      signal: run.signal,
    });
    const synced = await this.writes.syncItems(
      user.id,
      user.bluumAccountId,
      bluumItems,
      SYSTEM_CALLER,
      'reconcile',
    );
    if (synced.kind !== 'synced') {
      this.logger.warn(`reconciliation: user ${user.id} not reconciled (${synced.kind}); next sweep retries`);
      return 'failed';
    }
    if (synced.skipped.length > 0) {
      this.logger.warn(
        `reconciliation: user ${user.id}: ${synced.skipped.length} item(s) from Bluum are stored for another user; left alone`,
      );
    }
    await this.repository.markReconciled(user.id);
    return synced.added + synced.updated > 0 ? 'changed' : 'unchanged';
  }
}

import { Inject, Injectable, Optional } from '@nestjs/common';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import type { JobsConfig } from '../config/app-config';
import { JOBS_CONFIG } from '../config/config.module';
import { ReconciliationRepository } from './reconciliation.repository';
import type { SweepRun } from './sweep-run';

/** The sweep's row in rate_limit_counters: its calls to Bluum per second, across instances. */
export const BLUUM_REQUESTS_SUBJECT = 'bluum-requests:reconcile';
// No request slot is granted this close to the end of a second (see takeRequestSlot).
const SLOT_GUARD_MS = 250;

/**
 * When the sweep may call Bluum: after any pause Bluum asked for (Retry-After, shared by the sweep's
 * workers), and within BLUUM_MAX_REQUESTS_PER_SECOND across every instance (a counter in PostgreSQL).
 */
@Injectable()
export class SweepPacer {
  private readonly requestsPerSecond: number;

  constructor(
    private readonly repository: ReconciliationRepository,
    @Inject(JOBS_CONFIG) config: JobsConfig,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.requestsPerSecond = config.bluumMaxRequestsPerSecond;
  }

  /** Waits out a pause Bluum asked for, then for a slot of the per-second budget shared by all instances. */
  async waitForTurn(run: SweepRun): Promise<void> {
    for (;;) {
      // Looked at again after every wait: another worker may have met a Retry-After meanwhile.
      const now = this.clock.now();
      if (now < run.pausedUntil) {
        await this.clock.sleep(run.pausedUntil - now, run.signal);
        continue;
      }
      const slot = await this.repository.takeRequestSlot(
        BLUUM_REQUESTS_SUBJECT,
        this.requestsPerSecond,
        SLOT_GUARD_MS,
      );
      if (slot.granted) return;
      await this.clock.sleep(slot.waitMs + 1, run.signal);
    }
  }

  /** Holds the run's calls for `ms` from now. */
  pause(run: SweepRun, ms: number): void {
    run.pauseUntil(this.clock.now() + ms);
  }

  /** Removes the budget's past seconds once a sweep is done with them. */
  async prune(): Promise<void> {
    await this.repository.pruneRequestSlots(BLUUM_REQUESTS_SUBJECT);
  }
}

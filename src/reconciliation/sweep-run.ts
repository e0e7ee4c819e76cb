import type { ReconcileSweepOutcome } from '../metrics/metrics.service';

/**
 * One sweep in progress, shared by its workers: how it ends early (its signal aborts every wait and
 * every call to Bluum at once), and the pause Bluum asked for, which holds for all of them.
 */
export class SweepRun {
  private readonly controller = new AbortController();
  private outcome: Exclude<ReconcileSweepOutcome, 'complete'> | null = null;
  /** No call to Bluum starts before this (Clock.now() ms). */
  pausedUntil = 0;

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Ends the sweep early (the first reason given is kept). */
  end(why: Exclude<ReconcileSweepOutcome, 'complete'>): void {
    this.outcome ??= why;
    this.controller.abort(new Error(`reconciliation sweep ended: ${why}`));
  }

  /** Why the sweep ended early, or null while it runs (or when it completed). */
  ended(): ReconcileSweepOutcome | null {
    return this.outcome;
  }

  /** Holds every call of the sweep until `until`, unless a longer pause holds already. */
  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }
}

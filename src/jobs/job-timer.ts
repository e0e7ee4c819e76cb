import type { Logger } from '@nestjs/common';
import { describeError } from '../common/describe-error';

// A job whose interval is longer is still looked at this often: whoever claims it when due runs it, and a
// run whose instance died is taken over within a tick of its lease expiring.
const MAX_TICK_MS = 60_000;

/**
 * The timer of a background job that every instance runs and PostgreSQL coordinates: `tick` (which
 * claims the job's run or finds it not due) every `intervalMs` or every minute if that is shorter, the
 * first at a random point in the second half of that, so instances started together spread. Unref'd: it never keeps a process alive. Failed
 * ticks are logged once per outage (the first, then a line when a tick succeeds again); the next tick
 * comes as usual.
 */
export class JobTimer {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly job: string,
    private readonly logger: Logger,
    private readonly tick: () => Promise<unknown>,
  ) {}

  start(intervalMs: number): void {
    const everyMs = Math.min(intervalMs, MAX_TICK_MS);
    this.schedule(everyMs * (0.5 + Math.random() / 2), everyMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number, everyMs: number): void {
    this.timer = setTimeout(() => {
      void this.tick()
        .then(
          () => {
            if (this.failing) this.logger.log(`${this.job} runs again`);
            this.failing = false;
          },
          (err: unknown) => {
            if (!this.failing) this.logger.warn(`${this.job} failed: ${describeError(err)}`);
            this.failing = true;
          },
        )
        .finally(() => {
          if (!this.stopped) this.schedule(everyMs, everyMs);
        });
    }, delayMs);
    this.timer.unref();
  }
}

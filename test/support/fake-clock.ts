// A Clock for unit specs: time moves only when the code under test sleeps, at once and by exactly what
// it asked, so a poll loop or a retry's pause runs without real waiting and its waits can be read back.
import { Clock } from '../../src/common/clock';

export class FakeClock extends Clock {
  /** Every sleep asked for, in order (ms). */
  readonly sleeps: number[] = [];

  constructor(private time = Date.parse('2026-01-22T10:00:00.000Z')) {
    super();
  }

  now(): number {
    return this.time;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.sleeps.push(ms);
    this.time += ms;
    // A turn of the event loop, as a real timer gives: other work waiting on promises runs first.
    await new Promise<void>((resolve) => setImmediate(resolve));
    signal?.throwIfAborted();
  }

  /** Moves time on without a sleep (as if a call took `ms`). */
  advance(ms: number): void {
    this.time += ms;
  }
}

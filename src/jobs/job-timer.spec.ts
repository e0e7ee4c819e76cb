import type { Logger } from '@nestjs/common';
import { JobTimer } from './job-timer';

describe('JobTimer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const setup = (tick: () => Promise<unknown>) => {
    const warnings: string[] = [];
    const logger = { warn: (line: string) => warnings.push(line) } as unknown as Logger;
    return { timer: new JobTimer('test job', logger, tick), warnings };
  };

  it('ticks first within the interval (never before its half), then every interval, until stopped', async () => {
    let ticks = 0;
    const { timer } = setup(() => Promise.resolve(ticks++));
    timer.start(1_000);
    await jest.advanceTimersByTimeAsync(499);
    expect(ticks).toBe(0);
    await jest.advanceTimersByTimeAsync(501);
    expect(ticks).toBe(1);
    await jest.advanceTimersByTimeAsync(3_000);
    expect(ticks).toBe(4);
    timer.stop();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(ticks).toBe(4);
  });

  it('looks every minute at a job whose interval is longer', async () => {
    let ticks = 0;
    const { timer } = setup(() => Promise.resolve(ticks++));
    timer.start(3_600_000);
    await jest.advanceTimersByTimeAsync(60_000 * 3);
    timer.stop();
    expect(ticks).toBe(3);
  });

  it('logs a failed tick as one line without its later lines, and goes on', async () => {
    let ticks = 0;
    const { timer, warnings } = setup(() => {
      ticks++;
      return Promise.reject(new Error('connection refused\nSELECT secret FROM somewhere'));
    });
    timer.start(1_000);
    await jest.advanceTimersByTimeAsync(3_000);
    timer.stop();
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(warnings[0]).toBe('test job failed: connection refused');
    expect(warnings).toHaveLength(ticks);
  });
});

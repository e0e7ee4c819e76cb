import type { Logger } from '@nestjs/common';
import { JobTimer } from './job-timer';

describe('JobTimer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const setup = (tick: () => Promise<unknown>) => {
    const warnings: string[] = [];
    const lines: string[] = [];
    const logger = {
      warn: (line: string) => warnings.push(line),
      log: (line: string) => lines.push(line),
    } as unknown as Logger;
    return { timer: new JobTimer('test job', logger, tick), warnings, lines };
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

  it("logs an outage once, without a failure's later lines, goes on ticking, and says when it runs again", async () => {
    let ticks = 0;
    let down = true;
    const { timer, warnings, lines } = setup(() => {
      ticks++;
      return down
        ? Promise.reject(new Error('connection refused\nSELECT secret FROM somewhere'))
        : Promise.resolve();
    });
    timer.start(1_000);
    await jest.advanceTimersByTimeAsync(3_000);
    expect(ticks).toBeGreaterThanOrEqual(2);
    expect(warnings).toEqual(['test job failed: connection refused']);
    down = false;
    await jest.advanceTimersByTimeAsync(2_000);
    timer.stop();
    expect(lines).toEqual(['test job runs again']);
  });
});

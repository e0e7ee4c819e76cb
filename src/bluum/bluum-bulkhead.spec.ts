import { configSlice, loadConfig } from '../config/app-config';
import type { PrismaService } from '../database/prisma.service';
import { MetricsService } from '../metrics/metrics.service';
import { BluumBulkhead } from './bluum-bulkhead';

function bulkhead(maxConcurrency: number, perUser = 2, metrics = newMetrics()): BluumBulkhead {
  const config = loadConfig({
    NODE_ENV: 'test',
    BLUUM_MAX_CONCURRENCY: String(maxConcurrency),
    BLUUM_MAX_CONCURRENCY_PER_USER: String(perUser),
  });
  return new BluumBulkhead(configSlice(config, 'bluum'), metrics);
}

function newMetrics(): MetricsService {
  return new MetricsService({ pool: null, readPool: null } as unknown as PrismaService);
}

/** Work that runs until `finish()` is called. */
function held(): { work: () => Promise<string>; finish: () => void; started: () => boolean } {
  let release!: () => void;
  let running = false;
  const done = new Promise<void>((resolve) => (release = resolve));
  return {
    work: async () => {
      running = true;
      await done;
      return 'done';
    },
    finish: () => release(),
    started: () => running,
  };
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('BluumBulkhead.runBackground', () => {
  it('takes at most half the slots, so requests still get the rest, and never refuses', async () => {
    const sut = bulkhead(4);
    const background = [held(), held(), held()];
    const runs = background.map((b) => sut.runBackground(b.work));
    await settle();
    // Two of four slots: the third background call waits instead of taking one.
    expect(background.map((b) => b.started())).toEqual([true, true, false]);
    const requests = [held(), held()];
    const answered = requests.map((r, i) => sut.run(`acct_${i}`, r.work));
    await settle();
    expect(requests.every((r) => r.started())).toBe(true);
    // All four slots taken by then: a fifth request is refused, as it would be without the sweep too.
    await expect(sut.run('acct_x', () => Promise.resolve('x'))).rejects.toMatchObject({ code: 'BLUUM_BUSY' });

    // A slot freed while requests hold two still leaves the waiting background call waiting.
    background[0].finish();
    await settle();
    expect(background[2].started()).toBe(false);
    requests.forEach((r) => r.finish());
    await Promise.all(answered);
    await settle();
    expect(background[2].started()).toBe(true);
    background.forEach((b) => b.finish());
    await expect(Promise.all(runs)).resolves.toEqual(['done', 'done', 'done']);
  });

  it('lets background work through one at a time on a bulkhead of one', async () => {
    const sut = bulkhead(1);
    const [a, b] = [held(), held()];
    const runs = [sut.runBackground(a.work), sut.runBackground(b.work)];
    await settle();
    expect([a.started(), b.started()]).toEqual([true, false]);
    a.finish();
    await settle();
    expect(b.started()).toBe(true);
    b.finish();
    await Promise.all(runs);
  });

  it('stops waiting when its signal aborts, and the slot it did not take stays free', async () => {
    const sut = bulkhead(2);
    const first = held();
    const running = sut.runBackground(first.work);
    const controller = new AbortController();
    const waiting = held();
    const abandoned = sut.runBackground(waiting.work, controller.signal);
    await settle();
    controller.abort(new Error('shutdown'));
    await expect(abandoned).rejects.toThrow('shutdown');
    expect(waiting.started()).toBe(false);
    await expect(sut.run('acct_r', () => Promise.resolve('request'))).resolves.toBe('request');
    first.finish();
    await running;
  });
});

describe('BluumBulkhead.run, per user', () => {
  it("refuses a user's call beyond BLUUM_MAX_CONCURRENCY_PER_USER with 429 RATE_LIMITED, Retry-After 1, without running it", async () => {
    const metrics = newMetrics();
    const sut = bulkhead(50, 2, metrics);
    const [a, b] = [held(), held()];
    const runs = [sut.run('acct_greedy', a.work), sut.run('acct_greedy', b.work)];
    await settle();
    const third = held();
    await expect(sut.run('acct_greedy', third.work)).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      status: 429,
      retryAfterSeconds: 1,
    });
    expect(third.started()).toBe(false);
    expect(await metrics.registry.metrics()).toContain('bluum_bulkhead_rejections_total{limit="user"} 1');
    // Everyone else still gets a slot.
    await expect(sut.run('acct_other', () => Promise.resolve('other'))).resolves.toBe('other');
    // A slot the user gives back is theirs again, and a call that fails gives its slot back too.
    a.finish();
    await runs[0];
    await expect(sut.run('acct_greedy', () => Promise.reject(new Error('bluum down')))).rejects.toThrow(
      'bluum down',
    );
    await expect(sut.run('acct_greedy', () => Promise.resolve('again'))).resolves.toBe('again');
    b.finish();
    await runs[1];
  });

  it('counts per user before the instance: a user over their share gets 429 even while the instance is full', async () => {
    const sut = bulkhead(1, 1);
    const a = held();
    const run = sut.run('acct_a', a.work);
    await settle();
    await expect(sut.run('acct_a', () => Promise.resolve('x'))).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    await expect(sut.run('acct_b', () => Promise.resolve('x'))).rejects.toMatchObject({ code: 'BLUUM_BUSY' });
    a.finish();
    await run;
  });
});

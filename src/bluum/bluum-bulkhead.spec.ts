import { loadConfig } from '../config/app-config';
import type { PrismaService } from '../database/prisma.service';
import { MetricsService } from '../metrics/metrics.service';
import { BluumBulkhead } from './bluum-bulkhead';

function bulkhead(maxConcurrency: number): BluumBulkhead {
  const config = loadConfig({ NODE_ENV: 'test', BLUUM_MAX_CONCURRENCY: String(maxConcurrency) });
  return new BluumBulkhead(
    config,
    new MetricsService({ pool: null, readPool: null } as unknown as PrismaService),
  );
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
    const answered = requests.map((r) => sut.run(r.work));
    await settle();
    expect(requests.every((r) => r.started())).toBe(true);
    // All four slots taken by then: a fifth request is refused, as it would be without the sweep too.
    await expect(sut.run(() => Promise.resolve('x'))).rejects.toMatchObject({ code: 'BLUUM_BUSY' });

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
    await expect(sut.run(() => Promise.resolve('request'))).resolves.toBe('request');
    first.finish();
    await running;
  });
});

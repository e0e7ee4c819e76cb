// A slow or failing Bluum never holds a database connection, never stalls reads or readiness, and never
// splits what Bluum holds from what we store. The pool is deliberately tiny here: with a connection held
// across each Bluum call (the old disconnect), the reads below would queue behind the DELETEs.
import { closeAppWithFakeBluum, type FakeBluum, startAppWithFakeBluum } from './support/fake-bluum';
import { type Api, testApi } from './support/api';
import { registerUser, type TestApp } from './support/test-app';
import { waitUntil } from './support/wait-until';

describe('Bluum slow or failing', () => {
  let bluum: FakeBluum;
  let app: TestApp;
  let api: Api;

  beforeAll(async () => {
    ({ app, bluum } = await startAppWithFakeBluum({
      // Short, so that the calls held in flight below and the timed-out one take under a second each.
      BLUUM_TIMEOUT_MS: '1000',
      DATABASE_POOL_SIZE: '2',
      DATABASE_READ_POOL_SIZE: '2',
      BLUUM_MAX_CONCURRENCY: '4',
    }));
    api = testApi(app);
  });
  afterAll(() => closeAppWithFakeBluum({ app, bluum }));
  beforeEach(() => bluum.reset());

  /** A user with `banks` linked banks of one account each; returns the accounts' ids. */
  async function linkBanks(banks: number) {
    const { userId, bluumAccountId } = await registerUser(app);
    const ids: string[] = [];
    for (let i = 0; i < banks; i++) {
      ids.push((await api.as(userId).linkBank()).fundingSources[0].id);
    }
    bluum.requests.length = 0;
    return { userId, bluumAccountId, ids };
  }
  const timed = async <T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> => {
    const started = Date.now();
    const value = await work();
    return { value, ms: Date.now() - started };
  };
  const deletesSeenByBluum = () => bluum.requests.filter((r) => r.method === 'DELETE').length;

  it("keeps other users' reads and readiness fast while disconnects wait on Bluum", async () => {
    const reader = await linkBanks(1);
    // Two users of two banks each: one user may have two Bluum calls in flight (the per-user cap).
    const busy = [await linkBanks(2), await linkBanks(2)];
    bluum.failNext({ delayMs: 700 }, 4);
    const deletes = busy.flatMap(({ userId, ids }) => ids.map((id) => api.as(userId).disconnect(id)));
    await bluum.received(4);
    // Four Bluum calls in flight on a pool of two connections: reads and readiness still answer at once.
    for (let i = 0; i < 5; i++) {
      const read = await timed(() => api.as(reader.userId).list());
      expect(read.value.status).toBe(200);
      expect(read.ms).toBeLessThan(500);
      const ready = await timed(() => app.request('GET', '/health/ready'));
      expect(ready.value.status).toBe(200);
      expect(ready.ms).toBeLessThan(500);
      // Writes that need no Bluum call get a connection too.
      const put = await api.admin().user(reader.userId).putUser({ bluumAccountId: reader.bluumAccountId });
      expect(put.status).toBe(200);
    }
    const answers = await Promise.all(deletes);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect(answers.every((r) => r.body.status === 'disconnected')).toBe(true);
  });

  it('refuses a Bluum-bound request beyond BLUUM_MAX_CONCURRENCY at once with 503 BLUUM_BUSY, changing nothing', async () => {
    const busy = [await linkBanks(2), await linkBanks(2)];
    const other = await linkBanks(1);
    bluum.failNext({ delayMs: 700 }, 4);
    const deletes = busy.flatMap(({ userId, ids }) => ids.map((id) => api.as(userId).disconnect(id)));
    await bluum.received(4);
    const refused = await timed(() => api.as(other.userId).disconnect(other.ids[0]));
    expect(refused.value.status).toBe(503);
    expect(refused.value.error.code).toBe('BLUUM_BUSY');
    expect(refused.value.headers.get('retry-after')).toBe('1');
    expect(refused.ms).toBeLessThan(500);
    await Promise.all(deletes);
    const stored = await app.prisma.bankAccount.findUniqueOrThrow({ where: { id: other.ids[0] } });
    expect(stored.status).toBe('active');
    // Nothing was held: the same DELETE now goes through.
    expect((await api.as(other.userId).disconnect(other.ids[0])).status).toBe(200);
  });

  it("refuses one user's third call in flight with 429 RATE_LIMITED, without calling Bluum, and leaves others room", async () => {
    const greedy = await linkBanks(3);
    const other = await linkBanks(1);
    bluum.failNext({ delayMs: 700 }, 3);
    const deletes = greedy.ids.slice(0, 2).map((id) => api.as(greedy.userId).disconnect(id));
    await bluum.received(2);
    const refused = await timed(() => api.as(greedy.userId).disconnect(greedy.ids[2]));
    expect(refused.value.status).toBe(429);
    expect(refused.value.error.code).toBe('RATE_LIMITED');
    expect(refused.value.headers.get('retry-after')).toBe('1');
    expect(refused.ms).toBeLessThan(500);
    expect(deletesSeenByBluum()).toBe(2);
    // Another user is not held back by the first one's calls.
    expect((await api.as(other.userId).disconnect(other.ids[0])).status).toBe(200);
    expect((await Promise.all(deletes)).map((r) => r.status)).toEqual([200, 200]);
    const stored = await app.prisma.bankAccount.findUniqueOrThrow({ where: { id: greedy.ids[2] } });
    expect(stored.status).toBe('active');
    expect((await api.as(greedy.userId).disconnect(greedy.ids[2])).status).toBe(200);
  });

  it('calls Bluum once for concurrent disconnects of one bank, and every caller gets the finished result', async () => {
    const { userId, bluumAccountId, ids } = await linkBanks(1);
    bluum.failNext({ delayMs: 700 });
    const answers = await Promise.all([1, 2, 3].map(() => api.as(userId).disconnect(ids[0])));
    expect(answers.map((r) => [r.status, r.body.status])).toEqual([
      [200, 'disconnected'],
      [200, 'disconnected'],
      [200, 'disconnected'],
    ]);
    expect(deletesSeenByBluum()).toBe(1);
    expect(bluum.items.get(bluumAccountId)?.[0]?.status).toBe('DISCONNECTED');
    const item = await app.prisma.plaidItem.findFirstOrThrow({ where: { userId } });
    expect(item).toMatchObject({
      status: 'disconnected',
      disconnectLeaseId: null,
      disconnectLeaseUntil: null,
    });
    // One audit event, not three.
    expect(await app.prisma.fundingSourceEvent.count({ where: { userId, type: 'disconnected' } })).toBe(1);
  });

  it('records the outcome of a timed-out DELETE that Bluum performed when the DELETE is repeated', async () => {
    const { userId, bluumAccountId, ids } = await linkBanks(1);
    // Bluum disconnects the item, but its reply comes after our time limit.
    bluum.failNext({ delayMs: 1_300 });
    const late = await api.as(userId).disconnect(ids[0]);
    expect(late.status).toBe(504);
    expect(late.error.message).toContain('Repeating the DELETE is safe');
    await waitUntil(() => bluum.items.get(bluumAccountId)?.[0]?.status === 'DISCONNECTED', 2_000);
    const repeated = await api.as(userId).disconnect(ids[0]);
    expect(repeated.status).toBe(200);
    expect(repeated.body.status).toBe('disconnected');
  });

  it('settles a disconnect whose process died mid-call: the next DELETE takes the expired lease over', async () => {
    const { userId, ids } = await linkBanks(1);
    const item = await app.prisma.plaidItem.findFirstOrThrow({ where: { userId } });
    const abandoned = { disconnectLeaseId: '00000000-0000-4000-8000-000000000001' };
    await app.prisma.plaidItem.update({
      where: { id: item.id },
      data: { ...abandoned, disconnectLeaseUntil: new Date(Date.now() + 60_000) },
    });
    // While the lease is live, another disconnect waits (here: past its own budget is too long to test,
    // so the lease is then expired as a dead process's would be).
    const waiting = api.as(userId).disconnect(ids[0]);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(deletesSeenByBluum()).toBe(0);
    await app.prisma.plaidItem.update({
      where: { id: item.id },
      data: { disconnectLeaseUntil: new Date(Date.now() - 1) },
    });
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('disconnected');
    expect(deletesSeenByBluum()).toBe(1);
  });

  it("settles an expired lease from Bluum's own status on sync", async () => {
    const { userId, bluumAccountId, ids } = await linkBanks(1);
    const item = await app.prisma.plaidItem.findFirstOrThrow({ where: { userId } });
    await app.prisma.plaidItem.update({
      where: { id: item.id },
      data: {
        disconnectLeaseId: '00000000-0000-4000-8000-000000000002',
        disconnectLeaseUntil: new Date(Date.now() - 1),
      },
    });
    // The dead process's DELETE did reach Bluum.
    const stored = bluum.items.get(bluumAccountId)?.[0];
    if (!stored) throw new Error('the fake has no item');
    stored.status = 'DISCONNECTED';
    const sync = await api.as(userId).sync();
    expect(sync.status).toBe(200);
    expect(sync.body.data.find((s) => s.id === ids[0])?.status).toBe('disconnected');
    expect(await app.prisma.plaidItem.findUniqueOrThrow({ where: { id: item.id } })).toMatchObject({
      status: 'disconnected',
      disconnectLeaseId: null,
      disconnectLeaseUntil: null,
    });
  });
});

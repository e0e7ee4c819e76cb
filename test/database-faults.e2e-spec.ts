// A sick database: PostgreSQL behind a fault-injecting TCP proxy that resets (refuses and cuts every
// connection) or freezes (sockets open, nothing passes: a partition, a firewall that lost the
// connection). Every request is answered 503 DATABASE_UNAVAILABLE with Retry-After within seconds, never
// 500 and never a hang; readiness is 503 within a second; the service serves again by itself within two
// seconds of the database coming back. PostgreSQL only: the embedded database has no network to break.
import { Client } from 'pg';
import { startFaultProxy, type FaultProxy } from '../bench/lib/fault-proxy';
import { closeAppWithFakeBluum, type FakeBluum, startAppWithFakeBluum } from './support/fake-bluum';
import { type Api, testApi } from './support/api';
import { ReconciliationService } from '../src/reconciliation/reconciliation.service';
import { makeSweepDue, sweepNow, withSweepsLocked } from './support/sweep';
import { registerUser, type TestApp, type TestResponse, uniqueUserId } from './support/test-app';
import { TEST_WEBHOOK_SECRET, WebhookReceiver } from './support/webhook-receiver';
import { waitUntil } from './support/wait-until';

const databaseUrl = process.env.TEST_DATABASE_URL as string;

describe('database faults (PostgreSQL behind a fault-injecting proxy)', () => {
  let proxy: FaultProxy;
  let bluum: FakeBluum;
  let app: TestApp;
  let api: Api;
  let userId: string;

  beforeAll(async () => {
    const upstream = new URL(databaseUrl);
    proxy = await startFaultProxy({
      upstreamHost: upstream.hostname,
      upstreamPort: Number(upstream.port || 5432),
    });
    ({ app, bluum } = await startAppWithFakeBluum({
      DATABASE_URL: proxy.url(databaseUrl),
      DATABASE_STATEMENT_TIMEOUT_MS: '1000',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    }));
    api = testApi(app);
    ({ userId } = await registerUser(app));
    await api.as(userId).linkBank();
  });
  afterEach(() => proxy.heal());
  afterAll(async () => {
    proxy.heal();
    await closeAppWithFakeBluum({ app, bluum });
    await proxy.close();
  });

  const read = () => api.as(userId).list();
  const timed = async (work: () => Promise<TestResponse>): Promise<TestResponse & { ms: number }> => {
    const started = Date.now();
    const res = await work();
    return { ...res, ms: Date.now() - started };
  };
  const expectUnavailable = (res: TestResponse & { ms: number }, withinMs: number): void => {
    expect({ status: res.status, code: res.body?.code }).toEqual({
      status: 503,
      code: 'DATABASE_UNAVAILABLE',
    });
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.ms).toBeLessThan(withinMs);
  };
  /** Polls `work` until it answers 200; returns how long that took after the call. */
  const recovery = async (work: () => Promise<TestResponse>, limitMs = 5_000): Promise<number> => {
    const started = Date.now();
    while (Date.now() - started < limitMs) {
      if ((await work()).status === 200) return Date.now() - started;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return Number.POSITIVE_INFINITY;
  };
  const writes = () => [
    api.as(userId).connect(),
    api.as(userId).sync(),
    api.as(userId).linkToken({}, { headers: { 'idempotency-key': `fault-${Date.now()}` } }),
  ];

  it('answers 503 at once while PostgreSQL refuses and resets connections, and serves again within 2 s', async () => {
    expect((await read()).status).toBe(200);
    proxy.reset();
    for (let i = 0; i < 3; i++) expectUnavailable(await timed(read), 3_000);
    for (const res of await Promise.all(writes())) {
      expect({ status: res.status, code: res.error?.code }).toEqual({
        status: 503,
        code: 'DATABASE_UNAVAILABLE',
      });
    }
    const ready = await timed(() => app.request('GET', '/health/ready'));
    expect(ready.status).toBe(503);
    // Its own limit is 0.8 s: the bound says it answers rather than hangs, with room for a busy machine.
    expect(ready.ms).toBeLessThan(2_000);
    proxy.heal();
    expect(await recovery(read)).toBeLessThan(2_000);
    // Readiness answers from a check at most a second old (HealthController's READY_CACHE_MS).
    expect(await recovery(() => app.request('GET', '/health/ready'))).toBeLessThan(2_000);
  });

  it('answers 503 within seconds, never hangs, while the link to PostgreSQL is frozen', async () => {
    expect((await read()).status).toBe(200);
    proxy.freeze();
    // Readiness answers from a check at most a second old (READY_CACHE_MS): the first check after the
    // freeze starts within a second, and its own limit is 0.8 s.
    const readyAfterFreeze = timed(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return app.request('GET', '/health/ready');
    });
    const [reads, ready, writeAnswers] = await Promise.all([
      Promise.all([1, 2, 3, 4].map(() => timed(read))),
      readyAfterFreeze,
      Promise.all(writes().map((w) => timed(() => w))),
    ]);
    for (const res of reads) expectUnavailable(res, 4_000);
    expect(ready.status).toBe(503);
    // The bound says it answers rather than hangs, with room for a busy machine.
    expect(ready.ms).toBeLessThan(3_000);
    for (const res of writeAnswers) {
      expect({ status: res.status, code: res.body?.code }).toEqual({
        status: 503,
        code: 'DATABASE_UNAVAILABLE',
      });
      expect(res.ms).toBeLessThan(8_000);
    }
    proxy.heal();
    expect(await recovery(read)).toBeLessThan(2_000);
    expect(await recovery(() => app.request('GET', '/health/ready'))).toBeLessThan(2_000);
  });

  it('does not keep connections stuck when frozen ones come back late (bytes held back, then delivered)', async () => {
    proxy.freeze();
    const during = await Promise.all([1, 2, 3].map(() => timed(read)));
    for (const res of during) expectUnavailable(res, 4_000);
    proxy.heal({ resume: true });
    expect(await recovery(read)).toBeLessThan(2_000);
    // And keeps serving: no pooled connection is left waiting on an answer that was given up on.
    for (let i = 0; i < 20; i++) expect((await read()).status).toBe(200);
    const sync = await api.as(userId).sync();
    expect(sync.status).toBe(200);
  });

  it('gives back every connection of a transaction cut mid-way, however often, and writes recover', async () => {
    const small = await startAppWithFakeBluum({
      DATABASE_URL: proxy.url(databaseUrl),
      DATABASE_POOL_SIZE: '2',
      DATABASE_STATEMENT_TIMEOUT_MS: '1000',
      DATABASE_CONNECT_TIMEOUT_MS: '1000',
    });
    const locker = new Client({ connectionString: databaseUrl });
    await locker.connect();
    try {
      const { userId: lockedUser } = await registerUser(small.app);
      const sync = () => testApi(small.app).as(lockedUser).sync();
      // Another session holds the user's row: sync's transaction waits on it, mid-way, when the link freezes.
      await locker.query('BEGIN');
      await locker.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [lockedUser]);
      for (let round = 0; round < 3; round++) {
        const pending = timed(sync);
        await new Promise((resolve) => setTimeout(resolve, 300));
        proxy.freeze();
        const res = await pending;
        expect({ status: res.status, code: res.body?.code }).toEqual({
          status: 503,
          code: 'DATABASE_UNAVAILABLE',
        });
        expect(res.ms).toBeLessThan(4_000);
        proxy.heal();
      }
      await locker.query('ROLLBACK');
      // Three transactions were cut on a pool of two: had any kept its connection, none would be left.
      expect(await recovery(sync)).toBeLessThan(2_000);
      expect((await sync()).status).toBe(200);
    } finally {
      await locker.end();
      await closeAppWithFakeBluum(small);
    }
  });

  it("answers 503, not 500, when a lock is held past PostgreSQL's lock_timeout (the database is up but busy)", async () => {
    const locker = new Client({ connectionString: databaseUrl });
    await locker.connect();
    try {
      const { userId: lockedUser } = await registerUser(app);
      await locker.query('BEGIN');
      await locker.query('SELECT id FROM users WHERE id = $1 FOR UPDATE', [lockedUser]);
      const res = await timed(() => api.as(lockedUser).sync());
      expectUnavailable(res, 4_000);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });
});

// The background work on a sick database: the webhook dispatcher pauses (one warning, no crash, no lost
// event) while PostgreSQL refuses or stops answering and delivers what is pending once it is back; a
// reconciliation sweep that meets the outage ends instead of hanging, and the next one does its work.
describe('background work while the database is down or frozen', () => {
  let proxy: FaultProxy;
  let bluum: FakeBluum;
  let app: TestApp;
  let api: Api;
  let receiver: WebhookReceiver;
  const lines: string[] = [];

  beforeAll(async () => {
    const upstream = new URL(databaseUrl);
    proxy = await startFaultProxy({
      upstreamHost: upstream.hostname,
      upstreamPort: Number(upstream.port || 5432),
    });
    receiver = await WebhookReceiver.start();
    ({ app, bluum } = await startAppWithFakeBluum(
      {
        DATABASE_URL: proxy.url(databaseUrl),
        DATABASE_STATEMENT_TIMEOUT_MS: '1000',
        DATABASE_CONNECT_TIMEOUT_MS: '1000',
        WEBHOOK_URLS: receiver.url,
        WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
        // The retry after the receiver's 503 falls due inside the outage below.
        WEBHOOK_RETRY_BASE_MS: '200',
        // On, for the sweeps the last test runs itself.
        RECONCILE_INTERVAL_SECONDS: '3600',
        // The dispatcher's one warning of an outage tells the spec it has met the sick database.
        LOG_LEVEL: 'warn',
      },
      { logDestination: { write: (line: string) => void lines.push(line) } },
    ));
    api = testApi(app);
  });
  afterAll(async () => {
    proxy.heal();
    await closeAppWithFakeBluum({ app, bluum });
    await receiver.close();
    await proxy.close();
  });

  it.each(['reset', 'freeze'] as const)(
    'keeps a pending event through a database %s and delivers it once the database is back',
    async (fault) => {
      const { userId } = await registerUser(app);
      // The receiver is down too when the database goes: the event stays pending in the outbox.
      receiver.answerNext(503);
      const [source] = (await api.as(userId).linkBank()).fundingSources;
      let retryDueAt = Number.POSITIVE_INFINITY;
      await waitUntil(async () => {
        const [delivery] = await app.prisma.webhookDelivery.findMany({
          where: { fundingSourceId: source.id },
        });
        if (delivery?.lastResponseStatus !== 503 || delivery.nextAttemptAt === null) return false;
        retryDueAt = delivery.nextAttemptAt.getTime();
        return true;
      });
      const before = lines.length;
      proxy[fault]();
      // Until the dispatcher has met the sick database (its one warning of the outage) and the retry has
      // fallen due meanwhile: no fixed wait, only as long as the database's 1 s limits take.
      await waitUntil(
        () =>
          Date.now() > retryDueAt &&
          lines.slice(before).some((line) => line.includes('webhook deliveries paused')),
        8_000,
      );
      expect(receiver.accepted(source.id)).toEqual([]);
      proxy.heal();

      await receiver.waitFor(() => receiver.accepted(source.id).length === 1, 15_000);
      expect(receiver.accepted(source.id)[0].payload?.type).toBe('funding_source.linked');
      // Recorded as delivered (a moment after the receiver answered), once.
      const delivered = () =>
        app.prisma.webhookDelivery.count({ where: { fundingSourceId: source.id, status: 'delivered' } });
      await waitUntil(async () => (await delivered()) === 1);
      expect(await app.prisma.webhookDelivery.count({ where: { fundingSourceId: source.id } })).toBe(1);
    },
  );

  it.each(['reset', 'freeze'] as const)(
    'ends a reconciliation sweep that meets a database %s while it waits on Bluum, and sweeps again after',
    async (fault) => {
      const prefix = `swept${fault}`;
      const { userId, bluumAccountId } = await registerUser(app, uniqueUserId(prefix));
      await api.as(userId).linkBank();
      bluum.items.get(bluumAccountId)![0].status = 'ERROR';
      const ended = await withSweepsLocked(async () => {
        await makeSweepDue(app, prefix);
        // Bluum answers late: the database goes while the sweep waits on it (holding no connection).
        bluum.failNext({ delayMs: 1_000, forAccount: bluumAccountId });
        const sweeping = app.app.get(ReconciliationService).runIfDue();
        await waitUntil(() =>
          bluum.requests.some(
            (r) => r.path.startsWith(`/v1/accounts/${bluumAccountId}/`) && r.method === 'GET',
          ),
        );
        proxy[fault]();
        const started = Date.now();
        const outcome = await sweeping.catch((err: unknown) => err);
        expect(Date.now() - started).toBeLessThan(8_000);
        proxy.heal();
        return outcome;
      });
      // Ended by the outage, within seconds: never a hang, never an unhandled failure.
      expect(ended).toMatchObject({ outcome: 'database_unavailable', changed: 0 });

      await waitUntil(async () => (await api.as(userId).list()).status === 200);
      expect((await api.as(userId).list()).body.data[0].status).toBe('active');
      expect(await sweepNow(app, prefix)).toMatchObject({
        outcome: 'complete',
        changed: 1,
      });
      expect((await api.as(userId).list()).body.data[0].status).toBe('error');
    },
  );
});

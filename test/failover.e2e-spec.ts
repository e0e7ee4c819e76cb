// A database that fails over: for a while it refuses every write (SQLSTATE 25006, as a demoted primary
// does), and connections opened meanwhile stay read-only after it is writable again. Writes answer 503
// DATABASE_UNAVAILABLE with Retry-After (never 500), reads keep working, readiness is 503 while this
// instance cannot write, and the instance heals by itself: the read-only connections are discarded.
// The app connects as a role of its own, made read-only the way a demoted node behaves (its sessions
// ended, new ones read-only), so specs running beside this one on the same database are not touched.
// PostgreSQL only: the embedded database has no sessions to end.
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { type Api, testApi } from './support/api';
import {
  registerUser,
  startTestApp,
  type TestApp,
  type TestResponse,
  uniqueUserId,
} from './support/test-app';
import { waitUntil } from './support/wait-until';

const databaseUrl = process.env.TEST_DATABASE_URL as string;

describe('database failover (read-only, then writable again)', () => {
  const role = `bluum_failover_${randomBytes(4).toString('hex')}`;
  let admin: Client;
  let app: TestApp;
  let api: Api;
  let userId: string;
  let bluumAccountId: string;

  const endSessions = () =>
    admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = $1', [role]);
  const readOnly = async (on: boolean) => {
    await admin.query(
      on
        ? `ALTER ROLE ${role} SET default_transaction_read_only = on`
        : `ALTER ROLE ${role} RESET default_transaction_read_only`,
    );
  };

  beforeAll(async () => {
    admin = new Client({ connectionString: databaseUrl });
    await admin.connect();
    // A superuser is still bound by a read-only transaction: only the role's default changes below.
    await admin.query(`CREATE ROLE ${role} LOGIN SUPERUSER`);
    const url = new URL(databaseUrl);
    url.username = role;
    app = await startTestApp({ DATABASE_URL: url.toString(), DATABASE_POOL_SIZE: '3' });
    api = testApi(app);
    ({ userId, bluumAccountId } = await registerUser(app));
    await api.as(userId).linkBank();
  });
  afterAll(async () => {
    await app?.close();
    await endSessions();
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await admin.end();
  });

  const ready = () => app.request('GET', '/health/ready');
  const expectUnavailable = (res: TestResponse) => {
    expect({ status: res.status, code: res.body?.code }).toEqual({
      status: 503,
      code: 'DATABASE_UNAVAILABLE',
    });
    expect(res.headers.get('retry-after')).toBe('2');
  };

  it('answers writes 503 while the database is read-only, keeps reads, readiness 503, and heals by itself', async () => {
    await readOnly(true);
    await endSessions();

    // Every kind of write: registration, a link token (its rate-limit counter), a connect, a sync.
    const newcomer = uniqueUserId();
    const writes = [
      await api.admin().user(newcomer).putUser({ bluumAccountId: 'acct_during_failover' }),
      await api.as(userId).linkToken(),
      await api.as(userId).connect(),
      await api.as(userId).sync(),
    ];
    for (const res of writes) expectUnavailable(res);
    // Reads are served meanwhile.
    const list = await api.as(userId).list();
    expect(list.status).toBe(200);
    expect(list.body.data.length).toBeGreaterThan(0);
    // Readiness says this instance cannot write (within a second), liveness does not.
    await waitUntil(async () => (await ready()).status === 503, 3_000);
    expect((await ready()).body).toMatchObject({ status: 'error' });
    expect((await app.request('GET', '/health/live')).status).toBe(200);

    // Writable again, without ending any session: the connections opened meanwhile are still read-only,
    // and the service must drop them on its own.
    await readOnly(false);
    await waitUntil(async () => (await ready()).status === 200, 5_000);
    const statuses: number[] = [];
    await waitUntil(async () => {
      const res = await api.admin().user(newcomer).putUser({ bluumAccountId: 'acct_after_failover' });
      statuses.push(res.status);
      if (res.status === 503) expectUnavailable(res);
      return res.status === 201;
    }, 5_000);
    // Never a 500; then every write works again.
    expect(statuses.every((status) => status === 201 || status === 503)).toBe(true);
    expect((await api.as(userId).linkToken()).status).toBe(201);
    expect((await api.as(userId).connect()).status).toBe(201);
    expect((await api.as(userId).sync()).status).toBe(200);
    const user = await app.prisma.user.findUniqueOrThrow({ where: { id: userId } });
    expect(user.bluumAccountId).toBe(bluumAccountId);
  });

  it('runs a transaction that PostgreSQL ends with a deadlock again, so both callers succeed', async () => {
    const [a, b] = [await registerUser(app), await registerUser(app)];
    let attempts = 0;
    // Each transaction locks one user, waits until the other has locked the other user, then asks for
    // it: PostgreSQL detects the deadlock (deadlock_timeout, 1 s) and ends one of them with 40P01.
    const locked: Record<string, () => void> = {};
    const bothLocked = Promise.all(
      ['a', 'b'].map((name) => new Promise<void>((resolve) => (locked[name] = resolve))),
    );
    const crossing = (name: string, first: string, second: string) =>
      app.prisma.transaction(async (tx) => {
        attempts++;
        await tx.$queryRaw`SELECT id FROM users WHERE id = ${first} FOR UPDATE`;
        locked[name]();
        await bothLocked;
        await tx.$queryRaw`SELECT id FROM users WHERE id = ${second} FOR UPDATE`;
        await tx.user.update({ where: { id: second }, data: { updatedAt: new Date() } });
        return name;
      });
    await expect(
      Promise.all([crossing('a', a.userId, b.userId), crossing('b', b.userId, a.userId)]),
    ).resolves.toEqual(['a', 'b']);
    // Two first attempts and one retry of the transaction PostgreSQL chose to end.
    expect(attempts).toBe(3);
  });
});

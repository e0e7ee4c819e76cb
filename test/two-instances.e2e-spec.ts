// Scaling out is more stateless instances on one database: two instances here share one PostgreSQL
// (TEST_DATABASE_URL) or one embedded database, and behave as one for double submits, idempotency keys
// and rate limits.
import { PGlite } from '@electric-sql/pglite';
import { FakeBluum } from './support/fake-bluum';
import { type Api, testApi } from './support/api';
import {
  registerUser,
  sandboxPublicToken,
  startTestApp,
  type TestApp,
  withinOneRateWindow,
} from './support/test-app';

describe('two instances on one database', () => {
  let bluum: FakeBluum;
  let shared: PGlite | undefined;
  let a: TestApp;
  let b: TestApp;
  let apiA: Api;
  let apiB: Api;

  beforeAll(async () => {
    bluum = await FakeBluum.start();
    shared = process.env.TEST_DATABASE_URL ? undefined : new PGlite('memory://');
    const env = { BLUUM_BASE_URL: bluum.url, BLUUM_TIMEOUT_MS: '5000', WRITE_RATE_LIMIT_PER_MINUTE: '4' };
    a = await startTestApp(env, { sharedEmbeddedDatabase: shared });
    b = await startTestApp(env, { sharedEmbeddedDatabase: shared });
    [apiA, apiB] = [testApi(a), testApi(b)];
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await shared?.close();
    await bluum.close();
  });
  beforeEach(() => bluum.reset());

  const connectCalls = (): number => bluum.calls('connect').length;

  it('one public token sent to both at once: one Bluum call, one item', async () => {
    const { userId } = await registerUser(a);
    const publicToken = sandboxPublicToken();
    bluum.failNext({ delayMs: 500 });
    // Four, two on each instance: within the rate limit this suite sets for its last test.
    const answers = await Promise.all(
      [apiA, apiB, apiA, apiB].map((api) => api.as(userId).connect({ publicToken })),
    );

    expect(connectCalls()).toBe(1);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 200, 200, 201]);
    for (const answer of answers) expect(answer.body).toEqual(answers[0].body);
    expect(await a.prisma.plaidItem.count({ where: { userId } })).toBe(1);
    const listed = await apiB.as(userId).list();
    expect(listed.body.data).toHaveLength(1);
  });

  it('an Idempotency-Key is in flight on one instance for the other, and replayed by it afterwards', async () => {
    const { userId } = await registerUser(a);
    const publicToken = sandboxPublicToken();
    bluum.failNext({ delayMs: 1_000 });
    const first = apiA.as(userId).connect({ publicToken, idempotencyKey: 'two-instances-key' });
    await bluum.received(1);
    const during = await apiB.as(userId).connect({ publicToken, idempotencyKey: 'two-instances-key' });
    expect(during.status).toBe(409);
    expect(during.error.code).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');

    const done = await first;
    expect(done.status).toBe(201);
    const after = await apiB.as(userId).connect({ publicToken, idempotencyKey: 'two-instances-key' });
    expect(after.status).toBe(201);
    expect(after.headers.get('idempotent-replayed')).toBe('true');
    expect(after.body).toEqual(done.body);
    expect(connectCalls()).toBe(1);
  });

  it('counts one rate limit across both', async () => {
    const statuses = await withinOneRateWindow(a, async () => {
      const { userId } = await registerUser(a);
      const answers = [];
      for (const api of [apiA, apiB, apiA, apiB, apiA])
        answers.push((await api.as(userId).linkToken()).status);
      return answers;
    });
    expect(statuses).toEqual([201, 201, 201, 201, 429]);
  });
});

// Per-user write rate limits and per-caller request budgets, counted in PostgreSQL: 429 with
// Retry-After past the limit; other callers unaffected. That callers refused by the guard spend nothing is the controller's spec.
import { PGlite } from '@electric-sql/pglite';
import { type Api, testApi } from './support/api';
import { registerUser, startTestApp, type TestApp, withinOneRateWindow } from './support/test-app';
import { depositServiceToken, tokenFor } from './support/tokens';

const LIMIT = 3;

describe('write rate limits', () => {
  let app: TestApp;
  let api: Api;

  beforeAll(async () => {
    app = await startTestApp({ WRITE_RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    api = testApi(app);
  });
  afterAll(() => app.close());

  it('answers 429 RATE_LIMITED with Retry-After past the limit, across link-token, connect and sync', async () => {
    const { answers, byAdmin } = await withinOneRateWindow(app, async () => {
      const { userId } = await registerUser(app);
      const user = api.as(userId);
      return {
        answers: [await user.linkToken(), await user.connect(), await user.sync(), await user.linkToken()],
        // An admin acting for the user spends the same budget.
        byAdmin: await api.admin().user(userId).linkToken(),
      };
    });
    expect(answers.map((a) => a.status)).toEqual([201, 201, 200, 429]);
    const limited = answers[3];
    expect(limited.error).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(byAdmin.status).toBe(429);
  });

  it('does not limit reads, nor other users', async () => {
    const { userId, limited } = await withinOneRateWindow(app, async () => {
      const { userId } = await registerUser(app);
      for (let i = 0; i < LIMIT + 1; i++) await api.as(userId).linkToken();
      return { userId, limited: (await api.as(userId).linkToken()).status };
    });
    expect(limited).toBe(429);

    for (let i = 0; i < 10; i++) {
      const read = await api.withToken(depositServiceToken()).user(userId).list();
      expect(read.status).toBe(200);
    }
    const other = await registerUser(app);
    expect((await api.as(other.userId).linkToken()).status).toBe(201);
  });
});

// Every caller's requests, counted per minute across instances: each instance adds its count to
// PostgreSQL's at most once a second, so the other learns of it without a round trip per request.
describe('request budgets per caller, across two instances', () => {
  const BUDGET = 6;
  let a: TestApp;
  let b: TestApp;
  let shared: PGlite | undefined;

  beforeAll(async () => {
    shared = process.env.TEST_DATABASE_URL ? undefined : new PGlite('memory://');
    const env = { REQUEST_RATE_LIMIT_PER_MINUTE: String(BUDGET) };
    a = await startTestApp(env, { sharedEmbeddedDatabase: shared });
    b = await startTestApp(env, { sharedEmbeddedDatabase: shared });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await shared?.close();
  });

  const read = (app: TestApp, userId: string, token = tokenFor(userId)) =>
    app.request('GET', `/v1/users/${userId}/funding-sources`, { token });
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('refuses a caller past its budget on an instance that saw only a few of its requests, and no one else', async () => {
    const { userId } = await registerUser(a);
    const { first, onB, service, other } = await withinOneRateWindow(a, async () => {
      const first: number[] = [];
      for (let i = 0; i < 4; i++) first.push((await read(a, userId)).status);
      await pause(1_100);
      // Its fifth, on A: A adds the four it had not shared yet.
      first.push((await read(a, userId)).status);
      await pause(200);
      // B has seen none: its first learns of the five; those after are the seventh and on.
      const onB: number[] = [];
      for (let i = 0; i < 4; i++) {
        onB.push((await read(b, userId)).status);
        await pause(100);
      }
      // A deposit service and another user read on as before.
      const service = (await read(b, userId, depositServiceToken())).status;
      const other = await registerUser(b);
      return { first, onB, service, other: (await read(b, other.userId)).status };
    });
    expect(first).toEqual([200, 200, 200, 200, 200]);
    expect(onB[0]).toBe(200);
    // Alone, B would have let all four through (it counted four of a budget of six).
    expect(onB.slice(1)).toContain(429);
    expect({ service, other }).toEqual({ service: 200, other: 200 });
  });

  it('answers 429 RATE_LIMITED with Retry-After, and counts no request the guard refused for its token', async () => {
    const { userId } = await registerUser(a);
    const { statuses, limited, stranger } = await withinOneRateWindow(a, async () => {
      // A stranger's 401s spend nobody's budget.
      for (let i = 0; i < BUDGET + 2; i++)
        await a.request('GET', `/v1/users/${userId}/funding-sources`, { token: 'x.y.z' });
      const statuses: number[] = [];
      for (let i = 0; i < BUDGET; i++) statuses.push((await read(a, userId)).status);
      const limited = await read(a, userId);
      return {
        statuses,
        limited,
        stranger: (await a.request('GET', `/v1/users/${userId}/funding-sources`)).status,
      };
    });
    expect(statuses).toEqual(Array(BUDGET).fill(200));
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(stranger).toBe(401);
  });
});

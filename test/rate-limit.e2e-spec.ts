// Per-user write rate limits, counted in PostgreSQL: 429 with Retry-After past the limit; reads and
// other users unaffected.
import { type Api, testApi } from './support/api';
import { awayFromRateWindowEdge, registerUser, startTestApp, type TestApp } from './support/test-app';
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
    const { userId } = await registerUser(app);
    await awayFromRateWindowEdge();
    const user = api.as(userId);
    const answers = [await user.linkToken(), await user.connect(), await user.sync(), await user.linkToken()];
    expect(answers.map((a) => a.status)).toEqual([201, 201, 200, 429]);
    const limited = answers[3];
    expect(limited.error).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // An admin acting for the user spends the same budget.
    expect((await api.admin().user(userId).linkToken()).status).toBe(429);
  });

  it('does not limit reads, nor other users', async () => {
    const { userId } = await registerUser(app);
    const other = await registerUser(app);
    await awayFromRateWindowEdge();
    for (let i = 0; i < LIMIT + 1; i++) await api.as(userId).linkToken();
    expect((await api.as(userId).linkToken()).status).toBe(429);

    for (let i = 0; i < 10; i++) {
      const read = await api.withToken(depositServiceToken()).user(userId).list();
      expect(read.status).toBe(200);
    }
    expect((await api.as(other.userId).linkToken()).status).toBe(201);
  });

  it('does not count requests that fail authentication or authorization', async () => {
    const { userId } = await registerUser(app);
    await awayFromRateWindowEdge();
    for (let i = 0; i < LIMIT + 2; i++) {
      expect((await api.withToken(tokenFor('intruder')).user(userId).linkToken()).status).toBe(403);
    }
    expect((await api.as(userId).linkToken()).status).toBe(201);
  });
});

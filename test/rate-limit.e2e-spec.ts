// Per-user write rate limits, counted in PostgreSQL: 429 with Retry-After past the limit; reads and
// other users unaffected. That callers refused by the guard spend nothing is the controller's spec.
import { type Api, testApi } from './support/api';
import { registerUser, startTestApp, type TestApp, withinOneRateWindow } from './support/test-app';
import { depositServiceToken } from './support/tokens';

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

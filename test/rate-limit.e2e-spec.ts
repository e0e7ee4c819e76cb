// Per-user write rate limits, counted in PostgreSQL: 429 with Retry-After past the limit; reads and
// other users unaffected.
import { registerUser, sandboxPublicToken, startTestApp, type TestApp } from './support/test-app';
import { adminToken, tokenFor } from './support/tokens';

const LIMIT = 3;

// Counters use one-minute windows; a burst that straddles a window edge would be split in two.
async function awayFromWindowEdge(): Promise<void> {
  const second = new Date().getSeconds();
  if (second >= 55) await new Promise((resolve) => setTimeout(resolve, (61 - second) * 1000));
}

describe('write rate limits', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp({ WRITE_RATE_LIMIT_PER_MINUTE: String(LIMIT) });
  });
  afterAll(() => app.close());

  const linkToken = (userId: string, token = tokenFor(userId)) =>
    app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, { token, body: {} });

  it('answers 429 RATE_LIMITED with Retry-After past the limit, across link-token, connect and sync', async () => {
    const { userId } = await registerUser(app);
    await awayFromWindowEdge();
    const answers = [
      await linkToken(userId),
      await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
        token: tokenFor(userId),
        body: { publicToken: sandboxPublicToken() },
      }),
      await app.request('POST', `/v1/users/${userId}/funding-sources/sync`, { token: tokenFor(userId) }),
      await linkToken(userId),
    ];
    expect(answers.map((a) => a.status)).toEqual([201, 201, 200, 429]);
    const limited = answers[3];
    expect(limited.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // An admin acting for the user spends the same budget.
    expect((await linkToken(userId, adminToken())).status).toBe(429);
  });

  it('does not limit reads, nor other users', async () => {
    const { userId } = await registerUser(app);
    const other = await registerUser(app);
    await awayFromWindowEdge();
    for (let i = 0; i < LIMIT + 1; i++) await linkToken(userId);
    expect((await linkToken(userId)).status).toBe(429);

    for (let i = 0; i < 10; i++) {
      const read = await app.request('GET', `/v1/users/${userId}/funding-sources`, {
        token: tokenFor('svc-deposits', { scope: 'funding-sources:read' }),
      });
      expect(read.status).toBe(200);
    }
    expect((await linkToken(other.userId)).status).toBe(201);
  });

  it('does not count requests that fail authentication or authorization', async () => {
    const { userId } = await registerUser(app);
    await awayFromWindowEdge();
    for (let i = 0; i < LIMIT + 2; i++) {
      expect((await linkToken(userId, tokenFor('intruder'))).status).toBe(403);
    }
    expect((await linkToken(userId)).status).toBe(201);
  });
});

// Plaid Link's onSuccess can fire twice and frontends retry: one public token must call Bluum once and
// end as exactly one stored item, whether the repeats come one after another or all at once.
import { useAppWithFakeBluum } from './support/fake-bluum';
import { countStored, registerUser, sandboxPublicToken } from './support/test-app';

describe('the same public token sent more than once', () => {
  const suite = useAppWithFakeBluum({ BLUUM_TIMEOUT_MS: '3000' });

  const connectCalls = (): number => suite.bluum.calls('connect').length;

  it('one after the other: Bluum is called once, the second answer replays the first with 200', async () => {
    const { userId } = await registerUser(suite.app);
    const publicToken = sandboxPublicToken();
    const first = await suite.api.as(userId).connect({ publicToken });
    const second = await suite.api.as(userId).connect({ publicToken });
    expect([first.status, second.status]).toEqual([201, 200]);
    expect(second.body).toEqual(first.body);
    expect(connectCalls()).toBe(1);
    expect(await countStored(suite.app, userId)).toEqual({ items: 1, accounts: 1 });
  });

  it('six at the same time: one Bluum call, one item, every answer with the same ids', async () => {
    const { userId } = await registerUser(suite.app);
    const publicToken = sandboxPublicToken();
    // Bluum takes its time, so the six overlap.
    suite.bluum.failNext({ delayMs: 400 });
    const answers = await Promise.all(
      Array.from({ length: 6 }, () => suite.api.as(userId).connect({ publicToken })),
    );

    expect(connectCalls()).toBe(1);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 200, 201]);
    const ids = answers.map((a) => a.body.fundingSources.map((s) => s.id).join());
    expect(new Set(ids).size).toBe(1);
    expect(await countStored(suite.app, userId)).toEqual({ items: 1, accounts: 1 });
  });

  it('a failed exchange is forgotten: the same token reaches Bluum again on retry', async () => {
    const { userId } = await registerUser(suite.app);
    const publicToken = sandboxPublicToken();
    suite.bluum.failNext({ status: 503 });
    const failed = await suite.api.as(userId).connect({ publicToken });
    expect(failed.status).toBe(502);
    expect(await countStored(suite.app, userId)).toEqual({ items: 0, accounts: 0 });

    const retried = await suite.api.as(userId).connect({ publicToken });
    expect(retried.status).toBe(201);
    expect(connectCalls()).toBe(2);
    expect(await countStored(suite.app, userId)).toEqual({ items: 1, accounts: 1 });
  });

  it('keeps only a SHA-256 of the token, never the token', async () => {
    const { userId } = await registerUser(suite.app);
    const publicToken = sandboxPublicToken();
    expect((await suite.api.as(userId).connect({ publicToken })).status).toBe(201);
    const rows = await suite.app.prisma.publicTokenExchange.findMany({ where: { userId } });
    expect(rows).toHaveLength(1);
    expect(rows[0].tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toContain(publicToken);
  });
});

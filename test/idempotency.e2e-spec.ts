// Idempotency-Key on connect, with Stripe's semantics, against a fake Bluum over HTTP. Malformed keys,
// and the key given up on a retryable answer, are the interceptor's and the controller's specs.
import { useAppWithFakeBluum } from './support/fake-bluum';
import { registerUser, sandboxPublicToken } from './support/test-app';

describe('Idempotency-Key on connect', () => {
  const suite = useAppWithFakeBluum({ BLUUM_TIMEOUT_MS: '3000' });

  const connectCalls = (): number => suite.bluum.calls('connect').length;
  const storedItems = (userId: string): Promise<number> =>
    suite.app.prisma.plaidItem.count({ where: { userId } });

  it('replays the first response, status included, for the same key and body', async () => {
    const { userId } = await registerUser(suite.app);
    const publicToken = sandboxPublicToken();
    const first = await suite.api.as(userId).connect({ publicToken, idempotencyKey: 'key-replay-1' });
    const second = await suite.api.as(userId).connect({ publicToken, idempotencyKey: 'key-replay-1' });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(connectCalls()).toBe(1);
    expect(await storedItems(userId)).toBe(1);
  });

  it('refuses the same key with another body (422) without calling Bluum', async () => {
    const { userId } = await registerUser(suite.app);
    expect((await suite.api.as(userId).connect({ idempotencyKey: 'key-mismatch' })).status).toBe(201);
    const reused = await suite.api.as(userId).connect({ idempotencyKey: 'key-mismatch' });
    expect(reused.status).toBe(422);
    expect(reused.error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(connectCalls()).toBe(1);
    expect(await storedItems(userId)).toBe(1);
  });

  it('answers 409 while the first request with the key is still running', async () => {
    const { userId } = await registerUser(suite.app);
    const publicToken = sandboxPublicToken();
    suite.bluum.failNext({ delayMs: 1_000 });
    const first = suite.api.as(userId).connect({ publicToken, idempotencyKey: 'key-in-flight' });
    await suite.bluum.received(1);
    const second = await suite.api.as(userId).connect({ publicToken, idempotencyKey: 'key-in-flight' });
    expect(second.status).toBe(409);
    expect(second.error.code).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
    expect((await first).status).toBe(201);
    expect(connectCalls()).toBe(1);
  });

  it('keeps a final 4xx answer and replays it', async () => {
    const { userId } = await registerUser(suite.app);
    const publicToken = sandboxPublicToken();
    suite.bluum.failNext({
      status: 400,
      body: { status: 'error', code: 'BLUM-400-002', message: 'Invalid public token' },
    });
    const first = await suite.api.as(userId).connect({ publicToken, idempotencyKey: 'key-4xx' });
    const second = await suite.api.as(userId).connect({ publicToken, idempotencyKey: 'key-4xx' });
    expect([first.status, second.status]).toEqual([422, 422]);
    expect(second.body).toEqual(first.body);
    expect(connectCalls()).toBe(1);
  });

  it('forgets a key whose request failed with a 5xx, so a retry reaches Bluum', async () => {
    const { userId } = await registerUser(suite.app);
    const publicToken = sandboxPublicToken();
    suite.bluum.failNext({ status: 503 });
    expect((await suite.api.as(userId).connect({ publicToken, idempotencyKey: 'key-5xx' })).status).toBe(502);
    const retried = await suite.api.as(userId).connect({ publicToken, idempotencyKey: 'key-5xx' });
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
    expect(connectCalls()).toBe(2);
    expect(await storedItems(userId)).toBe(1);
  });

  it('scopes keys to the calling user', async () => {
    const a = await registerUser(suite.app);
    const b = await registerUser(suite.app);
    const first = await suite.api.as(a.userId).connect({ idempotencyKey: 'shared-key' });
    const second = await suite.api.as(b.userId).connect({ idempotencyKey: 'shared-key' });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.body.item.itemId).not.toBe(first.body.item.itemId);
    expect(connectCalls()).toBe(2);
  });
});

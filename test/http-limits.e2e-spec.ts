// The edges of HTTP are bounded, every path parameter and token claim is checked before anything is
// written with it, retryable answers do not freeze an Idempotency-Key, and operators get /metrics.
import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import { closeAppWithFakeBluum, type FakeBluum, startAppWithFakeBluum } from './support/fake-bluum';
import { registerUser, sandboxPublicToken, type TestApp } from './support/test-app';
import { adminToken, tokenFor } from './support/tokens';

describe('HTTP limits, claims, retryable answers and metrics', () => {
  let bluum: FakeBluum;
  let app: TestApp;

  beforeAll(async () => {
    ({ app, bluum } = await startAppWithFakeBluum({
      HTTP_REQUEST_TIMEOUT_MS: '1000',
      BLUUM_TIMEOUT_MS: '200',
    }));
  });
  afterAll(() => closeAppWithFakeBluum({ app, bluum }));
  beforeEach(() => bluum.reset());

  it('cuts off a request body that trickles in', async () => {
    const { port } = new URL(app.url);
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          [
            'POST /v1/users/u1/funding-sources/plaid/connect HTTP/1.1',
            'Host: 127.0.0.1',
            `Authorization: Bearer ${tokenFor('u1')}`,
            'Content-Type: application/json',
            'Content-Length: 60000',
            '',
            '{',
          ].join('\r\n'),
        );
      });
      let received = '';
      const drip = setInterval(() => socket.write(' '), 300);
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(drip);
        resolve(received.split('\r\n')[0] ?? '');
      });
      setTimeout(() => socket.destroy(), 10_000).unref();
    });
    // Node answers 408 (or just closes) once HTTP_REQUEST_TIMEOUT_MS (1 s here) has passed.
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(['HTTP/1.1 408 Request Timeout', '']).toContain(outcome);
  });

  it('refuses JSON nested 20,000 levels deep with 400, not a stack overflow', async () => {
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const res = await app.request('POST', '/v1/users/u1/funding-sources/plaid/connect', {
      token: tokenFor('u1'),
      rawBody: `{"publicToken":${deep}}`,
      headers: { 'content-type': 'application/json', 'idempotency-key': 'deep-1' },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('MALFORMED_JSON');
    expect(res.body.message).toContain('deeper than 32 levels');
  });

  it('answers 400 for a too-long path userId on a write route, before the rate limiter writes it', async () => {
    const userId = 'a'.repeat(161);
    const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, {
      token: adminToken(),
      body: {},
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.details).toEqual([{ field: 'userId', message: expect.stringContaining('1-128') }]);
    const counted = await app.prisma.rateLimitCounter.count({ where: { subject: `writes:${userId}` } });
    expect(counted).toBe(0);
  });

  it('answers 401 for a token whose sub is no user id (129 characters), before an Idempotency-Key is stored', async () => {
    const sub = 'b'.repeat(129);
    const res = await app.request('POST', `/v1/users/${sub}/funding-sources/plaid/connect`, {
      token: tokenFor(sub),
      body: { publicToken: sandboxPublicToken() },
      headers: { 'idempotency-key': 'long-sub-1' },
    });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
    expect(await app.prisma.idempotencyKey.count({ where: { key: 'long-sub-1' } })).toBe(0);
  });

  it('releases an Idempotency-Key answered 409 CONNECT_IN_PROGRESS, so a retry with it can succeed', async () => {
    const { userId } = await registerUser(app);
    const publicToken = sandboxPublicToken();
    // Another request holds the token's exchange (claimed a little ahead, so that it is still fresh when
    // this request's wait, as long as the claim's lifetime, runs out).
    await app.prisma.publicTokenExchange.create({
      data: {
        tokenHash: createHash('sha256').update(publicToken).digest('hex'),
        userId,
        claimedAt: new Date(Date.now() + 2_000),
      },
    });
    const send = () =>
      app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
        token: tokenFor(userId),
        body: { publicToken },
        headers: { 'idempotency-key': `in-progress-${userId}` },
      });
    const first = await send();
    expect(first.status).toBe(409);
    expect(first.body.code).toBe('CONNECT_IN_PROGRESS');
    await app.prisma.publicTokenExchange.deleteMany({ where: { userId } });
    const retry = await send();
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
  }, 20_000);

  it("takes Bluum's internal 200 reply to DELETE as done", async () => {
    const { userId } = await registerUser(app);
    const linked = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
      token: tokenFor(userId),
      body: { publicToken: sandboxPublicToken() },
    });
    bluum.failNext({
      status: 200,
      body: { status: 'success', message: 'Funding source disconnected successfully' },
    });
    const res = await app.request(
      'DELETE',
      `/v1/users/${userId}/funding-sources/${linked.body.fundingSources[0].id}`,
      {
        token: tokenFor(userId),
      },
    );
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('disconnected');
  });

  it("answers 422 PUBLIC_TOKEN_REJECTED for a refusal in Bluum's current error envelope", async () => {
    const { userId } = await registerUser(app);
    bluum.failNext({
      status: 400,
      body: {
        error: { type: 'invalid_request_error', code: 'BLUM-400-005', message: 'expired', param: null },
      },
    });
    const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
      token: tokenFor(userId),
      body: { publicToken: sandboxPublicToken() },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('PUBLIC_TOKEN_REJECTED');
  });

  it('serves Prometheus metrics by route template, Bluum operation and pool, with no ids or tokens', async () => {
    const { userId } = await registerUser(app);
    const token = tokenFor(userId);
    await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, { token, body: {} });
    await app.request('GET', `/v1/users/${userId}/funding-sources`, { token });
    const res = await app.request('GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.text).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/v1\/users\/:userId\/funding-sources",status="200"\} \d+/,
    );
    expect(res.text).toMatch(
      /bluum_call_duration_seconds_count\{operation="link_token",outcome="success"\} \d+/,
    );
    expect(res.text).toContain('bluum_bulkhead_rejections_total{limit="instance"} 0');
    expect(res.text).toContain('process_resident_memory_bytes');
    if (process.env.TEST_DATABASE_URL)
      expect(res.text).toMatch(/db_pool_connections\{pool="read",state="idle"\}/);
    expect(res.text).not.toContain(userId);
    expect(res.text).not.toContain(token);
    const docs = await app.request('GET', '/docs-json');
    expect(Object.keys(docs.body.paths)).not.toContain('/metrics');
  });
});

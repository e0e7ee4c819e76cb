// The edges of HTTP over a real socket: a body that trickles in is cut off; and operators get /metrics.
// What the request pipeline refuses (deep JSON, long ids and subs before anything is written with them)
// and how an Idempotency-Key meets a retryable answer are the funding-source controller's spec's; both
// of Bluum's error envelopes are src/bluum/http-bluum.gateway.spec.ts's.
import { connect } from 'node:net';
import { closeAppWithFakeBluum, type FakeBluum, startAppWithFakeBluum } from './support/fake-bluum';
import { registerUser, type TestApp } from './support/test-app';
import { tokenFor } from './support/tokens';

describe('HTTP limits and metrics', () => {
  let bluum: FakeBluum;
  let app: TestApp;

  beforeAll(async () => {
    ({ app, bluum } = await startAppWithFakeBluum({ HTTP_REQUEST_TIMEOUT_MS: '1000' }));
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

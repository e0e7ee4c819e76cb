// What the service writes to its log: JSON lines, the request id on every line written for a request,
// each Bluum call (method, path template, status, duration), and never a secret or a token.
import { connect } from 'node:net';
import { FakeBluum } from './support/fake-bluum';
import { bluumCallLine, bluumTemplate, CONNECT_BELOW, PER_ACCOUNT } from './support/generation';
import { registerUser, sandboxPublicToken, startTestApp, type TestApp } from './support/test-app';
import { TEST_JWT_SECRET, tokenFor } from './support/tokens';

/** Polls until `check` holds (a log line is written just after its response is sent). */
async function waitFor(check: () => boolean): Promise<void> {
  for (let waited = 0; !check(); waited += 10) {
    if (waited > 2000) throw new Error('the expected log line never came');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const API_KEY = 'log_key_7a6b5c';
const API_SECRET = 'log_secret_4d3e2f';

describe('logs', () => {
  const lines: string[] = [];
  let bluum: FakeBluum;
  let app: TestApp;

  beforeAll(async () => {
    bluum = await FakeBluum.start();
    app = await startTestApp(
      { BLUUM_BASE_URL: bluum.url, BLUUM_API_KEY: API_KEY, BLUUM_API_SECRET: API_SECRET, LOG_LEVEL: 'trace' },
      { logDestination: { write: (line: string) => void lines.push(line) } },
    );
  });
  afterAll(async () => {
    await app.close();
    await bluum.close();
  });

  const parsed = (): Record<string, unknown>[] =>
    lines.map((line) => JSON.parse(line) as Record<string, unknown>);

  it('are JSON lines that carry the request id, log Bluum calls, and never a secret or token', async () => {
    const { userId } = await registerUser(app);
    const userToken = tokenFor(userId);
    const secrets = [
      API_KEY,
      API_SECRET,
      Buffer.from(`${API_KEY}:${API_SECRET}`).toString('base64'),
      TEST_JWT_SECRET,
      userToken,
    ];

    const link = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/link-token`, {
      token: userToken,
      body: { enableHostedLink: true },
      headers: { 'x-request-id': 'log-scan-link-1' },
    });
    expect(link.status).toBe(201);
    secrets.push(link.body.linkToken, link.body.hostedLinkUrl);

    for (const fault of [
      undefined,
      { status: 400, body: { status: 'error', code: 'BLUM-400-002', message: 'bad' } },
      { status: 503 },
    ]) {
      const publicToken = sandboxPublicToken();
      secrets.push(publicToken);
      if (fault) bluum.failNext(fault);
      await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
        token: userToken,
        body: { publicToken },
      });
    }
    // Sync (Bluum's list) and disconnect (Bluum's DELETE): their Bluum lines carry their requests' ids too.
    const synced = await app.request('POST', `/v1/users/${userId}/funding-sources/sync`, {
      token: userToken,
      headers: { 'x-request-id': 'log-scan-sync-1' },
    });
    expect(synced.status).toBe(200);
    const deleted = await app.request(
      'DELETE',
      `/v1/users/${userId}/funding-sources/${synced.body.data[0].id}`,
      {
        token: userToken,
        headers: { 'x-request-id': 'log-scan-delete-1' },
      },
    );
    expect(deleted.status).toBe(200);

    const badBearer = `${userToken.slice(0, -4)}AAAA`;
    secrets.push(badBearer);
    expect((await app.request('GET', `/v1/users/${userId}`, { token: badBearer })).status).toBe(401);

    const entries = parsed();
    expect(entries.length).toBeGreaterThan(5);
    for (const entry of entries) {
      expect(entry).toMatchObject({
        level: expect.any(Number),
        time: expect.any(String),
        msg: expect.any(String),
      });
    }

    const completed = entries.filter((e) => e.msg === 'request completed');
    expect(completed.find((e) => e.clientRequestId === 'log-scan-link-1')).toMatchObject({
      method: 'POST',
      route: '/v1/users/:userId/funding-sources/plaid/link-token',
      status: 201,
      durationMs: expect.any(Number),
    });
    const bluumCalls = entries.filter((e) => e.context === 'BluumGateway');
    expect(bluumCalls.find((e) => e.clientRequestId === 'log-scan-link-1')?.msg).toMatch(
      bluumCallLine('POST', '/plaid/link-token', 200),
    );
    expect(bluumCalls.filter((e) => String(e.msg).includes(bluumTemplate(CONNECT_BELOW)))).toHaveLength(3);
    expect(bluumCalls.find((e) => e.clientRequestId === 'log-scan-sync-1')?.msg).toMatch(
      bluumCallLine('GET', '', 200),
    );
    // Bluum's internal 200 with a message (accounts), its external 204 (investors).
    expect(bluumCalls.find((e) => e.clientRequestId === 'log-scan-delete-1')?.msg).toMatch(
      bluumCallLine('DELETE', '/{id}', PER_ACCOUNT ? 204 : 200),
    );
    for (const call of bluumCalls) expect(call.requestId).toEqual(expect.any(String));
    // The failed connects' error lines (Bluum's 503) are the request's too.
    const errors = entries.filter((e) => e.context === 'Errors');
    expect(errors.length).toBeGreaterThan(0);
    for (const line of errors) expect(line.requestId).toEqual(expect.any(String));

    // At debug and below, successful reads have their line too, at debug.
    const ok = await app.request('GET', `/v1/users/${userId}/funding-sources`, {
      token: userToken,
      headers: { 'x-request-id': 'trace-read-ok' },
    });
    expect(ok.status).toBe(200);
    await waitFor(() =>
      parsed().some((e) => e.clientRequestId === 'trace-read-ok' && e.msg === 'request completed'),
    );
    expect(
      parsed().filter((e) => e.clientRequestId === 'trace-read-ok' && e.msg === 'request completed'),
    ).toEqual([expect.objectContaining({ level: 20, method: 'GET', status: 200 })]);

    const output = lines.join('');
    for (const secret of secrets) expect(output).not.toContain(secret);
  });
});

describe('request lines at LOG_LEVEL=info', () => {
  const lines: string[] = [];
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(
      { LOG_LEVEL: 'info' },
      { logDestination: { write: (line: string) => void lines.push(line) } },
    );
  });
  afterAll(() => app.close());

  const completed = (requestId: string) =>
    lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === 'request completed' && entry.clientRequestId === requestId);

  it('leave out successful reads (the deposit path), keep failed reads and every write', async () => {
    const { userId } = await registerUser(app);
    const read = (requestId: string, token?: string) =>
      app.request('GET', `/v1/users/${userId}/funding-sources`, {
        token,
        headers: { 'x-request-id': requestId },
      });
    expect((await read('info-read-ok', tokenFor(userId))).status).toBe(200);
    expect((await read('info-read-401')).status).toBe(401);
    const write = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
      token: tokenFor(userId),
      body: { publicToken: sandboxPublicToken() },
      headers: { 'x-request-id': 'info-write' },
    });
    expect(write.status).toBe(201);

    // The hook writes after the answer is sent: wait for the last line, then look at them all.
    await waitFor(() => completed('info-write').length > 0);
    expect(completed('info-read-ok')).toEqual([]);
    expect(completed('info-read-401')).toEqual([
      expect.objectContaining({ level: 30, method: 'GET', status: 401 }),
    ]);
    expect(completed('info-write')).toEqual([
      expect.objectContaining({ level: 30, method: 'POST', status: 201 }),
    ]);
  });
});

describe('a request body the client abandons', () => {
  const lines: string[] = [];
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp(
      { LOG_LEVEL: 'info' },
      { logDestination: { write: (line: string) => void lines.push(line) } },
    );
  });
  afterAll(() => app.close());

  it('is logged as an aborted request at info, never as a database outage', async () => {
    const { userId } = await registerUser(app);
    const { port } = new URL(app.url);
    // Half a body, then the connection is cut: what a client that gives up (or a 408) leaves behind.
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), '127.0.0.1', () => {
        socket.write(
          [
            `POST /v1/users/${userId}/funding-sources/plaid/connect HTTP/1.1`,
            'Host: 127.0.0.1',
            `Authorization: Bearer ${tokenFor(userId)}`,
            'Content-Type: application/json',
            'X-Request-Id: aborted-body-1',
            'Content-Length: 500',
            '',
            '{"publicToken":',
          ].join('\r\n'),
          () => setTimeout(() => socket.destroy(), 100),
        );
      });
      socket.on('error', () => undefined);
      socket.on('close', () => resolve());
    });
    const mine = () =>
      lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter((entry) => entry.clientRequestId === 'aborted-body-1');
    await waitFor(() => mine().some((entry) => String(entry.msg).startsWith('Request body aborted')));
    // Anything else the request would log comes right after its answer.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(mine()).toContainEqual(
      expect.objectContaining({
        level: 30,
        msg: expect.stringMatching(/^Request body aborted before it was complete/),
      }),
    );
    // Never a warning or an error, and never the database's code: anyone can send half a body.
    expect(mine().filter((entry) => (entry.level as number) >= 40)).toEqual([]);
    expect(lines.join('\n')).not.toContain('DATABASE_UNAVAILABLE');
  });
});

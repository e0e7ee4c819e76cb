// The audit trail: every change to a funding source, with actor, request id and time, written in the
// same transaction as the change (so a change that fails leaves no event).
import { closeAppWithFakeBluum, type FakeBluum, startAppWithFakeBluum } from './support/fake-bluum';
import { registerUser, sandboxPublicToken, uniqueUserId, type TestApp } from './support/test-app';
import { adminToken, tokenFor } from './support/tokens';

describe('audit trail', () => {
  let bluum: FakeBluum;
  let app: TestApp;

  beforeAll(async () => {
    ({ app, bluum } = await startAppWithFakeBluum({ BLUUM_TIMEOUT_MS: '2000' }));
  });
  afterAll(() => closeAppWithFakeBluum({ app, bluum }));
  beforeEach(() => bluum.reset());

  const events = async (userId: string, query = '') => {
    const res = await app.request('GET', `/v1/admin/users/${userId}/events${query}`, { token: adminToken() });
    expect(res.status).toBe(200);
    return res.body as { data: Record<string, unknown>[]; nextCursor: string | null };
  };

  it('records linking, an admin disconnect and a status change from sync, each with actor and request id', async () => {
    const { userId, bluumAccountId } = await registerUser(app);
    const linked = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
      token: tokenFor(userId),
      body: { publicToken: sandboxPublicToken() },
      headers: { 'x-request-id': 'audit-connect-1' },
    });
    expect(linked.status).toBe(201);
    const sourceId = linked.body.fundingSources[0].id as string;

    bluum.items.get(bluumAccountId)![0].status = 'ERROR';
    const sync = await app.request('POST', `/v1/users/${userId}/funding-sources/sync`, {
      token: tokenFor(userId),
      headers: { 'x-request-id': 'audit-sync-1' },
    });
    expect(sync.status).toBe(200);
    const removed = await app.request('DELETE', `/v1/users/${userId}/funding-sources/${sourceId}`, {
      token: adminToken(),
      headers: { 'x-request-id': 'audit-delete-1' },
    });
    expect(removed.status).toBe(200);

    const { data, nextCursor } = await events(userId);
    expect(nextCursor).toBeNull();
    // The caller's X-Request-Id is kept as clientRequestId; the event's requestId is always our own.
    expect(data.map((e) => [e.type, (e.details as { clientRequestId?: string }).clientRequestId])).toEqual([
      ['disconnected', 'audit-delete-1'],
      ['status_changed', 'audit-sync-1'],
      ['linked', 'audit-connect-1'],
    ]);
    for (const event of data) expect(event.requestId).toMatch(/^[0-9a-f-]{36}$/);
    for (const event of data) {
      expect(Object.keys(event).sort()).toEqual([
        'actor',
        'at',
        'details',
        'fundingSourceId',
        'id',
        'requestId',
        'type',
      ]);
      expect(event.fundingSourceId).toBe(sourceId);
    }
    expect(data[2]).toMatchObject({
      actor: { subject: userId, role: null, scope: '' },
      details: { via: 'connect', status: 'active' },
    });
    expect(data[1]).toMatchObject({ details: { via: 'sync', from: 'active', to: 'error' } });
    expect(data[0]).toMatchObject({
      actor: { subject: 'admin-1', role: 'admin' },
      details: { via: 'disconnect', from: 'error', itemDisconnected: true },
    });
  });

  it('records nothing when the change fails', async () => {
    const { userId } = await registerUser(app);
    bluum.failNext({ status: 503 });
    const failedConnect = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
      token: tokenFor(userId),
      body: { publicToken: sandboxPublicToken() },
    });
    expect(failedConnect.status).toBe(502);
    expect((await events(userId)).data).toEqual([]);

    const linked = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
      token: tokenFor(userId),
      body: { publicToken: sandboxPublicToken() },
    });
    bluum.failNext({ status: 503 });
    const failedDisconnect = await app.request(
      'DELETE',
      `/v1/users/${userId}/funding-sources/${linked.body.fundingSources[0].id}`,
      {
        token: tokenFor(userId),
      },
    );
    expect(failedDisconnect.status).toBe(502);
    expect((await events(userId)).data.map((e) => e.type)).toEqual(['linked']);
  });

  it('pages newest first without repeats', async () => {
    const { userId } = await registerUser(app);
    for (let i = 0; i < 3; i++) {
      await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
        token: tokenFor(userId),
        body: { publicToken: sandboxPublicToken() },
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await events(userId, `?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.data.map((e) => e.id as string));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(3);
  });

  it('is for admins only, and 404 for an unknown user', async () => {
    const { userId } = await registerUser(app);
    for (const token of [tokenFor(userId), tokenFor('svc', { scope: 'funding-sources:read users:write' })]) {
      const res = await app.request('GET', `/v1/admin/users/${userId}/events`, { token });
      expect(res.status).toBe(403);
    }
    const unknown = await app.request('GET', `/v1/admin/users/${uniqueUserId()}/events`, {
      token: adminToken(),
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('USER_NOT_FOUND');
  });
});

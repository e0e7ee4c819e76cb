// The audit trail: every change to a funding source, with actor, request id and time, written in the
// same transaction as the change (so a change that fails leaves no event).
import { useAppWithFakeBluum } from './support/fake-bluum';
import { registerUser } from './support/test-app';

describe('audit trail', () => {
  const suite = useAppWithFakeBluum({ BLUUM_TIMEOUT_MS: '2000' });

  const events = async (userId: string, query: { limit?: number; cursor?: string | null } = {}) => {
    const res = await suite.api.admin().events(userId, query);
    expect(res.status).toBe(200);
    return res.body;
  };

  it('records linking, an admin disconnect and a status change from sync, each with actor and request id', async () => {
    const { userId, bluumAccountId } = await registerUser(suite.app);
    const linked = await suite.api.as(userId).connect({}, { requestId: 'audit-connect-1' });
    expect(linked.status).toBe(201);
    const sourceId = linked.body.fundingSources[0].id;

    suite.bluum.items.get(bluumAccountId)![0].status = 'ERROR';
    const sync = await suite.api.as(userId).sync({ requestId: 'audit-sync-1' });
    expect(sync.status).toBe(200);
    const removed = await suite.api
      .admin()
      .user(userId)
      .disconnect(sourceId, { requestId: 'audit-delete-1' });
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
    const { userId } = await registerUser(suite.app);
    suite.bluum.failNext({ status: 503 });
    const failedConnect = await suite.api.as(userId).connect();
    expect(failedConnect.status).toBe(502);
    expect((await events(userId)).data).toEqual([]);

    const linked = await suite.api.as(userId).connect();
    suite.bluum.failNext({ status: 503 });
    const failedDisconnect = await suite.api.as(userId).disconnect(linked.body.fundingSources[0].id);
    expect(failedDisconnect.status).toBe(502);
    expect((await events(userId)).data.map((e) => e.type)).toEqual(['linked']);
  });
});

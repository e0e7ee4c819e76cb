// A connect can succeed at Bluum while its reply is lost; sync reads Bluum's list and recovers it,
// exactly once. Every list format Bluum documents is parsed by the gateway's specs
// (src/bluum/wire-fixtures), each status a medium spec of sync, who may call it the controller's spec.
import { useAppWithFakeBluum } from './support/fake-bluum';
import { bluumNames } from './support/generation';
import { countStored, registerUser } from './support/test-app';

describe('POST /v1/users/{userId}/funding-sources/sync', () => {
  const suite = useAppWithFakeBluum({ BLUUM_TIMEOUT_MS: '500' });

  it('recovers a link whose connect reply was lost, exactly once', async () => {
    const { userId, bluumAccountId } = await registerUser(suite.app);
    suite.bluum.failNext({ afterWork: true, status: 504, body: '<html>Gateway Timeout</html>' });
    const lost = await suite.api.as(userId).connect();
    expect(lost.status).toBe(502);
    expect(lost.error.message).toContain(`/v1/users/${userId}/funding-sources/sync`);
    expect(await countStored(suite.app, userId)).toEqual({ items: 0, accounts: 0 });

    const first = await suite.api.as(userId).sync();
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['added', 'data', 'updated']);
    expect(first.body).toMatchObject({ added: 1, updated: 0 });
    const linked = suite.bluum.items.get(bluumAccountId)![0];
    expect(first.body.data).toEqual([
      expect.objectContaining({
        userId,
        status: 'active',
        ...bluumNames(suite.bluum, bluumAccountId, linked.itemId),
      }),
    ]);

    const second = await suite.api.as(userId).sync();
    expect(second.body).toMatchObject({ added: 0, updated: 0 });
    expect(await countStored(suite.app, userId)).toEqual({ items: 1, accounts: 1 });
  });

  it('leaves the database as it was when Bluum fails, and says so', async () => {
    const { userId } = await registerUser(suite.app);
    await suite.api.as(userId).linkBank();
    const before = await countStored(suite.app, userId);
    suite.bluum.failNext({ status: 500 }, 50);
    const res = await suite.api.as(userId).sync();
    expect(res.status).toBe(502);
    expect(res.error.code).toBe('BLUUM_UNAVAILABLE');
    suite.bluum.reset();
    suite.bluum.failNext({ status: 200, body: { status: 'success', data: { something: [] } } });
    const odd = await suite.api.as(userId).sync();
    expect(odd.status).toBe(502);
    expect(odd.error.code).toBe('BLUUM_BAD_RESPONSE');
    expect(await countStored(suite.app, userId)).toEqual(before);
  });
});

// A connect can succeed at Bluum while its reply is lost; sync reads Bluum's list and recovers it,
// exactly once, in whichever list format Bluum answers.
import { closeAppWithFakeBluum, type FakeBluum, startAppWithFakeBluum } from './support/fake-bluum';
import { registerUser, sandboxPublicToken, type TestApp } from './support/test-app';
import { tokenFor } from './support/tokens';

describe('POST /v1/users/{userId}/funding-sources/sync', () => {
  let bluum: FakeBluum;
  let app: TestApp;

  beforeAll(async () => {
    ({ app, bluum } = await startAppWithFakeBluum({ BLUUM_TIMEOUT_MS: '500' }));
  });
  afterAll(() => closeAppWithFakeBluum({ app, bluum }));
  beforeEach(() => bluum.reset());

  const connect = (userId: string) =>
    app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
      token: tokenFor(userId),
      body: { publicToken: sandboxPublicToken() },
    });
  const sync = (userId: string, token = tokenFor(userId)) =>
    app.request('POST', `/v1/users/${userId}/funding-sources/sync`, { token });
  const stored = async (userId: string) => ({
    items: await app.prisma.plaidItem.count({ where: { userId } }),
    accounts: await app.prisma.bankAccount.count({ where: { userId } }),
  });

  it('recovers a link whose connect reply was lost, exactly once', async () => {
    const { userId, bluumAccountId } = await registerUser(app);
    bluum.failNext({ afterWork: true, status: 504, body: '<html>Gateway Timeout</html>' });
    const lost = await connect(userId);
    expect(lost.status).toBe(502);
    expect(lost.body.message).toContain(`/v1/users/${userId}/funding-sources/sync`);
    expect(await stored(userId)).toEqual({ items: 0, accounts: 0 });

    const first = await sync(userId);
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(['added', 'data', 'updated']);
    expect(first.body).toMatchObject({ added: 1, updated: 0 });
    const linked = bluum.items.get(bluumAccountId)![0];
    expect(first.body.data).toEqual([
      expect.objectContaining({
        userId,
        itemId: linked.itemId,
        accountId: linked.accounts[0].accountId,
        status: 'active',
        plaidOptions: { item_id: linked.itemId, account_id: linked.accounts[0].accountId },
      }),
    ]);

    const second = await sync(userId);
    expect(second.body).toMatchObject({ added: 0, updated: 0 });
    expect(await stored(userId)).toEqual({ items: 1, accounts: 1 });
  });

  it("takes Bluum's statuses: ERROR → error, DISCONNECTED → disconnected", async () => {
    const { userId, bluumAccountId } = await registerUser(app);
    expect((await connect(userId)).status).toBe(201);
    expect((await connect(userId)).status).toBe(201);
    const [erroring, disconnected] = bluum.items.get(bluumAccountId)!;
    erroring.status = 'ERROR';
    disconnected.status = 'DISCONNECTED';

    const res = await sync(userId);
    expect(res.body).toMatchObject({ added: 0, updated: 2 });
    const statusOf = (itemId: string) =>
      (res.body.data as { itemId: string; status: string }[]).find((s) => s.itemId === itemId)?.status;
    expect(statusOf(erroring.itemId)).toBe('error');
    expect(statusOf(disconnected.itemId)).toBe('disconnected');
    const list = await app.request('GET', `/v1/users/${userId}/funding-sources`, { token: tokenFor(userId) });
    expect((list.body.data as { itemId: string }[]).map((s) => s.itemId)).toEqual([erroring.itemId]);
  });

  it.each([
    ['data.items, camelCase', 'items', false],
    ['data.fundingSources, camelCase', 'fundingSources', false],
    ['data.funding_sources, snake_case', 'funding_sources', true],
    ['data.items, snake_case', 'items', true],
  ] as const)('reads the list as %s', async (_name, key, snakeCase) => {
    const { userId, bluumAccountId } = await registerUser(app);
    bluum.items.set(bluumAccountId, [
      {
        id: 'fs-sync-1',
        itemId: `item_fmt_${userId}`,
        institutionId: 'ins_3',
        institutionName: 'Chase Bank',
        status: 'ACTIVE',
        accounts: [
          {
            accountId: 'acc_c',
            accountName: 'Checking',
            accountType: 'depository',
            accountSubtype: 'checking',
            mask: '0000',
          },
          {
            accountId: 'acc_s',
            accountName: 'Savings',
            accountType: 'depository',
            accountSubtype: 'savings',
            mask: '1111',
          },
        ],
      },
    ]);
    bluum.listFormat = { key, snakeCase };
    const res = await sync(userId);
    expect(res.status).toBe(200);
    expect(res.body.added).toBe(2);
    expect((res.body.data as { accountSubtype: string }[]).map((s) => s.accountSubtype).sort()).toEqual([
      'checking',
      'savings',
    ]);
    expect(res.body.data[0]).toMatchObject({
      institutionName: 'Chase Bank',
      bluumFundingSourceId: 'fs-sync-1',
    });
  });

  it('leaves the database as it was when Bluum fails, and says so', async () => {
    const { userId } = await registerUser(app);
    expect((await connect(userId)).status).toBe(201);
    const before = await stored(userId);
    bluum.failNext({ status: 500 }, 50);
    const res = await sync(userId);
    expect(res.status).toBe(502);
    expect(res.body.code).toBe('BLUUM_UNAVAILABLE');
    bluum.reset();
    bluum.failNext({ status: 200, body: { status: 'success', data: { something: [] } } });
    const odd = await sync(userId);
    expect(odd.status).toBe(502);
    expect(odd.body.code).toBe('BLUUM_BAD_RESPONSE');
    expect(await stored(userId)).toEqual(before);
  });

  it('is for the user itself or admins, not for deposit services', async () => {
    const { userId } = await registerUser(app);
    const res = await sync(userId, tokenFor('svc', { scope: 'funding-sources:read' }));
    expect(res.status).toBe(403);
    expect((await sync(userId, tokenFor('someone-else'))).status).toBe(403);
  });
});

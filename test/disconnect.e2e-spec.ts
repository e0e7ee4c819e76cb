// DELETE …/funding-sources/{id}: a soft delete; the last active account of an item takes the item with
// it, at Bluum first, and a Bluum failure changes nothing.
import {
  closeAppWithFakeBluum,
  type FakeBluum,
  type FakeItem,
  startAppWithFakeBluum,
} from './support/fake-bluum';
import { registerUser, sandboxPublicToken, type TestApp } from './support/test-app';
import { tokenFor } from './support/tokens';

describe('disconnecting a funding source', () => {
  let bluum: FakeBluum;
  let app: TestApp;

  beforeAll(async () => {
    ({ app, bluum } = await startAppWithFakeBluum({ BLUUM_TIMEOUT_MS: '600' }));
  });
  afterAll(() => closeAppWithFakeBluum({ app, bluum }));
  beforeEach(() => bluum.reset());

  const twoAccountItem = (userId: string, withId = true): FakeItem => ({
    ...(withId ? { id: `fs-${userId}` } : {}),
    itemId: `item_${userId}`,
    institutionName: 'Chase Bank',
    status: 'ACTIVE',
    accounts: [
      {
        accountId: 'acc_1',
        accountName: 'Checking',
        accountType: 'depository',
        accountSubtype: 'checking',
        mask: '0000',
      },
      {
        accountId: 'acc_2',
        accountName: 'Savings',
        accountType: 'depository',
        accountSubtype: 'savings',
        mask: '1111',
      },
    ],
  });
  async function linkTwoAccounts(withId = true) {
    const { userId, bluumAccountId } = await registerUser(app);
    bluum.nextConnectLinks(twoAccountItem(userId, withId));
    const res = await app.request('POST', `/v1/users/${userId}/funding-sources/plaid/connect`, {
      token: tokenFor(userId),
      body: { publicToken: sandboxPublicToken() },
    });
    expect(res.status).toBe(201);
    bluum.requests.length = 0;
    const [first, second] = (res.body.fundingSources as { id: string }[]).map((s) => s.id);
    return { userId, bluumAccountId, first: first, second: second };
  }
  const disconnect = (userId: string, id: string, token = tokenFor(userId)) =>
    app.request('DELETE', `/v1/users/${userId}/funding-sources/${id}`, { token });
  const statuses = async (userId: string) => ({
    item: (await app.prisma.plaidItem.findFirstOrThrow({ where: { userId } })).status,
    accounts: (
      await app.prisma.bankAccount.findMany({ where: { userId }, orderBy: { accountId: 'asc' } })
    ).map((a) => a.status),
  });
  const deletes = () => bluum.requests.filter((r) => r.method === 'DELETE');

  it('marks one account disconnected and keeps it in history; the last one disconnects the item at Bluum first', async () => {
    const { userId, bluumAccountId, first, second } = await linkTwoAccounts();

    const one = await disconnect(userId, first);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: first, status: 'disconnected', plaidOptions: expect.any(Object) });
    expect(deletes()).toHaveLength(0);
    expect(await statuses(userId)).toEqual({ item: 'active', accounts: ['disconnected', 'active'] });

    const list = await app.request('GET', `/v1/users/${userId}/funding-sources`, { token: tokenFor(userId) });
    expect((list.body.data as { id: string }[]).map((s) => s.id)).toEqual([second]);
    const history = await app.request('GET', `/v1/users/${userId}/funding-sources?status=disconnected`, {
      token: tokenFor('svc', { scope: 'funding-sources:read' }),
    });
    expect(history.body.data).toEqual([expect.objectContaining({ id: first, status: 'disconnected' })]);

    const last = await disconnect(userId, second);
    expect(last.status).toBe(200);
    expect(deletes().map((r) => r.path)).toEqual([
      `/v1/accounts/${bluumAccountId}/funding-sources/fs-${userId}?type=plaid`,
    ]);
    expect(await statuses(userId)).toEqual({
      item: 'disconnected',
      accounts: ['disconnected', 'disconnected'],
    });
  });

  it('disconnects the item at Bluum exactly once when both accounts are disconnected at the same time', async () => {
    const { userId, first, second } = await linkTwoAccounts();
    bluum.failNext({ delayMs: 200 });
    const answers = await Promise.all([disconnect(userId, first), disconnect(userId, second)]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(deletes()).toHaveLength(1);
    expect(await statuses(userId)).toEqual({
      item: 'disconnected',
      accounts: ['disconnected', 'disconnected'],
    });
  });

  it('is harmless twice: same answer, Bluum called once', async () => {
    const { userId, first, second } = await linkTwoAccounts();
    await disconnect(userId, first);
    const a = await disconnect(userId, second);
    const b = await disconnect(userId, second);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body).toEqual(a.body);
    expect(deletes()).toHaveLength(1);
  });

  it.each([
    ['answers 503', { status: 503 }, 502, 'BLUUM_UNAVAILABLE'],
    ['times out', { delayMs: 3_000 }, 504, 'BLUUM_TIMEOUT'],
  ])('changes nothing when Bluum %s on the last account', async (_name, fault, status, code) => {
    const { userId, first, second } = await linkTwoAccounts();
    await disconnect(userId, first);
    bluum.failNext(fault);
    const res = await disconnect(userId, second);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(deletes()).toHaveLength(1);
    expect(await statuses(userId)).toEqual({ item: 'active', accounts: ['disconnected', 'active'] });
  });

  it("finds Bluum's id in its list when the connect reply had none", async () => {
    const { userId, bluumAccountId, first, second } = await linkTwoAccounts(false);
    bluum.items.get(bluumAccountId)![0].id = 'fs-from-list';
    await disconnect(userId, first);
    expect((await disconnect(userId, second)).status).toBe(200);
    expect(deletes().map((r) => r.path)).toEqual([
      `/v1/accounts/${bluumAccountId}/funding-sources/fs-from-list?type=plaid`,
    ]);
  });

  it('is not undone by a sync while Bluum still lists the item as active', async () => {
    const { userId, first } = await linkTwoAccounts();
    await disconnect(userId, first);
    const sync = await app.request('POST', `/v1/users/${userId}/funding-sources/sync`, {
      token: tokenFor(userId),
    });
    expect(sync.status).toBe(200);
    expect(await statuses(userId)).toEqual({ item: 'active', accounts: ['disconnected', 'active'] });
  });

  it("answers 404 for another user's funding source and 403 for deposit services", async () => {
    const { userId, first } = await linkTwoAccounts();
    const other = await registerUser(app);
    expect((await disconnect(other.userId, first)).status).toBe(404);
    expect((await disconnect(userId, first, tokenFor('svc', { scope: 'funding-sources:read' }))).status).toBe(
      403,
    );
    expect(await statuses(userId)).toEqual({ item: 'active', accounts: ['active', 'active'] });
  });
});

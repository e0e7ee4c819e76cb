// DELETE …/funding-sources/{id}: a soft delete; the last active account of an item takes the item with
// it, at Bluum first, and a Bluum failure changes nothing. In Bluum's investors generation each bank
// account is a funding source of its own there, so each one is disconnected at Bluum first.
import type { FundingSourceDto } from '../src/funding-sources/dto/funding-source.dto';
import { type FakeItem, useAppWithFakeBluum } from './support/fake-bluum';
import { bluumPath, PER_ACCOUNT } from './support/generation';
import { registerUser } from './support/test-app';
import { depositServiceToken } from './support/tokens';

describe('disconnecting a funding source', () => {
  const suite = useAppWithFakeBluum({ BLUUM_TIMEOUT_MS: '600' });

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
    const { userId, bluumAccountId } = await registerUser(suite.app);
    suite.bluum.nextConnectLinks(twoAccountItem(userId, withId));
    const { fundingSources } = await suite.api.as(userId).linkBank();
    suite.bluum.requests.length = 0;
    const [first, second] = fundingSources.map((s) => s.id);
    return { userId, bluumAccountId, first, second, sources: fundingSources };
  }
  const statuses = async (userId: string) => ({
    item: (await suite.app.prisma.plaidItem.findFirstOrThrow({ where: { userId } })).status,
    accounts: (
      await suite.app.prisma.bankAccount.findMany({ where: { userId }, orderBy: { mask: 'asc' } })
    ).map((a) => a.status),
  });
  const deletes = () => suite.bluum.requests.filter((r) => r.method === 'DELETE');
  /**
   * Bluum's DELETEs once these accounts are disconnected here: one per account by its fs_ id (investors),
   * or only the item's, by its id, once its last account went (accounts).
   */
  const expectedDeletes = (
    bluumAccountId: string,
    disconnected: FundingSourceDto[],
    { itemGone, itemId }: { itemGone: boolean; itemId: string },
  ): string[] =>
    PER_ACCOUNT
      ? disconnected.map((s) => bluumPath(bluumAccountId, `/${String(s.bluumFundingSourceId)}?type=plaid`))
      : itemGone
        ? [bluumPath(bluumAccountId, `/${itemId}?type=plaid`)]
        : [];

  it('marks one account disconnected and keeps it in history; the last one disconnects the item at Bluum first', async () => {
    const { userId, bluumAccountId, first, second, sources } = await linkTwoAccounts();

    const one = await suite.api.as(userId).disconnect(first);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({
      id: first,
      status: 'disconnected',
      transferOptions: sources[0].transferOptions,
    });
    expect(deletes().map((r) => r.path)).toEqual(
      expectedDeletes(bluumAccountId, [sources[0]], { itemGone: false, itemId: `fs-${userId}` }),
    );
    expect(await statuses(userId)).toEqual({ item: 'active', accounts: ['disconnected', 'active'] });

    const list = await suite.api.as(userId).list();
    expect(list.body.data.map((s) => s.id)).toEqual([second]);
    const history = await suite.api
      .withToken(depositServiceToken('svc'))
      .user(userId)
      .list({ status: 'disconnected' });
    expect(history.body.data).toEqual([expect.objectContaining({ id: first, status: 'disconnected' })]);

    const last = await suite.api.as(userId).disconnect(second);
    expect(last.status).toBe(200);
    expect(deletes().map((r) => r.path)).toEqual(
      expectedDeletes(bluumAccountId, sources, { itemGone: true, itemId: `fs-${userId}` }),
    );
    expect(await statuses(userId)).toEqual({
      item: 'disconnected',
      accounts: ['disconnected', 'disconnected'],
    });
  });

  it('disconnects at Bluum exactly once (once per account where each is its own funding source) when both accounts are disconnected at the same time', async () => {
    const { userId, bluumAccountId, first, second, sources } = await linkTwoAccounts();
    suite.bluum.failNext({ delayMs: 200 });
    const answers = await Promise.all([
      suite.api.as(userId).disconnect(first),
      suite.api.as(userId).disconnect(second),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    expect(
      deletes()
        .map((r) => r.path)
        .sort(),
    ).toEqual(expectedDeletes(bluumAccountId, sources, { itemGone: true, itemId: `fs-${userId}` }).sort());
    expect(await statuses(userId)).toEqual({
      item: 'disconnected',
      accounts: ['disconnected', 'disconnected'],
    });
  });

  it('is harmless twice: same answer, no second call to Bluum', async () => {
    const { userId, bluumAccountId, first, second, sources } = await linkTwoAccounts();
    await suite.api.as(userId).disconnect(first);
    const a = await suite.api.as(userId).disconnect(second);
    const b = await suite.api.as(userId).disconnect(second);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body).toEqual(a.body);
    expect(deletes().map((r) => r.path)).toEqual(
      expectedDeletes(bluumAccountId, sources, { itemGone: true, itemId: `fs-${userId}` }),
    );
  });

  // A timeout is test/slow-bluum.e2e-spec.ts's (a DELETE Bluum performed after our time limit).
  it('changes nothing when Bluum answers 503 on the last account, and a repeat goes through at once', async () => {
    const { userId, first, second } = await linkTwoAccounts();
    await suite.api.as(userId).disconnect(first);
    const before = deletes().length;
    suite.bluum.failNext({ status: 503, forOperation: 'disconnect' });
    const res = await suite.api.as(userId).disconnect(second);
    expect(res.status).toBe(502);
    expect(res.error.code).toBe('BLUUM_UNAVAILABLE');
    expect(deletes()).toHaveLength(before + 1);
    expect(await statuses(userId)).toEqual({ item: 'active', accounts: ['disconnected', 'active'] });
    // The failed attempt gave its lease up: the repeat calls Bluum now instead of waiting for it.
    const again = await suite.api.as(userId).disconnect(second);
    expect(again.status).toBe(200);
    expect(deletes()).toHaveLength(before + 2);
    expect(await statuses(userId)).toEqual({
      item: 'disconnected',
      accounts: ['disconnected', 'disconnected'],
    });
  });

  // The accounts generation's connect reply may leave the item's id out; the investors generation's names
  // each account's fs_ id in every row, so there is nothing to look up there and the case is the accounts
  // run's alone.
  if (!PER_ACCOUNT)
    it("finds Bluum's id in its list when the connect reply had none", async () => {
      const { userId, bluumAccountId, first, second } = await linkTwoAccounts(false);
      suite.bluum.items.get(bluumAccountId)![0].id = 'fs-from-list';
      await suite.api.as(userId).disconnect(first);
      expect((await suite.api.as(userId).disconnect(second)).status).toBe(200);
      expect(deletes().map((r) => r.path)).toEqual([
        `/v1/accounts/${bluumAccountId}/funding-sources/fs-from-list?type=plaid`,
      ]);
    });

  it('is not undone by a sync while Bluum still lists the item as active', async () => {
    const { userId, bluumAccountId, first } = await linkTwoAccounts();
    await suite.api.as(userId).disconnect(first);
    // Bluum lists the item, every account of it, as active (in the investors generation: again).
    suite.bluum.setStatus(bluumAccountId, `item_${userId}`, 'ACTIVE');
    const sync = await suite.api.as(userId).sync();
    expect(sync.status).toBe(200);
    expect(await statuses(userId)).toEqual({ item: 'active', accounts: ['disconnected', 'active'] });
  });

  // Who may call it is src/funding-sources/funding-sources.controller.spec.ts's.
  it("answers 404 for another user's funding source, changing nothing", async () => {
    const { userId, first } = await linkTwoAccounts();
    const other = await registerUser(suite.app);
    const res = await suite.api.as(other.userId).disconnect(first);
    expect(res.status).toBe(404);
    expect(res.error.code).toBe('FUNDING_SOURCE_NOT_FOUND');
    expect(await statuses(userId)).toEqual({ item: 'active', accounts: ['active', 'active'] });
  });
});

// Ids that go into Bluum's URLs cannot escape their path segment: Bluum's own ids are checked when its
// replies are read. The gateway's refusal of a URL whose path is not the one it meant (data stored before
// ids were checked), without Bluum ever seeing the call, is src/bluum/http-bluum.gateway.spec.ts's.
import { type FakeItem, useAppWithFakeBluum } from './support/fake-bluum';
import { countStored, registerUser } from './support/test-app';

describe('ids in Bluum URLs', () => {
  const suite = useAppWithFakeBluum({ BLUUM_TIMEOUT_MS: '600' });

  const item = (userId: string, id?: string): FakeItem => ({
    ...(id === undefined ? {} : { id }),
    itemId: `item_${userId}`,
    institutionName: 'Chase Bank',
    status: 'ACTIVE',
    accounts: [{ accountId: 'acc_1', accountName: 'Checking', accountType: 'depository', mask: '0000' }],
  });

  describe("Bluum's ids", () => {
    // Every unsafe id is a row of src/bluum/bluum-payloads.spec.ts; over HTTP, one shows the 502 with
    // nothing stored.
    it.each(['../../admin'])(
      'connect: an item id of %j is BLUUM_BAD_RESPONSE, and nothing is stored',
      async (id) => {
        const { userId } = await registerUser(suite.app);
        suite.bluum.nextConnectLinks(item(userId, id));
        const res = await suite.api.as(userId).connect();
        expect(res.status).toBe(502);
        expect(res.error.code).toBe('BLUUM_BAD_RESPONSE');
        expect(await countStored(suite.app, userId)).toEqual({ items: 0, accounts: 0 });
      },
    );

    it('list: one item with an id of .. rejects the whole reply; no DELETE is sent and nothing changes', async () => {
      // Connected without an id, so disconnecting looks the item up in Bluum's list.
      const { userId, bluumAccountId } = await registerUser(suite.app);
      suite.bluum.nextConnectLinks(item(userId));
      const connected = await suite.api.as(userId).connect();
      expect(connected.status).toBe(201);
      const [source] = connected.body.fundingSources;
      suite.bluum.items.get(bluumAccountId)![0].id = '..';
      suite.bluum.items.set(bluumAccountId, [
        { ...item(`${userId}_other`, 'fs_fine') },
        ...suite.bluum.items.get(bluumAccountId)!,
      ]);
      suite.bluum.requests.length = 0;

      const res = await suite.api.as(userId).disconnect(source.id);
      expect(res.status).toBe(502);
      expect(res.error.code).toBe('BLUUM_BAD_RESPONSE');
      expect(suite.bluum.requests.map((r) => r.method)).toEqual(['GET']);
      const account = await suite.app.prisma.bankAccount.findFirstOrThrow({ where: { userId } });
      expect(account.status).toBe('active');
    });
  });
});

// The funding-sources repositories (reads, writes, public-token exchanges, events) and service on a real database: what is stored, what is read back,
// which events are written, and what is refused, without the app or HTTP in between.
import { randomUUID } from 'node:crypto';
import { SYSTEM_CALLER } from '../../src/auth/caller';
import type { BluumItem } from '../../src/bluum/bluum.types';
import {
  type FundingSource,
  toConnectResponse,
  toFundingSource,
} from '../../src/funding-sources/funding-source';
import { itemToStore } from '../../src/funding-sources/reconcile';
import { ADMIN_CALLER, MediumContext } from './medium-context';

describe('funding sources on a real database', () => {
  let ctx: MediumContext;

  beforeAll(async () => {
    ctx = await MediumContext.open();
  });
  afterAll(() => ctx.close());

  const eventsOf = (userId: string) =>
    ctx.prisma.fundingSourceEvent.findMany({ where: { userId }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
  const counts = async (userId: string) => ({
    items: await ctx.prisma.plaidItem.count({ where: { userId } }),
    accounts: await ctx.prisma.bankAccount.count({ where: { userId } }),
    events: await ctx.prisma.fundingSourceEvent.count({ where: { userId } }),
  });

  describe('the two read paths', () => {
    it('the raw-SQL paths (list, get, admin pages) and the Prisma path (connect, disconnect) return the same record for the same rows', async () => {
      // Prisma path: the records a connect stored and a disconnect changed, read back through Prisma.
      const { user, fundingSources } = await ctx.newLinkedItem({ accounts: 3 });
      const begun = await ctx.writes.beginDisconnect(
        user.id,
        fundingSources[0].id,
        { id: randomUUID(), durationMs: 1_000 },
        ADMIN_CALLER,
      );
      if (begun.kind !== 'disconnected') throw new Error(begun.kind);
      const viaPrisma = [begun.record, ...fundingSources.slice(1)];

      const raw = await ctx.reads.listByUser(user.id, ['active', 'error', 'disconnected']);
      const { rows: page } = await ctx.reads.listPage({ userId: user.id, limit: 10 });
      expect(page).toEqual(raw);
      expect(raw).toHaveLength(3);
      for (const record of viaPrisma) {
        expect(raw.find((r) => r.id === record.id)).toEqual(record);
        // The read routes' JSON, rendered by PostgreSQL, is exactly what toFundingSource makes of the record.
        const json = await ctx.reads.findJsonForUser(user.id, record.id);
        expect(JSON.parse(json ?? 'null')).toEqual(toFundingSource(record));
        expect(Object.keys(record).sort()).toEqual(Object.keys(raw[0]).sort());
      }
      const listedJson = await ctx.reads.listJsonByUser(user.id, ['active', 'error', 'disconnected']);
      expect(listedJson.map((json) => JSON.parse(json) as unknown)).toEqual(raw.map(toFundingSource));
      expect(begun.record.status).toBe('disconnected');
      expect(raw.map((r) => r.createdAt)).toEqual(raw.map(() => expect.any(Date)));
    });

    it("gets nothing for another user's funding source", async () => {
      const { fundingSources } = await ctx.newLinkedItem();
      const stranger = await ctx.newUser();
      expect(await ctx.reads.findJsonForUser(stranger.id, fundingSources[0].id)).toBeNull();
    });

    it('renders the optional fields of a link stored without them as null, never omitted', async () => {
      const { user, fundingSources } = await ctx.newLinkedItem();
      await ctx.prisma.$executeRawUnsafe(
        'UPDATE bank_accounts SET institution_id = NULL, subtype = NULL, bluum_funding_source_id = NULL WHERE id = $1::uuid',
        fundingSources[0].id,
      );
      const json = JSON.parse((await ctx.reads.findJsonForUser(user.id, fundingSources[0].id)) ?? '{}');
      expect(json).toMatchObject({ institutionId: null, accountSubtype: null, bluumFundingSourceId: null });
      expect(Object.keys(json)).toHaveLength(16);
    });

    it('renders a bank account Bluum names by its own funding source id (investors): transferOptions names it, accountId and plaidOptions are null', async () => {
      const user = await ctx.newUser();
      const item = ctx.bluumItem({ accounts: 2 });
      const saved = await ctx.saveItem(user, {
        ...item,
        id: null,
        institutionId: null,
        accounts: item.accounts.map((account, index) => ({
          ...account,
          accountId: `fs_${index}_${item.itemId}`,
          fundingSourceId: `fs_${index}_${item.itemId}`,
        })),
      });
      if (saved.kind !== 'saved') throw new Error(saved.kind);
      const listed = (await ctx.reads.listJsonByUser(user.id, ['active'])).map(
        (json) => JSON.parse(json) as unknown,
      );
      const records = await ctx.reads.listByUser(user.id, ['active']);
      expect(listed).toEqual(records.map(toFundingSource));
      expect(listed).toEqual(
        [1, 0].map((index) =>
          expect.objectContaining({
            itemId: item.itemId,
            accountId: null,
            bluumFundingSourceId: `fs_${index}_${item.itemId}`,
            plaidOptions: null,
            transferOptions: { funding_source_id: `fs_${index}_${item.itemId}` },
          }),
        ),
      );
      // What connect answers is the same shape.
      expect(saved.linked.fundingSources.map(toFundingSource).map((fs) => fs.transferOptions)).toEqual([
        { funding_source_id: `fs_0_${item.itemId}` },
        { funding_source_id: `fs_1_${item.itemId}` },
      ]);
    });

    it('keeps the stored institution id when a later sync of Bluum names none (its investors generation sends none)', async () => {
      const { user, bluumItem } = await ctx.newLinkedItem();
      const synced = await ctx.writes.syncItems(
        user.id,
        user.bluumAccountId,
        [{ ...bluumItem, institutionId: null }],
        ADMIN_CALLER,
      );
      expect(synced.kind).toBe('synced');
      const [stored] = await ctx.reads.listByUser(user.id, ['active']);
      expect(stored.institutionId).toBe('ins_3');
      expect(
        (await ctx.prisma.plaidItem.findUniqueOrThrow({ where: { itemId: bluumItem.itemId } })).institutionId,
      ).toBe('ins_3');
    });

    it("renders a bank account Bluum names by Plaid's ids (accounts) with transferOptions of exactly plaidOptions", async () => {
      const { user, fundingSources } = await ctx.newLinkedItem();
      const json = JSON.parse((await ctx.reads.findJsonForUser(user.id, fundingSources[0].id)) ?? '{}');
      expect(json.transferOptions).toEqual({ plaid_options: json.plaidOptions });
      expect(json.plaidOptions).toEqual({
        item_id: fundingSources[0].itemId,
        account_id: fundingSources[0].accountId,
      });
    });

    // The columns keep milliseconds (timestamptz(3)): these are the values a time can end in.
    it.each(['000', '001', '010', '123', '500', '999'])(
      'renders a time ending in .%s ms as Date#toISOString writes the Date the driver reads',
      async (millis) => {
        const { user, fundingSources } = await ctx.newLinkedItem();
        await ctx.prisma.$executeRawUnsafe(
          `UPDATE bank_accounts SET created_at = '2026-01-02 03:04:05.${millis}+00', updated_at = '1999-12-31 23:59:59.${millis}+00' WHERE id = $1::uuid`,
          fundingSources[0].id,
        );
        const [record] = await ctx.reads.listByUser(user.id, ['active']);
        const json = JSON.parse((await ctx.reads.findJsonForUser(user.id, record.id)) ?? 'null');
        expect(json).toEqual(toFundingSource(record));
        expect(json).toMatchObject({
          createdAt: `2026-01-02T03:04:05.${millis}Z`,
          updatedAt: `1999-12-31T23:59:59.${millis}Z`,
        });
      },
    );
  });

  describe('saving a linked item', () => {
    it('stores the item and every account in Bluum order, completes the exchange with the response, and writes one linked event each', async () => {
      const user = await ctx.newUser();
      const { fundingSources, bluumItem } = await ctx.newLinkedItem({
        user,
        accounts: 3,
        caller: ADMIN_CALLER,
      });
      expect(fundingSources.map((s) => s.accountId)).toEqual(bluumItem.accounts.map((a) => a.accountId));
      expect(await counts(user.id)).toEqual({ items: 1, accounts: 3, events: 3 });
      const events = await eventsOf(user.id);
      expect(events.map((e) => [e.type, e.details, e.actor, e.requestId])).toEqual(
        fundingSources.map(() => [
          'linked',
          { status: 'active', via: 'connect' },
          ADMIN_CALLER.actor,
          ADMIN_CALLER.requestId,
        ]),
      );
      const exchange = await ctx.prisma.publicTokenExchange.findFirst({ where: { userId: user.id } });
      expect(exchange?.completedAt).toBeInstanceOf(Date);
      expect(exchange?.response).toMatchObject({
        item: { itemId: bluumItem.itemId, status: 'active' },
        fundingSources: fundingSources.map((s) => ({
          id: s.id,
          plaidOptions: { item_id: s.itemId, account_id: s.accountId },
          createdAt: s.createdAt.toISOString(),
        })),
      });
    });

    it('answers exactly the connect response it stores for a replay, built from what it stored', async () => {
      const user = await ctx.newUser();
      const saved = await ctx.saveItem(user, ctx.bluumItem({ accounts: 2 }));
      if (saved.kind !== 'saved') throw new Error(saved.kind);
      expect(saved.response).toEqual(toConnectResponse(saved.linked));
      const exchange = await ctx.prisma.publicTokenExchange.findFirstOrThrow({ where: { userId: user.id } });
      expect(exchange.response).toEqual(JSON.parse(JSON.stringify(saved.response)));
    });

    it('updates an item linked again in place, never duplicating it, and records only what changed', async () => {
      const { user, bluumItem, fundingSources } = await ctx.newLinkedItem({ accounts: 2 });
      await ctx.prisma.bankAccount.update({
        where: { id: fundingSources[0].id },
        data: { status: 'disconnected' },
      });
      const renamed: BluumItem = {
        ...bluumItem,
        accounts: [{ ...bluumItem.accounts[0] }, { ...bluumItem.accounts[1], accountName: 'Renamed' }],
      };
      const saved = await ctx.saveItem(user, renamed);
      expect(saved.kind).toBe('saved');
      if (saved.kind !== 'saved') return;
      expect(saved.linked.fundingSources.map((s) => s.id)).toEqual(fundingSources.map((s) => s.id));
      expect(saved.linked.fundingSources.map((s) => [s.status, s.accountName])).toEqual([
        ['active', 'Account 0'],
        ['active', 'Renamed'],
      ]);
      expect((await counts(user.id)).accounts).toBe(2);
      // One transaction's events share a time; their order among themselves is not the point here.
      const events = (await eventsOf(user.id)).filter((e) => e.type !== 'linked');
      const order = fundingSources.map((source) => source.id);
      events.sort((x, y) => order.indexOf(x.fundingSourceId) - order.indexOf(y.fundingSourceId));
      expect(events.map((e) => [e.fundingSourceId, e.type, e.details])).toEqual([
        [fundingSources[0].id, 'status_changed', { from: 'disconnected', to: 'active', via: 'connect' }],
        [fundingSources[1].id, 'updated', { via: 'connect' }],
      ]);
    });

    it.each([
      ['an unknown user', 'user-not-found'],
      ['a user whose Bluum account changed', 'bluum-account-changed'],
      ['an item stored for another user', 'item-of-another-user'],
    ] as const)('refuses %s and writes nothing', async (_case, kind) => {
      const owner = await ctx.newLinkedItem();
      const user = await ctx.newUser();
      const userId = kind === 'user-not-found' ? `ghost_${randomUUID()}` : user.id;
      const account = kind === 'bluum-account-changed' ? 'acct_other' : user.bluumAccountId;
      const item = kind === 'item-of-another-user' ? owner.bluumItem : ctx.bluumItem();
      const before = await counts(userId);
      const saved = await ctx.writes.saveLinkedItem(userId, account, itemToStore(item), {
        tokenHash: 'c'.repeat(64),
        caller: SYSTEM_CALLER,
      });
      expect(saved).toEqual({ kind });
      expect(await counts(userId)).toEqual(before);
      expect(await counts(owner.user.id)).toEqual({ items: 1, accounts: 1, events: 1 });
    });
  });

  describe('sync', () => {
    // What Bluum says × what is stored → what is stored after, and the event written.
    it.each([
      ['ACTIVE', 'active', 'active', null],
      ['ERROR', 'active', 'error', { from: 'active', to: 'error' }],
      ['DISCONNECTED', 'active', 'disconnected', { from: 'active', to: 'disconnected' }],
      ['ACTIVE', 'error', 'active', { from: 'error', to: 'active' }],
      ['ERROR', 'error', 'error', null],
      // Disconnected here stays disconnected, whatever Bluum says; only a new connect brings it back.
      ['ACTIVE', 'disconnected', 'disconnected', null],
      ['ERROR', 'disconnected', 'disconnected', null],
      ['DISCONNECTED', 'disconnected', 'disconnected', null],
    ] as const)(
      'Bluum %s over a stored %s account leaves it %s',
      async (bluumStatus, stored, expected, change) => {
        const { user, bluumItem, fundingSources } = await ctx.newLinkedItem();
        await ctx.prisma.bankAccount.update({
          where: { id: fundingSources[0].id },
          data: { status: stored },
        });
        const service = ctx.service({
          listItems: () => Promise.resolve([{ ...bluumItem, status: bluumStatus }]),
        });
        const updatedAt = async () =>
          (await ctx.prisma.bankAccount.findUniqueOrThrow({ where: { id: fundingSources[0].id } })).updatedAt;
        const before = await updatedAt();
        const result = await service.sync(user.id, ADMIN_CALLER);
        expect(result.data.map((s) => s.status)).toEqual([expected]);
        // Written only when it changed: deposit services read updatedAt, and the hourly sweep syncs all.
        expect((await updatedAt()).getTime() === before.getTime()).toBe(change === null);
        // The default list, which deposit services read, leaves a disconnected account out.
        const listed = JSON.parse(await service.list(user.id, undefined)) as { data: FundingSource[] };
        expect(listed.data.map((s) => s.status)).toEqual(expected === 'disconnected' ? [] : [expected]);
        expect(result).toMatchObject({ added: 0, updated: change ? 1 : 0 });
        const events = (await eventsOf(user.id)).filter((e) => e.type !== 'linked');
        expect(events.map((e) => e.details)).toEqual(change ? [{ ...change, via: 'sync' }] : []);
      },
    );

    it('writes nothing when Bluum says what is stored: the item and its accounts keep their updatedAt', async () => {
      const { user, bluumItem } = await ctx.newLinkedItem({ accounts: 2 });
      const stamps = async () => {
        const item = await ctx.prisma.plaidItem.findUniqueOrThrow({
          where: { itemId: bluumItem.itemId },
          select: { updatedAt: true, accounts: { select: { updatedAt: true }, orderBy: { id: 'asc' } } },
        });
        return [item.updatedAt, ...item.accounts.map((a) => a.updatedAt)].map((at) => at.getTime());
      };
      const before = await stamps();
      await new Promise((resolve) => setTimeout(resolve, 5));
      const service = ctx.service({ listItems: () => Promise.resolve([bluumItem]) });
      expect(await service.sync(user.id, ADMIN_CALLER)).toMatchObject({ added: 0, updated: 0 });
      expect(await stamps()).toEqual(before);
    });

    it('adds what a lost connect reply left out, once, and takes changed details as updates', async () => {
      const { user, bluumItem } = await ctx.newLinkedItem();
      const lost = ctx.bluumItem({ accounts: 2 });
      const renamed = { ...bluumItem, institutionName: 'Platypus Renamed' };
      const service = ctx.service({ listItems: () => Promise.resolve([renamed, lost]) });
      const first = await service.sync(user.id, ADMIN_CALLER);
      expect(first).toMatchObject({ added: 2, updated: 1 });
      expect(first.data.map((s) => s.institutionName).sort()).toEqual([
        'Platypus Bank',
        'Platypus Bank',
        'Platypus Renamed',
      ]);
      expect(await service.sync(user.id, ADMIN_CALLER)).toMatchObject({ added: 0, updated: 0 });
      expect(await counts(user.id)).toEqual({ items: 2, accounts: 3, events: 4 });
    });

    it("leaves another user's item alone", async () => {
      const owner = await ctx.newLinkedItem();
      const user = await ctx.newUser();
      const service = ctx.service({
        listItems: () => Promise.resolve([{ ...owner.bluumItem, status: 'ERROR' as const }]),
      });
      await expect(service.sync(user.id, ADMIN_CALLER)).resolves.toMatchObject({ data: [], added: 0 });
      expect(await ctx.reads.listByUser(owner.user.id, ['active'])).toHaveLength(1);
    });

    it('clears an expired disconnect lease, and keeps an unexpired one', async () => {
      const expired = await ctx.newLinkedItem();
      const held = await ctx.newLinkedItem({ user: expired.user });
      await ctx.prisma.$executeRaw`
        UPDATE plaid_items SET disconnect_lease_id = gen_random_uuid(),
               disconnect_lease_until = now() + CASE WHEN item_id = ${expired.bluumItem.itemId}
                                                THEN interval '-1 second' ELSE interval '1 hour' END
         WHERE user_id = ${expired.user.id}`;
      const service = ctx.service({ listItems: () => Promise.resolve([expired.bluumItem, held.bluumItem]) });
      await service.sync(expired.user.id, ADMIN_CALLER);
      const leases = await ctx.prisma.plaidItem.findMany({
        where: { userId: expired.user.id },
        select: { itemId: true, disconnectLeaseId: true },
      });
      expect(Object.fromEntries(leases.map((l) => [l.itemId, l.disconnectLeaseId !== null]))).toEqual({
        [expired.bluumItem.itemId]: false,
        [held.bluumItem.itemId]: true,
      });
    });
  });

  describe('disconnect', () => {
    const lease = () => ({ id: randomUUID(), durationMs: 60_000 });

    it('disconnects an account that is not its item’s last one here, without Bluum', async () => {
      const { user, fundingSources } = await ctx.newLinkedItem({ accounts: 2 });
      const begun = await ctx.writes.beginDisconnect(user.id, fundingSources[0].id, lease(), ADMIN_CALLER);
      expect(begun).toMatchObject({
        kind: 'disconnected',
        record: { id: fundingSources[0].id, status: 'disconnected' },
      });
      const [event] = (await eventsOf(user.id)).filter((e) => e.type !== 'linked');
      expect(event).toMatchObject({
        type: 'disconnected',
        actor: ADMIN_CALLER.actor,
        details: { from: 'active', itemDisconnected: false, via: 'disconnect' },
      });
    });

    it('leases the item for an account that is a Bluum funding source of its own even when others stay active, and finishing disconnects it alone', async () => {
      const user = await ctx.newUser();
      const item = ctx.bluumItem({ accounts: 2 });
      const saved = await ctx.saveItem(user, {
        ...item,
        id: null,
        accounts: item.accounts.map((account, index) => ({
          ...account,
          accountId: `fs_${index}_${item.itemId}`,
          fundingSourceId: `fs_${index}_${item.itemId}`,
        })),
      });
      if (saved.kind !== 'saved') throw new Error(saved.kind);
      const [first, second] = saved.linked.fundingSources;
      const begun = await ctx.writes.beginDisconnect(
        user.id,
        first.id,
        { id: randomUUID(), durationMs: 5_000 },
        ADMIN_CALLER,
      );
      if (begun.kind !== 'leased') throw new Error(begun.kind);
      expect(begun.item.accountOnly).toBe(first.bluumFundingSourceId);

      const record = await ctx.writes.finishDisconnect(user.id, first.id, begun.item.id, ADMIN_CALLER, true);
      expect(record.status).toBe('disconnected');
      const stored = await ctx.prisma.plaidItem.findUniqueOrThrow({ where: { id: begun.item.id } });
      expect(stored).toMatchObject({ status: 'active', disconnectLeaseId: null });
      expect((await ctx.reads.listByUser(user.id, ['active'])).map((source) => source.id)).toEqual([
        second.id,
      ]);

      // The last one is one DELETE of its own funding source too (Bluum revokes the item with it), and
      // finishing it takes the item here.
      const last = await ctx.writes.beginDisconnect(
        user.id,
        second.id,
        { id: randomUUID(), durationMs: 5_000 },
        ADMIN_CALLER,
      );
      if (last.kind !== 'leased') throw new Error(last.kind);
      expect(last.item.accountOnly).toBe(second.bluumFundingSourceId);
      await ctx.writes.finishDisconnect(user.id, second.id, last.item.id, ADMIN_CALLER, true);
      expect(await ctx.prisma.plaidItem.findUniqueOrThrow({ where: { id: last.item.id } })).toMatchObject({
        status: 'disconnected',
        disconnectLeaseId: null,
      });
      const events = (await eventsOf(user.id)).filter((e) => e.type === 'disconnected');
      // One event each, in the order they were disconnected.
      expect(events.map((e) => [e.fundingSourceId, e.details])).toEqual([
        [first.id, expect.objectContaining({ itemDisconnected: false })],
        [second.id, expect.objectContaining({ itemDisconnected: true })],
      ]);
    });

    it('leases the last account’s item, makes a second caller wait, and finishing settles the item and the lease', async () => {
      const { user, fundingSources, bluumItem } = await ctx.newLinkedItem();
      const id = fundingSources[0].id;
      const first = await ctx.writes.beginDisconnect(user.id, id, lease(), ADMIN_CALLER);
      expect(first).toMatchObject({
        kind: 'leased',
        item: { itemId: bluumItem.itemId, bluumFundingSourceId: bluumItem.id },
      });
      expect(await ctx.reads.disconnectInProgress(user.id, id)).toBe(true);
      expect(await ctx.writes.beginDisconnect(user.id, id, lease(), ADMIN_CALLER)).toEqual({
        kind: 'in-progress',
      });
      if (first.kind !== 'leased') return;

      const record = await ctx.writes.finishDisconnect(user.id, id, first.item.id, ADMIN_CALLER);
      expect(record).toMatchObject({ id, status: 'disconnected' });
      expect(await ctx.reads.disconnectInProgress(user.id, id)).toBe(false);
      expect(await ctx.prisma.plaidItem.findUnique({ where: { id: first.item.id } })).toMatchObject({
        status: 'disconnected',
        disconnectLeaseId: null,
      });
      // Finishing twice (a holder whose lease was taken over) changes nothing more.
      await ctx.writes.finishDisconnect(user.id, id, first.item.id, ADMIN_CALLER);
      expect((await eventsOf(user.id)).map((e) => [e.type, e.details])).toEqual([
        ['linked', { status: 'active', via: 'connect' }],
        ['disconnected', { from: 'active', itemDisconnected: true, via: 'disconnect' }],
      ]);
      expect(await ctx.writes.beginDisconnect(user.id, id, lease(), ADMIN_CALLER)).toMatchObject({
        kind: 'disconnected',
      });
    });

    it('releases only its own lease, and takes over an expired one', async () => {
      const { user, fundingSources } = await ctx.newLinkedItem();
      const id = fundingSources[0].id;
      const mine = lease();
      const begun = await ctx.writes.beginDisconnect(user.id, id, { ...mine, durationMs: 1 }, ADMIN_CALLER);
      if (begun.kind !== 'leased') throw new Error(begun.kind);
      await ctx.writes.releaseDisconnect(begun.item.id, randomUUID());
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Expired: the next caller leases the item again.
      expect(await ctx.writes.beginDisconnect(user.id, id, lease(), ADMIN_CALLER)).toMatchObject({
        kind: 'leased',
      });
      await ctx.writes.releaseDisconnect(begun.item.id, mine.id);
      expect(await ctx.reads.disconnectInProgress(user.id, id)).toBe(true);
    });

    it("finds nothing for another user's funding source", async () => {
      const { fundingSources } = await ctx.newLinkedItem();
      const stranger = await ctx.newUser();
      expect(
        await ctx.writes.beginDisconnect(stranger.id, fundingSources[0].id, lease(), ADMIN_CALLER),
      ).toEqual({ kind: 'not-found' });
    });
  });

  describe('the service, end to end on the database', () => {
    it('connects once, replays the stored response, and records the caller explicitly', async () => {
      const user = await ctx.newUser();
      const bluumItem = ctx.bluumItem({ accounts: 2 });
      const exchanges: string[] = [];
      const service = ctx.connects({
        exchangePublicToken: (_account, token) => {
          exchanges.push(token);
          return Promise.resolve(bluumItem);
        },
      });
      const caller = { ...ADMIN_CALLER, clientRequestId: 'client-1' };
      const first = await service.connect(user.id, 'public-medium-1', caller);
      const again = await service.connect(user.id, 'public-medium-1', caller);
      expect(first.replayed).toBe(false);
      expect(again).toEqual({ response: first.response, replayed: true });
      expect(exchanges).toHaveLength(1);
      expect((await eventsOf(user.id)).map((e) => [e.actor, e.requestId, e.details])).toEqual(
        first.response.fundingSources.map(() => [
          caller.actor,
          caller.requestId,
          { status: 'active', via: 'connect', clientRequestId: 'client-1' },
        ]),
      );
    });
  });
});

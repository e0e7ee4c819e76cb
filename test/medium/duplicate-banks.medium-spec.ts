// Duplicate banks on a real database: which stored items the duplicate check reads (the user's active
// items at one institution, never another user's), what a connect that stores a duplicate writes in the
// audit trail, and a connect with metadata refused before any Bluum call.
import { createHash, randomUUID } from 'node:crypto';
import type { BluumItem } from '../../src/bluum/bluum.types';
import { AppError } from '../../src/common/app-error';
import { SYSTEM_CALLER } from '../../src/auth/caller';
import { ADMIN_CALLER, MediumContext } from './medium-context';

describe('duplicate banks on a real database', () => {
  let ctx: MediumContext;

  beforeAll(async () => {
    ctx = await MediumContext.open();
  });
  afterAll(() => ctx.close());

  /** Bluum's view of a bank at `institutionId` with the accounts of ctx.bluumItem (masks 1000, 1001, …). */
  const bankAt = (institutionId: string, accounts = 2): BluumItem => ({
    ...ctx.bluumItem({ accounts }),
    institutionId,
  });

  describe('activeItemsAtInstitution', () => {
    it("reads the user's active items at that institution only, each with every account of it", async () => {
      const user = await ctx.newUser();
      const active = await ctx.newLinkedItem({ user, accounts: 2 });
      await ctx.newLinkedItem({ user, accounts: 2, status: 'error' });
      await ctx.newLinkedItem({ user, accounts: 2, status: 'disconnected' });
      const elsewhere = await ctx.saveItem(user, bankAt('ins_4'));
      expect(elsewhere.kind).toBe('saved');
      // Another user's active item at the same institution, with the same accounts.
      await ctx.newLinkedItem({ accounts: 2 });

      const items = await ctx.writes.activeItemsAtInstitution(user.id, 'ins_3');

      expect(items.map((item) => [item.itemId, item.institutionId, item.status])).toEqual([
        [active.item.itemId, 'ins_3', 'active'],
      ]);
      expect(items[0].fundingSources.map((s) => s.id).sort()).toEqual(
        active.fundingSources.map((s) => s.id).sort(),
      );
      expect(await ctx.writes.activeItemsAtInstitution(user.id, 'ins_999')).toEqual([]);
    });

    it("keys an item Bluum names no institution for by the client's claim, which is never stored as Bluum's", async () => {
      const user = await ctx.newUser();
      const unnamed: BluumItem = { ...ctx.bluumItem({ accounts: 2 }), institutionId: null };
      const saved = await ctx.saveItem(user, unnamed, SYSTEM_CALLER, 'ins_claimed');
      expect(saved.kind).toBe('saved');

      const [item] = await ctx.writes.activeItemsAtInstitution(user.id, 'ins_claimed');
      expect(item).toMatchObject({ itemId: unnamed.itemId, institutionId: 'ins_claimed' });
      // What deposit services read is Bluum's word: no institution id.
      const stored = await ctx.prisma.bankAccount.findMany({
        where: { itemId: unnamed.itemId },
        select: { institutionId: true },
      });
      expect(stored.map((row) => row.institutionId)).toEqual([null, null]);
      // A later sync of the same item (no claim) neither erases the claim nor makes it Bluum's.
      const synced = await ctx.saveItem(user, unnamed);
      expect(synced.kind).toBe('saved');
      expect(
        await ctx.prisma.plaidItem.findUnique({
          where: { itemId: unnamed.itemId },
          select: { institutionId: true, claimedInstitutionId: true },
        }),
      ).toEqual({ institutionId: null, claimedInstitutionId: 'ins_claimed' });
      // The same bank again, claimed the same way: the duplicate it is.
      const again = await ctx.saveItem(
        user,
        { ...unnamed, itemId: `${unnamed.itemId}_again` },
        SYSTEM_CALLER,
        'ins_claimed',
      );
      expect(again.kind).toBe('saved');
      const events = await ctx.prisma.fundingSourceEvent.findMany({
        where: { userId: user.id, type: 'linked' },
        select: { details: true },
      });
      expect(
        events.some(
          (e) => (e.details as { duplicateOfItemId?: string }).duplicateOfItemId === unnamed.itemId,
        ),
      ).toBe(true);
    });

    it('includes an account disconnected here, with its status (the rule leaves it out)', async () => {
      const { user, fundingSources } = await ctx.newLinkedItem({ accounts: 2 });
      const begun = await ctx.writes.beginDisconnect(
        user.id,
        fundingSources[0].id,
        { id: randomUUID(), durationMs: 1_000 },
        ADMIN_CALLER,
      );
      expect(begun.kind).toBe('disconnected');

      const [item] = await ctx.writes.activeItemsAtInstitution(user.id, 'ins_3');
      const statusById = new Map(item.fundingSources.map((s) => [s.id, s.status]));
      expect(statusById).toEqual(
        new Map([
          [fundingSources[0].id, 'disconnected'],
          [fundingSources[1].id, 'active'],
        ]),
      );
    });
  });

  describe('saving an item that duplicates an active one', () => {
    const linkedEvents = async (userId: string, fundingSourceIds: string[]) =>
      (
        await ctx.prisma.fundingSourceEvent.findMany({
          where: { userId, type: 'linked', fundingSourceId: { in: fundingSourceIds } },
        })
      ).map((event) => event.details);

    it('stores it, answers duplicateOfItemId, and its linked events name the item it duplicates', async () => {
      const original = await ctx.newLinkedItem({ accounts: 2 });
      const saved = await ctx.saveItem(original.user, ctx.bluumItem({ accounts: 2 }));
      if (saved.kind !== 'saved') throw new Error(saved.kind);

      expect(saved.duplicateOfItemId).toBe(original.item.itemId);
      expect(
        await linkedEvents(
          original.user.id,
          saved.linked.fundingSources.map((s) => s.id),
        ),
      ).toEqual([
        { status: 'active', via: 'connect', duplicateOfItemId: original.item.itemId },
        { status: 'active', via: 'connect', duplicateOfItemId: original.item.itemId },
      ]);
      // The original's own events are as they were.
      expect(
        await linkedEvents(
          original.user.id,
          original.fundingSources.map((s) => s.id),
        ),
      ).toEqual([
        { status: 'active', via: 'connect' },
        { status: 'active', via: 'connect' },
      ]);
    });

    it.each([
      [
        'the same bank in error',
        { status: 'error' as const, accounts: 2 },
        () => ctx.bluumItem({ accounts: 2 }),
      ],
      [
        'the same bank disconnected',
        { status: 'disconnected' as const, accounts: 2 },
        () => ctx.bluumItem({ accounts: 2 }),
      ],
      ['another set of accounts', { accounts: 2 }, () => ctx.bluumItem({ accounts: 3 })],
      ['another institution', { accounts: 2 }, () => bankAt('ins_4')],
    ])('is no duplicate of %s', async (_, existing, next) => {
      const original = await ctx.newLinkedItem(existing);
      const saved = await ctx.saveItem(original.user, next());
      if (saved.kind !== 'saved') throw new Error(saved.kind);
      expect(saved.duplicateOfItemId).toBeNull();
      const details = await linkedEvents(
        original.user.id,
        saved.linked.fundingSources.map((s) => s.id),
      );
      expect(details.length).toBeGreaterThan(0);
      for (const detail of details) expect(detail).not.toHaveProperty('duplicateOfItemId');
    });

    it("is no duplicate of another user's bank, nor of itself connected again", async () => {
      // Another user's active item with the very same institution and accounts.
      await ctx.newLinkedItem({ accounts: 2 });
      const user = await ctx.newUser();
      const first = await ctx.saveItem(user, ctx.bluumItem({ accounts: 2 }));
      if (first.kind !== 'saved') throw new Error(first.kind);
      expect(first.duplicateOfItemId).toBeNull();

      const again = await ctx.saveItem(user, {
        ...ctx.bluumItem({ accounts: 2 }),
        itemId: first.linked.item.itemId,
        accounts: first.linked.fundingSources.map((s) => ({
          accountId: s.accountId,
          fundingSourceId: null,
          accountName: s.accountName,
          accountType: s.accountType,
          accountSubtype: s.accountSubtype,
          mask: s.mask,
        })),
      });
      if (again.kind !== 'saved') throw new Error(again.kind);
      expect(again.duplicateOfItemId).toBeNull();
      expect(await ctx.prisma.plaidItem.count({ where: { userId: user.id } })).toBe(1);
    });
  });

  describe('connect with metadata', () => {
    const metadataOf = (bluumItem: BluumItem) => ({
      institution: { id: bluumItem.institutionId ?? '' },
      accounts: bluumItem.accounts.map((a) => ({ mask: a.mask, name: a.accountName })),
    });

    it('refuses an active duplicate with its funding sources, calls no Bluum method, and gives the token up', async () => {
      const original = await ctx.newLinkedItem({ accounts: 2 });
      // A strict port: any Bluum call fails the test.
      const service = ctx.connects({});
      const publicToken = `public-sandbox-${randomUUID()}`;

      const refused = await service
        .connect(original.user.id, publicToken, ADMIN_CALLER, metadataOf(original.bluumItem))
        .then(
          () => null,
          (err: unknown) => err,
        );

      expect(refused).toBeInstanceOf(AppError);
      const error = refused as AppError;
      expect(error.code).toBe('DUPLICATE_ITEM');
      expect(error.status).toBe(409);
      expect(error.message).not.toContain(publicToken);
      expect(error.fundingSources?.map((s) => s.id).sort()).toEqual(
        original.fundingSources.map((s) => s.id).sort(),
      );
      const tokenHash = createHash('sha256').update(publicToken).digest('hex');
      expect(await ctx.prisma.publicTokenExchange.findUnique({ where: { tokenHash } })).toBeNull();
    });

    it('answers only the accounts still linked', async () => {
      const original = await ctx.newLinkedItem({ accounts: 2 });
      await ctx.writes.beginDisconnect(
        original.user.id,
        original.fundingSources[1].id,
        { id: randomUUID(), durationMs: 1_000 },
        ADMIN_CALLER,
      );
      const metadata = metadataOf(original.bluumItem);
      metadata.accounts = metadata.accounts.slice(0, 1);

      const refused = await ctx
        .connects({})
        .connect(original.user.id, `public-sandbox-${randomUUID()}`, ADMIN_CALLER, metadata)
        .catch((err: unknown) => err as AppError);

      expect(refused).toMatchObject({ code: 'DUPLICATE_ITEM' });
      expect((refused as AppError).fundingSources?.map((s) => [s.id, s.status])).toEqual([
        [original.fundingSources[0].id, 'active'],
      ]);
    });

    it('links a bank whose metadata matches no active item, through Bluum', async () => {
      const original = await ctx.newLinkedItem({ accounts: 2, status: 'error' });
      const relinked = ctx.bluumItem({ accounts: 2 });
      const calls: string[] = [];
      const service = ctx.connects({
        exchangePublicToken: (_account: string, token: string) => {
          calls.push(token);
          return Promise.resolve(relinked);
        },
      });
      const publicToken = `public-sandbox-${randomUUID()}`;

      const result = await service.connect(
        original.user.id,
        publicToken,
        ADMIN_CALLER,
        metadataOf(original.bluumItem),
      );

      expect(calls).toEqual([publicToken]);
      expect(result.replayed).toBe(false);
      expect(result.response.item.itemId).toBe(relinked.itemId);
    });
  });
});

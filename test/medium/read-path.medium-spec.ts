// The deposit services' read path on a real database. A funding source is read from bank_accounts
// alone: each account carries its item's item_id, institution_id, institution_name and
// bluum_funding_source_id. These specs hold those copies to the item's through every write of them
// (connect, sync, the reconciliation sweep, the migration that brought them), and the plans of list,
// get and the admin listing to that one table.
import { PGlite } from '@electric-sql/pglite';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SYSTEM_CALLER } from '../../src/auth/caller';
import type { BluumItem } from '../../src/bluum/bluum.types';
import type { FundingSource } from '../../src/funding-sources/funding-source';
import { applyMigrations } from '../../src/database/embedded-migrations';
import { PrismaService } from '../../src/database/prisma.service';
import { FundingSourceReads } from '../../src/funding-sources/funding-source-reads';
import { ADMIN_CALLER, MediumContext } from './medium-context';

const MIGRATIONS = join(__dirname, '..', '..', 'prisma', 'migrations');
const COPIES_MIGRATION = '20261207000000_item_fields_on_accounts';

const COPIED = {
  itemId: true,
  institutionId: true,
  institutionName: true,
  bluumFundingSourceId: true,
} as const;

describe('the read path on a real database', () => {
  let ctx: MediumContext;

  beforeAll(async () => {
    ctx = await MediumContext.open();
  });
  afterAll(() => ctx.close());

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  /** Every account of the user, oldest first: its copies, and its item's own fields beside them. */
  const accountsOf = (userId: string) =>
    ctx.prisma.bankAccount.findMany({
      where: { userId },
      orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
      select: { id: true, updatedAt: true, ...COPIED, item: { select: COPIED } },
    });

  /** Asserts every account of the user carries exactly its item's fields; returns the accounts. */
  async function expectInStep(userId: string, count: number) {
    const accounts = await accountsOf(userId);
    expect(accounts).toHaveLength(count);
    for (const account of accounts) {
      const { itemId, institutionId, institutionName, bluumFundingSourceId } = account;
      expect({ itemId, institutionId, institutionName, bluumFundingSourceId }).toEqual(account.item);
    }
    return accounts;
  }

  /** The item's and its accounts' updatedAt, in milliseconds. */
  const stamps = async (itemId: string) => {
    const item = await ctx.prisma.plaidItem.findUniqueOrThrow({
      where: { itemId },
      select: { updatedAt: true, accounts: { select: { updatedAt: true }, orderBy: { id: 'asc' } } },
    });
    return [item.updatedAt, ...item.accounts.map((a) => a.updatedAt)].map((at) => at.getTime());
  };

  const listed = async (userId: string) =>
    (JSON.parse(await ctx.service().list(userId, 'all')) as { data: FundingSource[] }).data;

  describe('the copies of the item on its accounts', () => {
    it('connect stores the item and its fields on every account of it', async () => {
      const { user, bluumItem } = await ctx.newLinkedItem({ accounts: 3, institutionName: 'Copy Bank' });
      const accounts = await expectInStep(user.id, 3);
      for (const account of accounts) {
        expect(account).toMatchObject({
          itemId: bluumItem.itemId,
          institutionId: bluumItem.institutionId,
          institutionName: 'Copy Bank',
          bluumFundingSourceId: bluumItem.id,
        });
      }
      for (const source of await listed(user.id)) {
        expect(source).toMatchObject({
          itemId: bluumItem.itemId,
          institutionId: bluumItem.institutionId,
          institutionName: 'Copy Bank',
          bluumFundingSourceId: bluumItem.id,
          plaidOptions: { item_id: bluumItem.itemId },
        });
      }
    });

    it("a sync that changes the item's institution and Bluum funding source id moves every account's copies, those Bluum no longer lists too", async () => {
      const { user, bluumItem, fundingSources } = await ctx.newLinkedItem({ accounts: 2 });
      const changed: BluumItem = {
        ...bluumItem,
        id: randomUUID(),
        institutionId: 'ins_renamed',
        institutionName: 'Platypus Renamed',
        // A change deposit services are told of, so that the webhook's body shows what it carries.
        status: 'ERROR',
        accounts: [bluumItem.accounts[0]],
      };
      const service = ctx.service({ listItems: () => Promise.resolve([changed]) });
      await expect(service.sync(user.id, ADMIN_CALLER)).resolves.toMatchObject({ added: 0, updated: 1 });

      const accounts = await expectInStep(user.id, 2);
      for (const account of accounts) {
        expect(account).toMatchObject({
          itemId: bluumItem.itemId,
          institutionId: 'ins_renamed',
          institutionName: 'Platypus Renamed',
          bluumFundingSourceId: changed.id,
        });
      }
      const read = JSON.parse(await ctx.service().get(user.id, fundingSources[1].id)) as FundingSource;
      expect(read).toMatchObject({ institutionName: 'Platypus Renamed', bluumFundingSourceId: changed.id });
      const events = await ctx.prisma.fundingSourceEvent.findMany({
        where: { userId: user.id, type: 'status_changed' },
      });
      expect(events.map((event) => event.fundingSourceId)).toEqual([fundingSources[0].id]);
      // The webhook's body is read in the same transaction, from the copies just written.
      const [delivery] = await ctx.prisma.webhookDelivery.findMany({
        where: { fundingSourceId: fundingSources[0].id },
        orderBy: { seq: 'desc' },
        take: 1,
      });
      expect(JSON.parse(delivery.payload)).toMatchObject({
        data: { institutionName: 'Platypus Renamed', bluumFundingSourceId: changed.id },
      });
    });

    // A reply may leave the institution id out (the item shape guarantees it not; the investors generation
    // never sends one): what is stored is kept, never erased by a reply that does not say.
    it('the reconciliation sweep takes a new Bluum id onto every account, and keeps the institution id a reply leaves out', async () => {
      const { user, bluumItem } = await ctx.newLinkedItem({ accounts: 2 });
      const changed: BluumItem = { ...bluumItem, id: randomUUID(), institutionId: null };
      const synced = await ctx.writes.syncItems(
        user.id,
        user.bluumAccountId,
        [changed],
        SYSTEM_CALLER,
        'reconcile',
      );
      expect(synced).toMatchObject({ kind: 'synced', added: 0, updated: 2 });
      for (const account of await expectInStep(user.id, 2)) {
        expect(account).toMatchObject({
          institutionId: bluumItem.institutionId,
          bluumFundingSourceId: changed.id,
        });
      }
      for (const source of await listed(user.id)) {
        expect(source).toMatchObject({
          institutionId: bluumItem.institutionId,
          bluumFundingSourceId: changed.id,
        });
      }
    });

    it('a sync that finds nothing new writes nothing: the item and its accounts keep their updatedAt', async () => {
      const { user, bluumItem } = await ctx.newLinkedItem({ accounts: 2 });
      // Once changed (so the copies were written), then the same list again.
      const changed: BluumItem = { ...bluumItem, id: randomUUID(), institutionName: 'Platypus Again' };
      const service = ctx.service({ listItems: () => Promise.resolve([changed]) });
      await expect(service.sync(user.id, ADMIN_CALLER)).resolves.toMatchObject({ updated: 2 });
      const before = await stamps(bluumItem.itemId);
      await sleep(5);
      await expect(service.sync(user.id, ADMIN_CALLER)).resolves.toMatchObject({ added: 0, updated: 0 });
      await expect(
        ctx.writes.syncItems(user.id, user.bluumAccountId, [changed], SYSTEM_CALLER, 'reconcile'),
      ).resolves.toMatchObject({ added: 0, updated: 0 });
      expect(await stamps(bluumItem.itemId)).toEqual(before);
      await expectInStep(user.id, 2);
    });

    it('an account whose copies fell behind its item is brought in line by the next sync, and no other row is written', async () => {
      const { user, bluumItem, fundingSources } = await ctx.newLinkedItem({ accounts: 2 });
      const [behind, steady] = fundingSources.map((source) => source.id);
      // As a version that did not keep every copy would have left it.
      await ctx.prisma.bankAccount.update({
        where: { id: behind },
        data: { bluumFundingSourceId: 'fs_stale', institutionName: 'Stale Bank' },
      });
      const at = async () =>
        new Map((await accountsOf(user.id)).map((account) => [account.id, account.updatedAt.getTime()]));
      const itemAt = async () =>
        (await ctx.prisma.plaidItem.findUniqueOrThrow({ where: { itemId: bluumItem.itemId } })).updatedAt;
      const [accountsBefore, itemBefore] = [await at(), await itemAt()];
      await sleep(5);

      const service = ctx.service({ listItems: () => Promise.resolve([bluumItem]) });
      await expect(service.sync(user.id, ADMIN_CALLER)).resolves.toMatchObject({ added: 0, updated: 1 });

      await expectInStep(user.id, 2);
      const accountsAfter = await at();
      expect(accountsAfter.get(steady)).toBe(accountsBefore.get(steady));
      expect(accountsAfter.get(behind)).toBeGreaterThan(accountsBefore.get(behind) as number);
      expect(await itemAt()).toEqual(itemBefore);
    });

    it("the copies are written in the item's own transaction: when they cannot be, the item keeps its fields", async () => {
      const { user, bluumItem } = await ctx.newLinkedItem({ accounts: 2 });
      // A name no other spec writes; the trigger refuses it on bank_accounts only.
      const refused = `Refused ${randomUUID()}`;
      const fn = `refuse_${randomUUID().replace(/-/g, '')}`;
      await ctx.prisma.$executeRawUnsafe(`
        CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.institution_name = '${refused}' THEN RAISE EXCEPTION 'copy refused'; END IF;
          RETURN NEW;
        END $$`);
      await ctx.prisma.$executeRawUnsafe(
        `CREATE TRIGGER ${fn} BEFORE UPDATE ON bank_accounts FOR EACH ROW EXECUTE FUNCTION ${fn}()`,
      );
      try {
        const renamed: BluumItem = { ...bluumItem, id: randomUUID(), institutionName: refused };
        await expect(
          ctx.writes.syncItems(user.id, user.bluumAccountId, [renamed], ADMIN_CALLER),
        ).rejects.toThrow('copy refused');
      } finally {
        await ctx.prisma.$executeRawUnsafe(`DROP TRIGGER ${fn} ON bank_accounts`);
        await ctx.prisma.$executeRawUnsafe(`DROP FUNCTION ${fn}()`);
      }
      const item = await ctx.prisma.plaidItem.findUniqueOrThrow({ where: { itemId: bluumItem.itemId } });
      expect(item).toMatchObject({ institutionName: 'Platypus Bank', bluumFundingSourceId: bluumItem.id });
      await expectInStep(user.id, 2);
    });
  });

  // With sequential scans and sorts priced out, as in the admin listing's plan specs: a plan that reads
  // another table, or sorts, does so because the statement needs it.
  describe('query plans of what the routes run', () => {
    type PlanNode = {
      'Node Type': string;
      'Relation Name'?: string;
      'Index Name'?: string;
      Plans?: PlanNode[];
    };
    const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

    /** Every statement `read` sends on the read path (PrismaService.queryRows), with its plan. */
    async function plansOf(read: () => Promise<unknown>): Promise<{ text: string; nodes: PlanNode[] }[]> {
      const sent: { text: string; values: readonly unknown[] }[] = [];
      const original = ctx.prisma.queryRows.bind(ctx.prisma);
      // Recorded and passed on: the statements run on the database as they always do.
      const spy = jest.spyOn(ctx.prisma, 'queryRows').mockImplementation((text, values) => {
        sent.push({ text, values });
        return original(text, values);
      });
      try {
        await read();
      } finally {
        spy.mockRestore();
      }
      expect(sent.length).toBeGreaterThan(0);
      return Promise.all(
        sent.map(async ({ text, values }) => {
          const [row] = await ctx.prisma.$transaction(async (tx) => {
            await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
            await tx.$executeRawUnsafe('SET LOCAL enable_sort = off');
            return tx.$queryRawUnsafe<{ 'QUERY PLAN': unknown }[]>(
              `EXPLAIN (FORMAT JSON) ${text}`,
              ...values,
            );
          });
          const plan = row['QUERY PLAN'];
          const [root] = (typeof plan === 'string' ? JSON.parse(plan) : plan) as { Plan: PlanNode }[];
          return { text, nodes: nodes(root.Plan) };
        }),
      );
    }

    const relations = (plan: { nodes: PlanNode[] }) =>
      [...new Set(plan.nodes.flatMap((node) => node['Relation Name'] ?? []))].sort();
    const indexes = (plan: { nodes: PlanNode[] }) => plan.nodes.flatMap((node) => node['Index Name'] ?? []);
    const sorts = (plan: { nodes: PlanNode[] }) => plan.nodes.filter((node) => node['Node Type'] === 'Sort');

    let linked: Awaited<ReturnType<MediumContext['newLinkedItem']>>;
    beforeAll(async () => {
      linked = await ctx.newLinkedItem({ accounts: 3 });
    });

    it.each([
      ['the default statuses', undefined],
      ['every status', 'all' as const],
      ['one status', 'error' as const],
    ])(
      "a user's list (%s) is one walk of (user_id, created_at, id) on bank_accounts, no other table",
      async (_name, status) => {
        const plans = await plansOf(() => ctx.service().list(linked.user.id, status));
        const [list] = plans;
        expect(relations(list)).toEqual(['bank_accounts']);
        expect(indexes(list)).toEqual(['bank_accounts_user_id_created_at_id_idx']);
        expect(sorts(list)).toEqual([]);
      },
    );

    it('one funding source is one index lookup on bank_accounts, no other table', async () => {
      const plans = await plansOf(() => ctx.service().get(linked.user.id, linked.fundingSources[1].id));
      expect(plans).toHaveLength(1);
      expect(relations(plans[0])).toEqual(['bank_accounts']);
      // By id or by user: on a near-empty table, without statistics, the costs of the two tie; either is
      // one index lookup of a handful of rows.
      expect(indexes(plans[0])).toEqual([
        expect.stringMatching(/^bank_accounts_(pkey|user_id_created_at_id_idx)$/),
      ]);
    });

    it.each([
      ['a user', { userId: 'user_1' }],
      ['every user', {}],
      ['a status', { status: 'error' as const }],
    ])('the admin listing by %s reads bank_accounts alone', async (_name, filter) => {
      const plans = await plansOf(() => ctx.adminService().list({ ...filter, limit: 51 }));
      expect(plans.map(relations)).toEqual([['bank_accounts']]);
    });

    it('the admin listing by institution reads the names, then bank_accounts, and never plaid_items', async () => {
      const plans = await plansOf(() => ctx.adminService().list({ institution: 'plat', limit: 51 }));
      expect(plans.map(relations)).toEqual([['bank_accounts', 'institution_names']]);
    });
  });

  // The first start on a new embedded database: PGlite opened before the migrations made the status enum,
  // as the service opens it. Its session then cannot send an enum-array parameter (it sent
  // "active,error", refused as a malformed array): the read path sends text[].
  it('lists by status on an embedded database the service has just migrated', async () => {
    const prisma = new PrismaService(
      { ...ctx.config, databaseUrl: null, embeddedDatabaseDir: 'memory://' },
      null,
    );
    await prisma.onModuleInit();
    try {
      const reads = new FundingSourceReads(prisma);
      await expect(reads.listJsonByUser('nobody', ['active', 'error'])).resolves.toEqual([]);
      await expect(reads.listJsonByUser('nobody', ['disconnected'])).resolves.toEqual([]);
    } finally {
      await prisma.onModuleDestroy();
    }
  });

  // The embedded database's own migration path (applyMigrations), on a database of its own that already
  // holds items and accounts; `npm run db:migrate` sends the same file whole, in one transaction.
  describe(`migration ${COPIES_MIGRATION}`, () => {
    let db: PGlite;
    let before: string;

    beforeAll(async () => {
      before = mkdtempSync(join(tmpdir(), 'migrations-'));
      for (const name of readdirSync(MIGRATIONS)) {
        if (name < COPIES_MIGRATION) cpSync(join(MIGRATIONS, name), join(before, name), { recursive: true });
      }
      db = new PGlite('memory://');
      await applyMigrations(db, before);
    });
    afterAll(async () => {
      await db.close();
      rmSync(before, { recursive: true, force: true });
    });

    it("copies each account's item fields (nulls as nulls, a stale institution name corrected), leaves updated_at, and makes item_id required", async () => {
      await db.exec(`
        INSERT INTO users (id, bluum_account_id, updated_at) VALUES ('u_m', 'acct_m', now());
        INSERT INTO plaid_items (id, user_id, item_id, bluum_funding_source_id, institution_id, institution_name, updated_at)
        VALUES ('00000000-0000-4000-8000-00000000000a', 'u_m', 'item_a', 'fs_a', 'ins_a', 'Bank A', now()),
               ('00000000-0000-4000-8000-00000000000b', 'u_m', 'item_b', NULL, NULL, 'Bank B', now());
        INSERT INTO bank_accounts (id, plaid_item_id, user_id, account_id, name, type, mask, institution_name, updated_at)
        VALUES ('00000000-0000-4000-8000-0000000000a1', '00000000-0000-4000-8000-00000000000a', 'u_m', 'acc_1', 'Checking', 'depository', '0000', 'Bank A', '2020-01-01T00:00:00Z'),
               ('00000000-0000-4000-8000-0000000000a2', '00000000-0000-4000-8000-00000000000a', 'u_m', 'acc_2', 'Saving', 'depository', '1111', 'Bank A (old name)', '2020-01-01T00:00:00Z'),
               ('00000000-0000-4000-8000-0000000000b1', '00000000-0000-4000-8000-00000000000b', 'u_m', 'acc_1', 'Checking', 'depository', '2222', 'Bank B', '2020-01-01T00:00:00Z');
      `);
      await applyMigrations(db, MIGRATIONS);

      const { rows } = await db.query<Record<string, unknown>>(
        `SELECT account_id, item_id, institution_id, institution_name, bluum_funding_source_id,
                updated_at = '2020-01-01T00:00:00Z' AS updated_at_kept
           FROM bank_accounts ORDER BY id`,
      );
      expect(rows).toEqual([
        {
          account_id: 'acc_1',
          item_id: 'item_a',
          institution_id: 'ins_a',
          institution_name: 'Bank A',
          bluum_funding_source_id: 'fs_a',
          updated_at_kept: true,
        },
        {
          account_id: 'acc_2',
          item_id: 'item_a',
          institution_id: 'ins_a',
          institution_name: 'Bank A',
          bluum_funding_source_id: 'fs_a',
          updated_at_kept: true,
        },
        {
          account_id: 'acc_1',
          item_id: 'item_b',
          institution_id: null,
          institution_name: 'Bank B',
          bluum_funding_source_id: null,
          updated_at_kept: true,
        },
      ]);
      await expect(
        db.exec(`INSERT INTO bank_accounts (id, plaid_item_id, user_id, account_id, name, type, mask, institution_name, updated_at)
                 VALUES (gen_random_uuid(), '00000000-0000-4000-8000-00000000000b', 'u_m', 'acc_9', 'X', 'depository', '9', 'Bank B', now())`),
      ).rejects.toThrow(/item_id/);
    });
  });
});

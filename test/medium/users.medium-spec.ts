// Registering users on a real database: one Bluum account belongs to one user (the unique index on
// users.bluum_account_id and the repository's tagged results), also between requests that race, and the
// migration that brings the index to a database that may already break the rule.
import { PGlite } from '@electric-sql/pglite';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyMigrations } from '../../src/database/embedded-migrations';
import { MediumContext } from './medium-context';

const MIGRATIONS = join(__dirname, '..', '..', 'prisma', 'migrations');
const UNIQUE_ACCOUNT_MIGRATION = '20261206000000_unique_bluum_account';

describe('users on a real database', () => {
  let ctx: MediumContext;

  beforeAll(async () => {
    ctx = await MediumContext.open();
  });
  afterAll(() => ctx.close());

  const account = () => `acct_${randomUUID()}`;
  const stored = (id: string) => ctx.prisma.user.findUnique({ where: { id } });

  describe('upsert', () => {
    it('creates a user on a free account, and answers the same pair again unchanged', async () => {
      const id = `user_${randomUUID()}`;
      const bluumAccountId = account();
      const created = await ctx.users.upsert(id, bluumAccountId);
      expect(created).toEqual({
        kind: 'saved',
        created: true,
        user: expect.objectContaining({ id, bluumAccountId }),
      });
      const again = await ctx.users.upsert(id, bluumAccountId);
      expect(again).toEqual({ kind: 'saved', created: false, user: await stored(id) });
    });

    it("refuses a new user on another user's account, and creates nothing", async () => {
      const holder = await ctx.newUser();
      const id = `user_${randomUUID()}`;
      await expect(ctx.users.upsert(id, holder.bluumAccountId)).resolves.toEqual({
        kind: 'bluum-account-taken',
      });
      expect(await stored(id)).toBeNull();
      expect(await stored(holder.id)).toMatchObject({ bluumAccountId: holder.bluumAccountId });
    });

    it("refuses to move a user onto another user's account, and leaves both as they were", async () => {
      const holder = await ctx.newUser();
      const user = await ctx.newUser();
      await expect(ctx.users.upsert(user.id, holder.bluumAccountId)).resolves.toEqual({
        kind: 'bluum-account-taken',
      });
      expect(await stored(user.id)).toMatchObject({ bluumAccountId: user.bluumAccountId });
      expect(await stored(holder.id)).toMatchObject({ bluumAccountId: holder.bluumAccountId });
    });

    it('still moves a user without banks to a free account, and keeps one with banks where it is', async () => {
      const user = await ctx.newUser();
      const free = account();
      await expect(ctx.users.upsert(user.id, free)).resolves.toMatchObject({
        kind: 'saved',
        created: false,
        user: { bluumAccountId: free },
      });
      const linked = (await ctx.newLinkedItem()).user;
      await expect(ctx.users.upsert(linked.id, account())).resolves.toEqual({ kind: 'has-items' });
    });

    // On PostgreSQL these transactions run at once: several find the account free, one update commits
    // and the others meet the unique index (23505), which must come back as a tagged result, not throw.
    // The embedded database runs them one after another; the outcome must be the same.
    it.each([
      ['new users', false],
      ['registered users moving', true],
    ])(
      'of %s asking for one account at once, one gets it and the others are told it is taken',
      async (_name, registered) => {
        const contested = account();
        const ids = await Promise.all(
          Array.from({ length: 12 }, async () =>
            registered ? (await ctx.newUser()).id : `user_${randomUUID()}`,
          ),
        );
        const results = await Promise.all(ids.map((id) => ctx.users.upsert(id, contested)));
        expect(results.filter((r) => r.kind === 'saved')).toHaveLength(1);
        expect(results.filter((r) => r.kind === 'bluum-account-taken')).toHaveLength(ids.length - 1);
        const holders = await ctx.prisma.user.findMany({ where: { bluumAccountId: contested } });
        expect(holders.map((u) => u.id)).toEqual([ids[results.findIndex((r) => r.kind === 'saved')]]);
      },
    );
  });

  // The embedded database's own migration path (applyMigrations), on a database of its own that already
  // holds two users per account; `npm run db:migrate` runs the same file whole, in one transaction.
  describe(`migration ${UNIQUE_ACCOUNT_MIGRATION}`, () => {
    let db: PGlite;
    let before: string;

    beforeAll(async () => {
      // Every migration up to this one.
      before = mkdtempSync(join(tmpdir(), 'migrations-'));
      for (const name of readdirSync(MIGRATIONS)) {
        if (name < UNIQUE_ACCOUNT_MIGRATION)
          cpSync(join(MIGRATIONS, name), join(before, name), { recursive: true });
      }
      db = new PGlite('memory://');
      await applyMigrations(db, before);
    });
    afterAll(async () => {
      await db.close();
      rmSync(before, { recursive: true, force: true });
    });

    it('stops, naming each shared account and its users, and changes nothing; applies once they are apart', async () => {
      await db.exec(`INSERT INTO users (id, bluum_account_id, updated_at) VALUES
        ('u_a1', 'acct_shared_a', now()), ('u_a2', 'acct_shared_a', now()),
        ('u_b1', 'acct_shared_b', now()), ('u_b2', 'acct_shared_b', now()), ('u_b3', 'acct_shared_b', now()),
        ('u_c1', 'acct_own_c', now())`);
      await expect(applyMigrations(db, MIGRATIONS)).rejects.toThrow(
        'these Bluum accounts are each held by more than one user: acct_shared_a (users u_a1, u_a2); acct_shared_b (users u_b1, u_b2, u_b3)',
      );
      const index = `SELECT 1 FROM pg_indexes WHERE indexname = 'users_bluum_account_id_key'`;
      expect((await db.query(index)).rows).toHaveLength(0);
      expect(
        (
          await db.query('SELECT name FROM "_embedded_migrations" WHERE name = $1', [
            UNIQUE_ACCOUNT_MIGRATION,
          ])
        ).rows,
      ).toHaveLength(0);

      await db.exec(
        `UPDATE users SET bluum_account_id = 'acct_own_' || id WHERE id IN ('u_a2', 'u_b2', 'u_b3')`,
      );
      await expect(applyMigrations(db, MIGRATIONS)).resolves.toBe(
        readdirSync(MIGRATIONS).filter((n) => n >= UNIQUE_ACCOUNT_MIGRATION && !n.endsWith('.toml')).length,
      );
      expect((await db.query(index)).rows).toHaveLength(1);
      await expect(
        db.exec(
          `INSERT INTO users (id, bluum_account_id, updated_at) VALUES ('u_d', 'acct_shared_a', now())`,
        ),
      ).rejects.toThrow(/users_bluum_account_id_key/);
    });
  });
});

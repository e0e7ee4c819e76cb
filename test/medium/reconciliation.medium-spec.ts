// The reconciliation sweep's queries on a real database: which users are due and in which order, what
// marks one reconciled, the per-second request budget under concurrent callers, the job lease, and one
// sweep end to end on the real repositories (Bluum a fake of the port).
import { randomUUID } from 'node:crypto';
import type { BluumGateway } from '../../src/bluum/bluum.gateway';
import type { BluumItem } from '../../src/bluum/bluum.types';
import { ScheduledJobsRepository } from '../../src/jobs/scheduled-jobs.repository';
import { MetricsService } from '../../src/metrics/metrics.service';
import {
  type DueUser,
  ReconciliationRepository,
  type WalkCursor,
} from '../../src/reconciliation/reconciliation.repository';
import { RECONCILE_JOB, ReconciliationService } from '../../src/reconciliation/reconciliation.service';
import { MediumContext } from './medium-context';

describe('reconciliation on a real database', () => {
  let ctx: MediumContext;
  let repository: ReconciliationRepository;
  let jobs: ScheduledJobsRepository;

  beforeAll(async () => {
    ctx = await MediumContext.open();
    repository = new ReconciliationRepository(ctx.prisma);
    jobs = new ScheduledJobsRepository(ctx.prisma);
  });
  afterAll(() => ctx.close());

  const setReconciledAt = (userId: string, at: Date | null) =>
    ctx.prisma.user.update({ where: { id: userId }, data: { reconciledAt: at } });

  /** The whole walk for `before`, `limit` users a page; only `mine` kept (a shared database has others'). */
  async function walk(before: Date, limit: number, mine: Set<string>): Promise<string[]> {
    const seen: string[] = [];
    let cursor: WalkCursor | null = null;
    for (;;) {
      const page: DueUser[] = await repository.dueUsers(before, cursor, limit);
      seen.push(...page.map((u) => u.id));
      if (page.length < limit) break;
      cursor = page[page.length - 1];
    }
    expect(new Set(seen).size).toBe(seen.length);
    return seen.filter((id) => mine.has(id));
  }

  describe('which users are due, in which order', () => {
    it('never reconciled first, then least recently reconciled; only users with an item not disconnected', async () => {
      const t = (minutes: number) => new Date(Date.now() - minutes * 60_000);
      const neverA = (await ctx.newLinkedItem()).user;
      const neverB = (await ctx.newLinkedItem({ status: 'error' })).user;
      const old = (await ctx.newLinkedItem()).user;
      const older = (await ctx.newLinkedItem()).user;
      const fresh = (await ctx.newLinkedItem()).user;
      const allDisconnected = (await ctx.newLinkedItem({ status: 'disconnected' })).user;
      const noItems = await ctx.newUser();
      const mixed = (await ctx.newLinkedItem({ status: 'disconnected' })).user;
      await ctx.newLinkedItem({ user: mixed });
      await setReconciledAt(old.id, t(30));
      await setReconciledAt(older.id, t(90));
      await setReconciledAt(fresh.id, t(1));
      await setReconciledAt(mixed.id, t(60));
      const mine = new Set(
        [neverA, neverB, old, older, fresh, allDisconnected, noItems, mixed].map((u) => u.id),
      );

      const before = await repository.now();
      const never = [neverA.id, neverB.id].sort();
      const expected = [...never, older.id, mixed.id, old.id, fresh.id];
      // Pages of one, two and many: the keyset walk finds each once, in the same order.
      for (const limit of [1, 2, 100]) expect(await walk(before, limit, mine)).toEqual(expected);
      // Users reconciled at or after the sweep's start are not due in it.
      expect(await walk(t(2), 100, mine)).toEqual([...never, older.id, mixed.id, old.id]);
    });

    it('marks a user reconciled on the database clock: out of this sweep, last in the next', async () => {
      const a = (await ctx.newLinkedItem()).user;
      const b = (await ctx.newLinkedItem()).user;
      await setReconciledAt(a.id, new Date(Date.now() - 120_000));
      await setReconciledAt(b.id, new Date(Date.now() - 60_000));
      const mine = new Set([a.id, b.id]);
      const sweepStart = await repository.now();

      await repository.markReconciled(a.id);
      const row = await ctx.prisma.user.findUniqueOrThrow({ where: { id: a.id } });
      expect(row.reconciledAt?.getTime()).toBeGreaterThanOrEqual(sweepStart.getTime());
      expect(await walk(sweepStart, 100, mine)).toEqual([b.id]);
      expect(await walk(await repository.now(), 100, mine)).toEqual([b.id, a.id]);
    });
  });

  describe('the per-second request budget', () => {
    it('grants at most the limit per second to many concurrent callers, and tells the rest when to retry', async () => {
      const subject = `bluum-requests:medium-${randomUUID()}`;
      // Start early in a second, so the calls land in one (the guard refuses the last 50 ms of each).
      await new Promise((resolve) => setTimeout(resolve, 1_010 - (Date.now() % 1_000)));
      const answers = await Promise.all(
        Array.from({ length: 25 }, () => repository.takeRequestSlot(subject, 10, 50)),
      );
      const granted = answers.filter((a) => a.granted).length;
      const rows = await ctx.prisma.rateLimitCounter.findMany({ where: { subject } });
      for (const row of rows) expect(row.count).toBeLessThanOrEqual(10);
      expect(rows.reduce((sum, row) => sum + row.count, 0)).toBe(granted);
      if (rows.length === 1) expect(granted).toBe(10);
      for (const answer of answers) {
        if (!answer.granted) {
          expect(answer.waitMs).toBeGreaterThan(0);
          expect(answer.waitMs).toBeLessThanOrEqual(1_000);
        }
      }
      // After waiting as told, slots are granted again.
      const refused = answers.find((a) => !a.granted);
      if (refused && !refused.granted)
        await new Promise((resolve) => setTimeout(resolve, refused.waitMs + 5));
      await expect(repository.takeRequestSlot(subject, 10, 50)).resolves.toEqual({ granted: true });
    });

    it('refuses every slot in the last moments of a second', async () => {
      const subject = `bluum-requests:medium-${randomUUID()}`;
      // A guard of 999 ms leaves less than 1 ms of each second: nothing is granted.
      const answer = await repository.takeRequestSlot(subject, 10, 999);
      expect(answer.granted).toBe(false);
      expect(await ctx.prisma.rateLimitCounter.count({ where: { subject } })).toBe(0);
    });
  });

  describe("the sweep's lease", () => {
    const job = () => `medium-job-${randomUUID()}`;

    it('is renewed by its holder, and lost for good once another instance took the run over', async () => {
      const name = job();
      const lease = await jobs.claimLease(name, 60_000, 60_000);
      expect(lease).not.toBeNull();
      await expect(jobs.claimLease(name, 60_000, 60_000)).resolves.toBeNull();
      const renewed = await jobs.extend(name, lease as string, 60_000);
      expect(renewed).not.toBeNull();

      // The holder stalled past its lease and the next run came: another instance takes it.
      await ctx.prisma.scheduledJob.update({
        where: { name },
        data: { leaseUntil: new Date(Date.now() - 1_000), nextRunAt: new Date(Date.now() - 1_000) },
      });
      const taken = await jobs.claimLease(name, 60_000, 60_000);
      expect(taken).not.toBeNull();
      await expect(jobs.extend(name, renewed as string, 60_000)).resolves.toBeNull();
      // The old holder's release leaves the new holder's lease alone; the new holder's own ends it.
      await jobs.release(name, renewed as string);
      expect(
        (await ctx.prisma.scheduledJob.findUniqueOrThrow({ where: { name } })).leaseUntil,
      ).not.toBeNull();
      await jobs.release(name, taken as string);
      expect((await ctx.prisma.scheduledJob.findUniqueOrThrow({ where: { name } })).leaseUntil).toBeNull();
    });
  });

  describe('a sweep on the real repositories', () => {
    // Bluum's lists by account; any account not here (another spec's user) lists nothing.
    const lists = new Map<string, BluumItem[] | Error>();
    const calls: string[] = [];
    const bluum = {
      listItems: (accountId: string) => {
        calls.push(accountId);
        const list = lists.get(accountId) ?? [];
        return list instanceof Error ? Promise.reject(list) : Promise.resolve(list);
      },
    } as unknown as BluumGateway;
    const sweeper = () =>
      new ReconciliationService(repository, jobs, ctx.writes, bluum, new MetricsService(ctx.prisma), {
        ...ctx.config,
        reconcileIntervalSeconds: 3_600,
        bluumMaxRequestsPerSecond: 1_000,
      });
    beforeEach(async () => {
      calls.length = 0;
      await ctx.prisma.scheduledJob.deleteMany({ where: { name: RECONCILE_JOB } });
    });

    it("takes Bluum's status with an audit event by system, and two instances at once sweep once", async () => {
      const broken = await ctx.newLinkedItem({ accounts: 2 });
      const steady = await ctx.newLinkedItem();
      const failing = await ctx.newLinkedItem();
      lists.set(broken.user.bluumAccountId, [{ ...broken.bluumItem, status: 'ERROR' }]);
      lists.set(steady.user.bluumAccountId, [steady.bluumItem]);
      lists.set(failing.user.bluumAccountId, new Error('Bluum is unavailable'));

      const results = await Promise.all([sweeper().runIfDue(), sweeper().runIfDue()]);

      const ran = results.filter((r) => r !== null);
      expect(ran).toHaveLength(1);
      expect(ran[0]).toMatchObject({ outcome: 'complete' });
      expect(ran[0]?.changed).toBeGreaterThanOrEqual(1);
      expect(ran[0]?.failed).toBeGreaterThanOrEqual(1);
      for (const user of [broken.user, steady.user, failing.user]) {
        expect(calls.filter((account) => account === user.bluumAccountId)).toHaveLength(1);
      }
      const accounts = await ctx.prisma.bankAccount.findMany({ where: { userId: broken.user.id } });
      expect(accounts.map((a) => a.status)).toEqual(['error', 'error']);
      const events = await ctx.prisma.fundingSourceEvent.findMany({
        where: { userId: broken.user.id, type: 'status_changed' },
      });
      expect(events).toHaveLength(2);
      for (const event of events) {
        expect(event.actor).toEqual({ subject: 'system', role: null, scope: '' });
        expect(event.details).toMatchObject({ from: 'active', to: 'error', via: 'reconcile' });
      }
      const reconciled = await ctx.prisma.user.findMany({
        where: { id: { in: [broken.user.id, steady.user.id, failing.user.id] } },
        select: { id: true, reconciledAt: true },
      });
      const at = new Map(reconciled.map((u) => [u.id, u.reconciledAt]));
      expect(at.get(broken.user.id)).not.toBeNull();
      expect(at.get(steady.user.id)).not.toBeNull();
      // The failed user keeps its place: first in line next sweep.
      expect(at.get(failing.user.id)).toBeNull();
      // Not due again within the interval, on either instance.
      calls.length = 0;
      await expect(sweeper().runIfDue()).resolves.toBeNull();
      expect(calls).toEqual([]);
    });
  });
});

// The reconciliation sweep on a real database: which users are due and in which order, what marks one
// reconciled, the per-second request budget under concurrent callers, the job lease, one user reconciled
// (the sweep's unit of work) on the real repositories, and one whole sweep on a database of its own
// (Bluum a fake of the port throughout).
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
import { ReconcileSweep } from '../../src/reconciliation/reconcile-sweep';
import { RECONCILE_JOB, ReconciliationService } from '../../src/reconciliation/reconciliation.service';
import { SweepPacer } from '../../src/reconciliation/sweep-pacer';
import { SweepRun } from '../../src/reconciliation/sweep-run';
import { UserReconciler } from '../../src/reconciliation/user-reconciler';
import { BluumUnavailableError } from '../../src/bluum/bluum-errors';
import { FakeClock } from '../support/fake-clock';
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

    it('is claimed by exactly one of many instances claiming at once', async () => {
      const name = job();
      const claims = await Promise.all(
        Array.from({ length: 6 }, () => jobs.claimLease(name, 60_000, 60_000)),
      );
      expect(claims.filter((lease) => lease !== null)).toHaveLength(1);
    });

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

  /** A fake of the Bluum port's list: each account's items, or the error its call fails with. */
  function fakeBluum() {
    const lists = new Map<string, BluumItem[] | Error | (() => Promise<BluumItem[]>)>();
    const calls: string[] = [];
    const bluum = {
      listItems: (accountId: string) => {
        calls.push(accountId);
        const list = lists.get(accountId) ?? [];
        if (typeof list === 'function') return list();
        return list instanceof Error ? Promise.reject(list) : Promise.resolve(list);
      },
    } as unknown as BluumGateway;
    return { lists, calls, bluum };
  }

  /** The sweep's classes on `on`'s real repositories, calling `bluum`, on `clock` (real by default). */
  function sweepOn(on: MediumContext, bluum: BluumGateway, clock?: FakeClock) {
    const config = { ...on.config, reconcileIntervalSeconds: 3_600, bluumMaxRequestsPerSecond: 1_000 };
    const repo = new ReconciliationRepository(on.prisma);
    const pacer = new SweepPacer(repo, config, clock);
    const reconciler = new UserReconciler(repo, on.writes, bluum, pacer);
    const sweep = new ReconcileSweep(repo, reconciler, pacer, new MetricsService(on.prisma), clock);
    return {
      reconciler,
      service: () => new ReconciliationService(new ScheduledJobsRepository(on.prisma), sweep, config),
    };
  }

  // The unit of work, called directly for this spec's own users: nothing else in the database is read
  // or written, so it runs on the shared PostgreSQL too.
  describe('one user reconciled', () => {
    const reconciledAt = async (userId: string) =>
      (await ctx.prisma.user.findUniqueOrThrow({ where: { id: userId } })).reconciledAt;
    const dueUser = (user: { id: string; bluumAccountId: string }) => ({ ...user, reconciledAt: null });

    it("takes Bluum's status with an audit event by system, marks the user reconciled, and writes nothing when nothing changed", async () => {
      const { lists, calls, bluum } = fakeBluum();
      const linked = await ctx.newLinkedItem({ accounts: 2 });
      lists.set(linked.user.bluumAccountId, [{ ...linked.bluumItem, status: 'ERROR' }]);
      const { reconciler } = sweepOn(ctx, bluum);
      const before = await repository.now();

      await expect(reconciler.reconcile(dueUser(linked.user))).resolves.toBe('changed');

      expect(calls).toEqual([linked.user.bluumAccountId]);
      const accounts = await ctx.prisma.bankAccount.findMany({ where: { userId: linked.user.id } });
      expect(accounts.map((a) => a.status)).toEqual(['error', 'error']);
      const events = await ctx.prisma.fundingSourceEvent.findMany({
        where: { userId: linked.user.id, type: 'status_changed' },
      });
      expect(events).toHaveLength(2);
      for (const event of events) {
        expect(event.actor).toEqual({ subject: 'system', role: null, scope: '' });
        expect(event.requestId).toBeNull();
        expect(event.details).toMatchObject({ from: 'active', to: 'error', via: 'reconcile' });
      }
      expect((await reconciledAt(linked.user.id))?.getTime()).toBeGreaterThanOrEqual(before.getTime());

      // Again, with nothing new at Bluum: no write, no event.
      const updatedAt = accounts.map((a) => a.updatedAt.getTime());
      await expect(reconciler.reconcile(dueUser(linked.user))).resolves.toBe('unchanged');
      const again = await ctx.prisma.bankAccount.findMany({ where: { userId: linked.user.id } });
      expect(again.map((a) => a.updatedAt.getTime())).toEqual(updatedAt);
      expect(await ctx.prisma.fundingSourceEvent.count({ where: { userId: linked.user.id } })).toBe(4);
    });

    it('leaves a user Bluum fails for as it was, not marked, for the next sweep', async () => {
      const { lists, bluum } = fakeBluum();
      const linked = await ctx.newLinkedItem();
      lists.set(linked.user.bluumAccountId, new Error('Bluum is unavailable'));
      const { reconciler } = sweepOn(ctx, bluum);

      await expect(reconciler.reconcile(dueUser(linked.user))).resolves.toBe('failed');

      expect(await reconciledAt(linked.user.id)).toBeNull();
      const [account] = await ctx.prisma.bankAccount.findMany({ where: { userId: linked.user.id } });
      expect(account.status).toBe('active');
    });

    it('leaves an item Bluum lists that is stored for another user alone, and reconciles the rest', async () => {
      const { lists, bluum } = fakeBluum();
      const other = await ctx.newLinkedItem();
      const linked = await ctx.newLinkedItem();
      lists.set(linked.user.bluumAccountId, [linked.bluumItem, { ...other.bluumItem, status: 'ERROR' }]);
      const { reconciler } = sweepOn(ctx, bluum);

      await expect(reconciler.reconcile(dueUser(linked.user))).resolves.toBe('unchanged');

      const [account] = await ctx.prisma.bankAccount.findMany({ where: { userId: other.user.id } });
      expect(account.status).toBe('active');
      expect(await reconciledAt(linked.user.id)).not.toBeNull();
    });

    it("waits out Bluum's Retry-After for the run's every call, three attempts at most, with no real wait", async () => {
      const { lists, calls, bluum } = fakeBluum();
      const linked = await ctx.newLinkedItem();
      const clock = new FakeClock();
      // The fake clock's times of each call. The per-second budget lives on the database's real clock, so
      // a call near a second's end may wait a real moment (fake time moves by it): times are read, not assumed.
      const calledAt: number[] = [];
      lists.set(linked.user.bluumAccountId, () => {
        calledAt.push(clock.now());
        return calledAt.length === 1
          ? Promise.reject(new BluumUnavailableError('Bluum is unavailable (HTTP 429).', 2_000))
          : Promise.resolve([{ ...linked.bluumItem, status: 'ERROR' }]);
      });
      const { reconciler } = sweepOn(ctx, bluum, clock);
      const run = new SweepRun();

      await expect(reconciler.reconcile(dueUser(linked.user), run)).resolves.toBe('changed');
      expect(calls).toHaveLength(2);
      expect(run.pausedUntil).toBe(calledAt[0] + 2_000);
      expect(calledAt[1]).toBeGreaterThanOrEqual(calledAt[0] + 2_000);

      // Refused every time: given up after the third attempt, left for the next sweep.
      const stubborn = await ctx.newLinkedItem();
      lists.set(stubborn.user.bluumAccountId, new BluumUnavailableError('429', 500));
      calls.length = 0;
      await expect(reconciler.reconcile(dueUser(stubborn.user), run)).resolves.toBe('failed');
      expect(calls).toHaveLength(3);
      expect(await reconciledAt(stubborn.user.id)).toBeNull();
    });
  });

  // The whole sweep (lease, walk, workers) reconciles every due user in the database: on a database of
  // its own, so that no other spec's users are walked.
  describe('a whole sweep, on a database of its own', () => {
    let own: MediumContext;
    beforeAll(async () => {
      own = await MediumContext.open({ ownDatabase: true });
    });
    afterAll(() => own.close());

    it('reconciles every due user once, by two instances at once, and not again within the interval', async () => {
      const { lists, calls, bluum } = fakeBluum();
      const broken = await own.newLinkedItem({ accounts: 2 });
      const steady = await own.newLinkedItem();
      const failing = await own.newLinkedItem();
      const gone = await own.newLinkedItem({ status: 'disconnected' });
      lists.set(broken.user.bluumAccountId, [{ ...broken.bluumItem, status: 'ERROR' }]);
      lists.set(steady.user.bluumAccountId, [steady.bluumItem]);
      lists.set(failing.user.bluumAccountId, new Error('Bluum is unavailable'));
      const sweeper = sweepOn(own, bluum);

      const results = await Promise.all([sweeper.service().runIfDue(), sweeper.service().runIfDue()]);

      const ran = results.filter((r) => r !== null);
      expect(ran).toHaveLength(1);
      expect(ran[0]).toMatchObject({ outcome: 'complete', checked: 3, changed: 1, failed: 1 });
      // Each due user's list once; a user with nothing but disconnected items is not due.
      expect([...calls].sort()).toEqual(
        [broken.user.bluumAccountId, steady.user.bluumAccountId, failing.user.bluumAccountId].sort(),
      );
      expect(calls).not.toContain(gone.user.bluumAccountId);
      const accounts = await own.prisma.bankAccount.findMany({ where: { userId: broken.user.id } });
      expect(accounts.map((a) => a.status)).toEqual(['error', 'error']);
      const reconciled = await own.prisma.user.findMany({ select: { id: true, reconciledAt: true } });
      const at = new Map(reconciled.map((u) => [u.id, u.reconciledAt]));
      expect(at.get(broken.user.id)).not.toBeNull();
      expect(at.get(steady.user.id)).not.toBeNull();
      // The failed user keeps its place: first in line next sweep.
      expect(at.get(failing.user.id)).toBeNull();
      // Not due again within the interval, on either instance.
      calls.length = 0;
      await expect(sweeper.service().runIfDue()).resolves.toBeNull();
      await expect(sweeper.service().runIfDue()).resolves.toBeNull();
      expect(calls).toEqual([]);
      expect(await own.prisma.scheduledJob.count({ where: { name: RECONCILE_JOB } })).toBe(1);
    });
  });
});

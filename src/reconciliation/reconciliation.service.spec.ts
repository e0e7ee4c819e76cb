import { Logger } from '@nestjs/common';
import { SYSTEM_CALLER } from '../auth/caller';
import { BluumUnavailableError } from '../bluum/bluum-errors';
import type { BackgroundCall, BluumGateway } from '../bluum/bluum.gateway';
import type { BluumItem } from '../bluum/bluum.types';
import { AppError } from '../common/app-error';
import { loadConfig } from '../config/app-config';
import type { PrismaService } from '../database/prisma.service';
import type { FundingSourceWrites, SyncItemsResult } from '../funding-sources/funding-source-writes';
import type { ScheduledJobsRepository } from '../jobs/scheduled-jobs.repository';
import { MetricsService } from '../metrics/metrics.service';
import type { DueUser, ReconciliationRepository, RequestSlot, WalkCursor } from './reconciliation.repository';
import { ReconcileSweep } from './reconcile-sweep';
import { RECONCILE_JOB, ReconciliationService } from './reconciliation.service';
import { BLUUM_REQUESTS_SUBJECT, SweepPacer } from './sweep-pacer';
import { UserReconciler } from './user-reconciler';
import { markFromDatabase } from '../database/database-errors';
import { FakeClock } from '../../test/support/fake-clock';

// A fake whose every method not given fails the test when called.
function strict<T extends object>(name: string, methods: Partial<T>): T {
  return new Proxy(methods, {
    get(target, prop: string) {
      if (prop in target) return target[prop as keyof T];
      if (prop === 'then') return undefined;
      throw new Error(`unexpected call: ${name}.${prop}`);
    },
  }) as T;
}

const users = (count: number): DueUser[] =>
  Array.from({ length: count }, (_, i) => ({
    id: `user_${String(i).padStart(4, '0')}`,
    bluumAccountId: `acct_${i}`,
    reconciledAt: null,
  }));

const synced = (updated = 0): SyncItemsResult => ({ kind: 'synced', added: 0, updated, skipped: [] });
// As the pool throws it: marked as the database's (only such errors count as an outage).
const dbDown = (): Error =>
  markFromDatabase(Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }));

interface Setup {
  due?: DueUser[];
  listItems?: (accountId: string, call?: BackgroundCall) => Promise<BluumItem[]>;
  syncItems?: (userId: string) => Promise<SyncItemsResult>;
  takeRequestSlot?: () => Promise<RequestSlot>;
  dueUsers?: ReconciliationRepository['dueUsers'];
  claimed?: boolean;
  extend?: () => Promise<string | null>;
  /** The sweep's clock: real unless a test drives the waits itself. */
  clock?: FakeClock;
}

function setup(options: Setup = {}) {
  const due = options.due ?? users(3);
  const log = {
    bluum: [] as { accountId: string; at: number; call?: BackgroundCall }[],
    synced: [] as unknown[][],
    marked: [] as string[],
    cursors: [] as (WalkCursor | null)[],
    released: [] as string[],
    slots: 0,
  };
  const repository = strict<ReconciliationRepository>('repository', {
    now: () => Promise.resolve(new Date('2026-11-29T12:00:00Z')),
    dueUsers:
      options.dueUsers ??
      ((_before, after, limit) => {
        log.cursors.push(after);
        const start = after === null ? 0 : due.findIndex((u) => u.id === after.id) + 1;
        return Promise.resolve(due.slice(start, start + limit));
      }),
    markReconciled: (userId) => {
      log.marked.push(userId);
      return Promise.resolve();
    },
    takeRequestSlot: (subject, limit, guardMs) => {
      log.slots++;
      expect([subject, limit, guardMs]).toEqual([BLUUM_REQUESTS_SUBJECT, 7, 250]);
      return options.takeRequestSlot?.() ?? Promise.resolve({ granted: true });
    },
    pruneRequestSlots: () => Promise.resolve(),
  });
  const jobs = strict<ScheduledJobsRepository>('jobs', {
    claimLease: (name, everyMs) => {
      expect([name, everyMs]).toEqual([RECONCILE_JOB, 3_600_000]);
      return Promise.resolve(options.claimed === false ? null : 'lease-1');
    },
    extend: () => options.extend?.() ?? Promise.resolve('lease-2'),
    release: (name, lease) => {
      log.released.push(`${name}:${lease}`);
      return Promise.resolve();
    },
  });
  const fundingSources = strict<FundingSourceWrites>('fundingSources', {
    syncItems: (...args: unknown[]) => {
      log.synced.push(args);
      return options.syncItems?.(args[0] as string) ?? Promise.resolve(synced());
    },
  });
  const bluum = strict<BluumGateway>('bluum', {
    listItems: (accountId: string, call?: BackgroundCall) => {
      log.bluum.push({ accountId, at: options.clock?.now() ?? Date.now(), call });
      return options.listItems?.(accountId, call) ?? Promise.resolve([]);
    },
  });
  const metrics = new MetricsService({ pool: null, readPool: null } as unknown as PrismaService);
  const config = loadConfig({
    NODE_ENV: 'test',
    RECONCILE_INTERVAL_SECONDS: '3600',
    BLUUM_MAX_REQUESTS_PER_SECOND: '7',
  });
  const pacer = new SweepPacer(repository, config, options.clock);
  const reconciler = new UserReconciler(repository, fundingSources, bluum, pacer);
  const sweep = new ReconcileSweep(repository, reconciler, pacer, metrics, options.clock);
  const sut = new ReconciliationService(jobs, sweep, config);
  return { sut, log, metrics };
}

describe('ReconciliationService', () => {
  let warnings: string[];
  beforeEach(() => {
    warnings = [];
    jest.spyOn(Logger.prototype, 'warn').mockImplementation((message: unknown) => {
      warnings.push(String(message));
    });
    jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('walks every due user in the walk order, page after page, by sync rules as system', async () => {
    const due = users(230);
    const { sut, log, metrics } = setup({
      due,
      syncItems: (userId) => Promise.resolve(synced(userId === 'user_0005' ? 2 : 0)),
    });

    const result = await sut.runIfDue();

    expect(result).toMatchObject({ checked: 230, changed: 1, failed: 0, outcome: 'complete' });
    // Two at a time, so calls start in the walk's order.
    expect(log.bluum.map((call) => call.accountId)).toEqual(due.map((u) => u.bluumAccountId));
    expect(log.bluum.every((call) => call.call?.background === true && call.call.signal)).toBe(true);
    expect(log.marked).toEqual(due.map((u) => u.id));
    // Pages of 100, each after the last user of the one before.
    expect(log.cursors.map((c) => c?.id ?? null)).toEqual([null, 'user_0099', 'user_0199']);
    expect(log.synced[5]).toEqual(['user_0005', 'acct_5', [], SYSTEM_CALLER, 'reconcile']);
    expect(log.slots).toBe(230);
    expect(log.released).toEqual([`${RECONCILE_JOB}:lease-1`]);
    const text = await metrics.registry.metrics();
    expect(text).toContain('reconcile_users_total{outcome="unchanged"} 229');
    expect(text).toContain('reconcile_users_total{outcome="changed"} 1');
    expect(text).toContain('reconcile_sweeps_total{outcome="complete"} 1');
    expect(text).toMatch(/reconcile_last_sweep_timestamp_seconds \d+/);
  });

  it('does nothing when another instance holds the run or it is not due', async () => {
    const { sut, log } = setup({ claimed: false });
    await expect(sut.runIfDue()).resolves.toBeNull();
    expect(log.bluum).toHaveLength(0);
    expect(log.released).toHaveLength(0);
  });

  it("isolates one user's failure: logged, not marked, and the others go on", async () => {
    const due = users(4);
    const { sut, log, metrics } = setup({
      due,
      listItems: (accountId) =>
        accountId === 'acct_1'
          ? Promise.reject(new AppError('BLUUM_TIMEOUT', 'Bluum did not answer in time.'))
          : Promise.resolve([]),
      syncItems: (userId) =>
        Promise.resolve(userId === 'user_0002' ? { kind: 'bluum-account-changed' } : synced()),
    });

    const result = await sut.runIfDue();

    expect(result).toMatchObject({ checked: 4, changed: 0, failed: 2, outcome: 'complete' });
    expect(log.marked).toEqual(['user_0000', 'user_0003']);
    expect(warnings).toEqual(
      expect.arrayContaining([
        expect.stringContaining('user user_0001 not reconciled (BLUUM_TIMEOUT'),
        expect.stringContaining('user user_0002 not reconciled (bluum-account-changed)'),
      ]),
    );
    expect(await metrics.registry.metrics()).toContain('reconcile_users_total{outcome="failed"} 2');
  });

  it("pauses every one of the sweep's calls for Bluum's Retry-After, then retries that user", async () => {
    const due = users(4);
    let refused = false;
    const clock = new FakeClock();
    const { sut, log } = setup({
      due,
      clock,
      listItems: (accountId) => {
        if (accountId === 'acct_0' && !refused) {
          refused = true;
          return Promise.reject(new BluumUnavailableError('Bluum is unavailable (HTTP 429).', 300));
        }
        return Promise.resolve([]);
      },
    });

    const result = await sut.runIfDue();

    expect(result).toMatchObject({ checked: 4, failed: 0, outcome: 'complete' });
    expect(log.marked.sort()).toEqual(due.map((u) => u.id));
    const refusedAt = log.bluum[0].at;
    // The other worker's call was already on its way; every call after it waited out the pause.
    const later = log.bluum.slice(2);
    expect(later.length).toBe(3);
    for (const call of later) expect(call.at - refusedAt).toBeGreaterThanOrEqual(290);
    expect(log.bluum.filter((call) => call.accountId === 'acct_0')).toHaveLength(2);
  });

  it('gives a user up for this sweep after Bluum asked it to wait three times', async () => {
    const { sut, log } = setup({
      due: users(1),
      listItems: () => Promise.reject(new BluumUnavailableError('429', 10)),
    });
    await expect(sut.runIfDue()).resolves.toMatchObject({ checked: 1, failed: 1 });
    expect(log.bluum).toHaveLength(3);
    expect(log.marked).toEqual([]);
  });

  it('waits for the next second when the shared per-second budget is spent', async () => {
    const answers: RequestSlot[] = [
      { granted: false, waitMs: 80 },
      { granted: false, waitMs: 80 },
      { granted: true },
    ];
    const clock = new FakeClock();
    const started = clock.now();
    const { sut, log } = setup({
      due: users(1),
      clock,
      takeRequestSlot: () => Promise.resolve(answers.shift() ?? { granted: true }),
    });
    await expect(sut.runIfDue()).resolves.toMatchObject({ checked: 1, failed: 0 });
    expect(log.slots).toBe(3);
    // Each refusal's wait, to just past the second's end, and no more.
    expect(clock.sleeps).toEqual([81, 81]);
    expect(log.bluum[0].at - started).toBe(162);
  });

  it('ends the sweep on a database outage with a warning, and lets the lease go', async () => {
    let pages = 0;
    const due = users(150);
    const { sut, log, metrics } = setup({
      due,
      dueUsers: () => (pages++ === 0 ? Promise.resolve(due.slice(0, 100)) : Promise.reject(dbDown())),
    });
    const result = await sut.runIfDue();
    expect(result).toMatchObject({ checked: 100, outcome: 'database_unavailable' });
    expect(warnings.some((w) => w.includes('ended early (database_unavailable)'))).toBe(true);
    expect(log.released).toEqual([`${RECONCILE_JOB}:lease-1`]);
    expect(await metrics.registry.metrics()).toContain(
      'reconcile_sweeps_total{outcome="database_unavailable"} 1',
    );
  });

  it('ends the sweep when the database fails while a user is reconciled, without counting that user', async () => {
    const { sut, log } = setup({
      due: users(5),
      syncItems: (userId) => (userId === 'user_0001' ? Promise.reject(dbDown()) : Promise.resolve(synced())),
    });
    const result = await sut.runIfDue();
    expect(result?.outcome).toBe('database_unavailable');
    expect(log.marked).not.toContain('user_0001');
    // The other worker finishes the user it had; no user is started after the outage.
    expect(log.bluum.length).toBeLessThanOrEqual(3);
  });

  it('renews its lease while it works, and stops when another instance has taken the run over', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate'] });
    try {
      const renewals: string[] = [];
      const answers = ['lease-2', null];
      const { sut, log } = setup({
        due: users(3),
        extend: () => {
          const next = answers.shift() ?? null;
          renewals.push(String(next));
          return Promise.resolve(next);
        },
        // Bluum never answers: only the sweep's end lets go of the call.
        listItems: (_accountId, call) =>
          new Promise((_resolve, reject) =>
            call?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
          ),
      });
      const sweeping = sut.runIfDue();
      await jest.advanceTimersByTimeAsync(30_000);
      expect(renewals).toEqual(['lease-2']);
      await jest.advanceTimersByTimeAsync(30_000);
      await expect(sweeping).resolves.toMatchObject({ outcome: 'lease_lost', checked: 0 });
      expect(renewals).toEqual(['lease-2', 'null']);
      expect(log.marked).toEqual([]);
      // The run is another instance's now: its lease is not released by this one.
      expect(log.released).toEqual([]);
      expect(warnings.some((w) => w.includes('ended early (lease_lost)'))).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  it('stops a sweep in flight promptly on shutdown, abandoning the call to Bluum', async () => {
    const { sut, log } = setup({
      due: users(10),
      listItems: (_accountId, call) =>
        new Promise((_resolve, reject) =>
          call?.signal?.addEventListener('abort', () => reject(new Error('aborted'))),
        ),
    });
    const sweeping = sut.runIfDue();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    await sut.onModuleDestroy();
    await expect(sweeping).resolves.toMatchObject({ checked: 0, outcome: 'stopped' });
    expect(Date.now() - started).toBeLessThan(500);
    expect(log.marked).toEqual([]);
    expect(log.released).toEqual([`${RECONCILE_JOB}:lease-1`]);
    // And no new sweep starts after that.
    await expect(sut.runIfDue()).resolves.toBeNull();
  });
});

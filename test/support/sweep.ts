// Running the reconciliation sweep from an e2e spec. `sweepNow` sweeps one spec's own users (those
// whose id starts with `prefix_`), through the sweep's own workers and pacing but scoped to them
// (ReconcileSweep.sweepUsers): no other spec's users are read or written, whatever runs beside it.
// A spec that needs the scheduled sweep itself (its lease, its walk of every due user) makes it due
// with makeSweepDue inside withSweepsLocked.
import { Client } from 'pg';
import { type ReconcileSweepResult, ReconcileSweep } from '../../src/reconciliation/reconcile-sweep';
import type { DueUser } from '../../src/reconciliation/reconciliation.repository';
import { RECONCILE_JOB } from '../../src/reconciliation/reconciliation.service';
import type { TestApp } from './test-app';

// Any number no other test takes as an advisory lock.
const SWEEP_LOCK = 4_101_994;

/**
 * Runs `work` while no other spec file runs the scheduled sweep (on PostgreSQL; an embedded database
 * is the spec's own). Make the sweep due and run it inside `work`.
 */
export async function withSweepsLocked<T>(work: () => Promise<T>): Promise<T> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) return work();
  const lock = new Client({ connectionString: url });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [SWEEP_LOCK]);
    return await work();
  } finally {
    await lock.end();
  }
}

/**
 * Makes the scheduled sweep due now, over the users whose id starts with `prefix_`: on a shared
 * PostgreSQL every other user is marked reconciled a day ahead so the walk passes it by, and this
 * prefix's users that another spec marked so are due again (a real sweep never dates a user ahead).
 * Only the scheduled sweep reads reconciled_at. Call it inside withSweepsLocked.
 */
export async function makeSweepDue(app: TestApp, prefix: string): Promise<void> {
  await app.prisma.scheduledJob.deleteMany({ where: { name: RECONCILE_JOB } });
  if (process.env.TEST_DATABASE_URL) {
    const own = `${prefix}_`;
    await app.prisma.$executeRaw`
      UPDATE users SET reconciled_at = now() + interval '1 day'
       WHERE NOT starts_with(id, ${own}) AND (reconciled_at IS NULL OR reconciled_at < now() + interval '1 hour')`;
    await app.prisma.$executeRaw`
      UPDATE users SET reconciled_at = NULL WHERE starts_with(id, ${own}) AND reconciled_at > now()`;
  }
}

/** Sweeps the users whose id starts with `prefix_` (in id order) on `app`, and no other. */
export async function sweepNow(app: TestApp, prefix: string): Promise<ReconcileSweepResult> {
  const users = await app.prisma.$queryRaw<DueUser[]>`
    SELECT id, bluum_account_id AS "bluumAccountId", reconciled_at AS "reconciledAt"
      FROM users WHERE starts_with(id, ${`${prefix}_`}) ORDER BY id`;
  return app.app.get(ReconcileSweep).sweepUsers(users);
}

// Running the reconciliation sweep from an e2e spec: its timer's first look is a minute away, so specs
// make a sweep due and run it themselves. On a PostgreSQL shared by spec files running side by side,
// one spec's sweep must not walk, or hide, another's users: sweeps run one at a time (an advisory lock)
// over the users of one id prefix.
import { Client } from 'pg';
import { RECONCILE_JOB, ReconciliationService } from '../../src/reconciliation/reconciliation.service';
import type { TestApp } from './test-app';

// Any number no other test takes as an advisory lock.
const SWEEP_LOCK = 4_101_994;

/**
 * Runs `work` while no other spec file sweeps (on PostgreSQL; an embedded database is the spec's own).
 * Make the sweep due and run it inside `work`.
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
 * Makes a sweep due now, over the users whose id starts with `prefix_`: on a shared PostgreSQL every
 * other user is marked reconciled a day ahead so the walk passes it by, and this prefix's users that
 * another spec marked so are due again (a real sweep never dates a user ahead). Only the sweep reads
 * reconciled_at. Call it inside withSweepsLocked.
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

/** Makes a sweep due now and runs it on `app`, over the users whose id starts with `prefix_`. */
export function sweepNow(app: TestApp, prefix: string) {
  return withSweepsLocked(async () => {
    await makeSweepDue(app, prefix);
    return app.app.get(ReconciliationService).runIfDue();
  });
}

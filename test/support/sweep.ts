// Running the reconciliation sweep from an e2e spec: its timer's first look is a minute away, so specs
// make a sweep due and run it themselves.
import { RECONCILE_JOB, ReconciliationService } from '../../src/reconciliation/reconciliation.service';
import type { TestApp } from './test-app';

/**
 * Makes a sweep due now. On a PostgreSQL shared with other spec files, their users would be swept too
 * (at the spec's rate): users whose id does not start with `prefix_` are marked reconciled a day
 * ahead, so the walk passes them by. Only the sweep reads reconciled_at.
 */
export async function makeSweepDue(app: TestApp, prefix: string): Promise<void> {
  await app.prisma.scheduledJob.deleteMany({ where: { name: RECONCILE_JOB } });
  if (process.env.TEST_DATABASE_URL) {
    await app.prisma.$executeRaw`
      UPDATE users SET reconciled_at = now() + interval '1 day'
       WHERE NOT starts_with(id, ${`${prefix}_`}) AND (reconciled_at IS NULL OR reconciled_at < now() + interval '1 hour')`;
  }
}

/** Makes a sweep due now and runs it on `app`, over the users whose id starts with `prefix_`. */
export async function sweepNow(app: TestApp, prefix: string) {
  await makeSweepDue(app, prefix);
  return app.app.get(ReconciliationService).runIfDue();
}

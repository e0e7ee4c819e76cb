import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';

/** A held run of a job (see `claimLease`). */
export type JobLease = string;

/**
 * Schedules of background jobs, kept in PostgreSQL so that any number of instances run each job once per
 * interval: a run is claimed by moving the job's next run forward, in one statement, on the database's
 * clock. Whoever's statement updates the row runs the job; the others find it not due.
 */
@Injectable()
export class ScheduledJobsRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Claims the job's run if it is due (never run, or its next run has come) and no other run holds an
   * unexpired lease; the next run is then `everyMs` from now. Returns the lease (null when not claimed),
   * which the holder renews with `extend` if its run may outlast `leaseMs`, and ends with `release`. The lease is the expiry the database wrote, as
   * text: an instance that took the run over after it expired wrote another, so the old holder's
   * renewals find nothing and it knows it lost the run.
   */
  async claimLease(name: string, everyMs: number, leaseMs: number): Promise<JobLease | null> {
    await this.prisma.$executeRaw`
      INSERT INTO scheduled_jobs (name, next_run_at) VALUES (${name}, now()) ON CONFLICT (name) DO NOTHING`;
    const [claimed] = await this.prisma.$queryRaw<{ lease: string }[]>`
      UPDATE scheduled_jobs
         SET next_run_at = now() + ${everyMs} * interval '1 millisecond',
             lease_until = now() + ${leaseMs} * interval '1 millisecond'
       WHERE name = ${name} AND next_run_at <= now() AND (lease_until IS NULL OR lease_until <= now())
      RETURNING lease_until::text AS lease`;
    return claimed?.lease ?? null;
  }

  /** Renews a held lease for `leaseMs` from now; the new lease, or null when the run is no longer ours. */
  async extend(name: string, lease: JobLease, leaseMs: number): Promise<JobLease | null> {
    const [renewed] = await this.prisma.$queryRaw<{ lease: string }[]>`
      UPDATE scheduled_jobs SET lease_until = now() + ${leaseMs} * interval '1 millisecond'
       WHERE name = ${name} AND lease_until = ${lease}::timestamptz
      RETURNING lease_until::text AS lease`;
    return renewed?.lease ?? null;
  }

  /** Ends a claimed run (its lease), only while it is still this holder's; the next run stays where the claim put it. */
  async release(name: string, lease: JobLease): Promise<void> {
    await this.prisma.$executeRaw`
      UPDATE scheduled_jobs SET lease_until = NULL WHERE name = ${name} AND lease_until = ${lease}::timestamptz`;
  }
}

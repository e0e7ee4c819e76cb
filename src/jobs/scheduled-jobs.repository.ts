import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';

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
   * unexpired lease; the next run is then `everyMs` from now. True when this caller claimed it.
   */
  async claim(name: string, everyMs: number, leaseMs: number): Promise<boolean> {
    await this.prisma.$executeRaw`
      INSERT INTO scheduled_jobs (name, next_run_at) VALUES (${name}, now()) ON CONFLICT (name) DO NOTHING`;
    const claimed = await this.prisma.$executeRaw`
      UPDATE scheduled_jobs
         SET next_run_at = now() + ${everyMs} * interval '1 millisecond',
             lease_until = now() + ${leaseMs} * interval '1 millisecond'
       WHERE name = ${name} AND next_run_at <= now() AND (lease_until IS NULL OR lease_until <= now())`;
    return claimed === 1;
  }

  /** Ends a claimed run (its lease); the next run stays where the claim put it. */
  async finish(name: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE scheduled_jobs SET lease_until = NULL WHERE name = ${name}`;
  }
}

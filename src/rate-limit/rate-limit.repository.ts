import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';

@Injectable()
export class RateLimitRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Counts one hit for `subject` in the current one-minute window (the database's clock) and returns
   * the count so far and the seconds left in the window. One statement, so concurrent hits from any
   * number of instances are all counted.
   */
  async hit(subject: string): Promise<{ count: number; secondsLeft: number }> {
    const [row] = await this.prisma.$queryRaw<{ count: number; seconds_left: number }[]>`
      INSERT INTO rate_limit_counters (subject, window_start, count)
      VALUES (${subject}, date_trunc('minute', now()), 1)
      ON CONFLICT (subject, window_start) DO UPDATE SET count = rate_limit_counters.count + 1
      RETURNING count, CEIL(EXTRACT(EPOCH FROM (window_start + interval '1 minute' - now())))::int AS seconds_left`;
    // Past windows are never read again; each subject clears its own.
    await this.prisma.$executeRaw`
      DELETE FROM rate_limit_counters WHERE subject = ${subject} AND window_start < now() - interval '2 minutes'`;
    return { count: row.count, secondsLeft: Math.max(1, row.seconds_left) };
  }

  /**
   * Adds each subject's count to its window's shared count, every subject in one statement, and answers
   * each one's total so far: every instance's.
   */
  async addHits(window: Date, counts: ReadonlyMap<string, number>): Promise<Map<string, number>> {
    if (counts.size === 0) return new Map();
    const rows = await this.prisma.$queryRaw<{ subject: string; count: number }[]>`
      INSERT INTO rate_limit_counters (subject, window_start, count)
      SELECT subject, ${window}::timestamptz, hits
        FROM unnest(${[...counts.keys()]}::text[], ${[...counts.values()]}::int[]) AS c(subject, hits)
      ON CONFLICT (subject, window_start) DO UPDATE SET count = rate_limit_counters.count + EXCLUDED.count
      RETURNING subject, count`;
    return new Map(rows.map((row) => [row.subject, row.count]));
  }
}

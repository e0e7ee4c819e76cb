import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';

/** A user the sweep is to reconcile, and where the walk stands after it. */
export interface DueUser {
  id: string;
  bluumAccountId: string;
  /** null: never reconciled. With `id`, the walk's keyset cursor. */
  reconciledAt: Date | null;
}

/** Where the walk stands: after this user (in the order of `dueUsers`). */
export type WalkCursor = Pick<DueUser, 'id' | 'reconciledAt'>;

export type RequestSlot = { granted: true } | { granted: false; waitMs: number };

// Users with an item that is not disconnected: the only ones Bluum can tell anything new about.
const HAS_OPEN_ITEM = `EXISTS (SELECT 1 FROM plaid_items i WHERE i.user_id = u.id AND i.status <> 'disconnected')`;

// Queries only, on the write pool (the read pool is kept for the deposit services); the sweep
// (ReconcileSweep, UserReconciler, SweepPacer) decides what to do with what they return. Times are the
// database's clock, shared by every instance.
@Injectable()
export class ReconciliationRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** The database's clock: a sweep's start, before which a user's last reconciliation makes it due. */
  async now(): Promise<Date> {
    const [row] = await this.prisma.$queryRaw<{ now: Date }[]>`SELECT now() AS now`;
    return row.now;
  }

  /**
   * The next `limit` users due (never reconciled, or last before `before`) that have an item not
   * disconnected, after `after`, least recently reconciled first: the never reconciled by id, then the
   * rest by (reconciled_at, id). Both phases are keyset walks of users (reconciled_at, id). A user
   * reconciled since `before` is not due; one that failed keeps its place and is passed by the cursor.
   */
  async dueUsers(before: Date, after: WalkCursor | null, limit: number): Promise<DueUser[]> {
    const rows: DueUser[] = [];
    if (after === null || after.reconciledAt === null) {
      rows.push(
        ...(await this.prisma.$queryRawUnsafe<DueUser[]>(
          `SELECT u.id, u.bluum_account_id AS "bluumAccountId", u.reconciled_at AS "reconciledAt"
             FROM users u
            WHERE u.reconciled_at IS NULL AND u.id > $1 AND ${HAS_OPEN_ITEM}
            ORDER BY u.reconciled_at, u.id LIMIT $2`,
          after?.id ?? '',
          limit,
        )),
      );
      if (rows.length === limit) return rows;
    }
    // Past the never-reconciled ones: from the start of the dated ones, or after the cursor.
    const from = after?.reconciledAt ? after : { reconciledAt: new Date(0), id: '' };
    rows.push(
      ...(await this.prisma.$queryRawUnsafe<DueUser[]>(
        `SELECT u.id, u.bluum_account_id AS "bluumAccountId", u.reconciled_at AS "reconciledAt"
           FROM users u
          WHERE u.reconciled_at < $1::timestamptz
            AND (u.reconciled_at, u.id) > ($2::timestamptz, $3)
            AND ${HAS_OPEN_ITEM}
          ORDER BY u.reconciled_at, u.id LIMIT $4`,
        before,
        from.reconciledAt,
        from.id,
        limit - rows.length,
      )),
    );
    return rows;
  }

  /** Records that the user was just brought in line with Bluum (it moves to the end of the walk). */
  async markReconciled(userId: string): Promise<void> {
    await this.prisma.$executeRaw`UPDATE users SET reconciled_at = now() WHERE id = ${userId}`;
  }

  /**
   * Takes one of `limit` request slots of the current second (the database's clock, so every instance
   * counts into the same row of rate_limit_counters), or says how long until the next second. No slot
   * is granted in the last `guardMs` of a second: a call then could reach Bluum in the next one, which
   * is counted apart. One statement: concurrent callers on any instance never take more than `limit`.
   */
  async takeRequestSlot(subject: string, limit: number, guardMs: number): Promise<RequestSlot> {
    const [row] = await this.prisma.$queryRaw<{ count: number | null; ms_left: number }[]>`
      WITH t AS (SELECT clock_timestamp() AS at),
      slot AS (
        INSERT INTO rate_limit_counters (subject, window_start, count)
        SELECT ${subject}, date_trunc('second', t.at), 1 FROM t
         WHERE 1000 - mod(extract(milliseconds FROM t.at), 1000) > ${guardMs}::int
        ON CONFLICT (subject, window_start) DO UPDATE SET count = rate_limit_counters.count + 1
         WHERE rate_limit_counters.count < ${limit}::int
        RETURNING count)
      SELECT (SELECT count FROM slot) AS count,
             (1000 - mod(extract(milliseconds FROM t.at), 1000))::float8 AS ms_left
        FROM t`;
    return row.count !== null ? { granted: true } : { granted: false, waitMs: Math.max(1, row.ms_left) };
  }

  /** Removes this subject's past seconds (the retention sweep would, within the hour). */
  async pruneRequestSlots(subject: string): Promise<void> {
    await this.prisma.$executeRaw`
      DELETE FROM rate_limit_counters WHERE subject = ${subject} AND window_start < now() - interval '1 minute'`;
  }
}

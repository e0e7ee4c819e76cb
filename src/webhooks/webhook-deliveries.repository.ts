import { Injectable } from '@nestjs/common';
import { PrismaService, retryConflicts } from '../database/prisma.service';
import type { Prisma } from '../generated/prisma/client';
import type { WebhookDeliveryStatus } from './webhook-events';

/** A delivery claimed for one attempt: `attempts` counts this one, and guards the outcome's write. */
export interface ClaimedDelivery {
  id: string;
  eventId: string;
  fundingSourceId: string;
  /** Its place in the order events happened (a bigint, as text). */
  seq: string;
  url: string;
  payload: string;
  attempts: number;
  giveUpAt: Date;
}

const DELIVERY_SELECT = {
  id: true,
  eventId: true,
  eventType: true,
  fundingSourceId: true,
  url: true,
  status: true,
  attempts: true,
  nextAttemptAt: true,
  giveUpAt: true,
  lastAttemptAt: true,
  lastResponseStatus: true,
  lastError: true,
  deliveredAt: true,
  createdAt: true,
} as const satisfies Prisma.WebhookDeliverySelect;

/** A delivery as admins see it (the payload stays in the outbox). */
export type WebhookDeliveryRecord = Prisma.WebhookDeliveryGetPayload<{ select: typeof DELIVERY_SELECT }>;

export type RequeueResult =
  | { kind: 'requeued'; delivery: WebhookDeliveryRecord }
  | { kind: 'pending' }
  | { kind: 'superseded' }
  | { kind: 'not-found' };

// Queries only; when to retry and when to give up is decided by the dispatcher (webhook-events.ts).
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(private readonly prisma: PrismaService) {}

  /**
   * Claims up to `limit` due deliveries to `urls` for one attempt each, across instances (SKIP LOCKED):
   * each is the oldest pending one of its funding source and receiver, so events go out in order. A
   * claim moves the delivery's next attempt `leaseMs` ahead: if this instance dies mid-attempt, it is
   * tried again then. An instance delivers only to the receivers it is configured with.
   */
  async claimDue(urls: readonly string[], limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    return this.prisma.$queryRaw<ClaimedDelivery[]>`
      WITH due AS (
        SELECT c.id FROM webhook_deliveries c
         WHERE c.status = 'pending' AND c.next_attempt_at <= now() AND c.url = ANY(${urls}::text[])
           AND NOT EXISTS (
             SELECT 1 FROM webhook_deliveries e
              WHERE e.status = 'pending' AND e.funding_source_id = c.funding_source_id
                AND e.url = c.url AND e.seq < c.seq)
         ORDER BY c.next_attempt_at, c.seq
         LIMIT ${limit}
         FOR UPDATE SKIP LOCKED)
      UPDATE webhook_deliveries d
         SET attempts = d.attempts + 1,
             last_attempt_at = now(),
             next_attempt_at = now() + ${leaseMs} * interval '1 millisecond'
        FROM due
       WHERE d.id = due.id
      RETURNING d.id, d.event_id AS "eventId", d.funding_source_id AS "fundingSourceId", d.seq::text AS seq,
                d.url, d.payload, d.attempts, d.give_up_at AS "giveUpAt"`;
  }

  /** Records a 2xx. Only the attempt's own claim is settled (`attempts` matches). */
  async markDelivered(claimed: ClaimedDelivery, responseStatus: number): Promise<void> {
    await this.prisma.webhookDelivery.updateMany({
      where: { id: claimed.id, attempts: claimed.attempts, status: 'pending' },
      data: {
        status: 'delivered',
        deliveredAt: new Date(),
        lastResponseStatus: responseStatus,
        lastError: null,
      },
    });
  }

  /**
   * Records a failed attempt: tried again at `retryAt`, or marked failed when it is null. The funding
   * source's later events to the same receiver wait for it (in order): they are made due no sooner than
   * its retry, so that while a receiver is down the claim does not look at them again on every poll.
   */
  async markAttemptFailed(
    claimed: ClaimedDelivery,
    failure: { responseStatus: number | null; error: string },
    retryAt: Date | null,
  ): Promise<void> {
    // A Prisma query runs when awaited, so each attempt below builds its own.
    const record = () =>
      this.prisma.webhookDelivery.updateMany({
        where: { id: claimed.id, attempts: claimed.attempts, status: 'pending' },
        data: {
          lastResponseStatus: failure.responseStatus,
          lastError: failure.error.slice(0, 255),
          ...(retryAt === null ? { status: 'failed' } : { nextAttemptAt: retryAt }),
        },
      });
    if (retryAt === null) {
      await record();
      return;
    }
    // Two statements that another attempt may lock in the other order: run again after a deadlock.
    await retryConflicts(() =>
      this.prisma.$transaction([
        record(),
        this.prisma.$executeRaw`
          UPDATE webhook_deliveries SET next_attempt_at = GREATEST(next_attempt_at, ${retryAt})
           WHERE status = 'pending' AND funding_source_id = ${claimed.fundingSourceId}::uuid
             AND url = ${claimed.url} AND seq > ${claimed.seq}::bigint`,
      ]),
    );
  }

  /** One page of deliveries, newest first (ties by id), after `after` when given. */
  async listPage(filter: {
    status?: WebhookDeliveryStatus;
    limit: number;
    after?: { createdAt: Date; id: string };
  }): Promise<WebhookDeliveryRecord[]> {
    const { status, after } = filter;
    return this.prisma.webhookDelivery.findMany({
      where: {
        ...(status ? { status } : {}),
        ...(after
          ? {
              OR: [
                { createdAt: { lt: after.createdAt } },
                { createdAt: after.createdAt, id: { lt: after.id } },
              ],
            }
          : {}),
      },
      orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
      take: filter.limit,
      select: DELIVERY_SELECT,
    });
  }

  /**
   * Puts a delivered or failed delivery back in the queue, due now, with a fresh 24 h of retries
   * (`giveUpAfterMs`) and its attempts counted from zero; a pending one is already queued. One that a
   * later event of its funding source supersedes stays as it is: sent again, its older state would undo
   * the later one at a receiver that no longer knows it. The funding source's counter says so rather than
   * the later event's delivery row to this receiver: the retention sweep removes delivered rows (after 7
   * days) long before failed ones (30), and an old failed event is just what an admin would retry. (It
   * also refuses an event whose later one was recorded while this receiver was not configured: its older
   * state would be as stale there.) A later event that commits while this runs is queued behind it.
   */
  async requeue(id: string, giveUpAfterMs: number): Promise<RequeueResult> {
    const [target] = await this.prisma.$queryRaw<
      { pending: boolean; superseded: boolean; requeued: boolean }[]
    >`
      WITH target AS (
        SELECT d.id, d.status = 'pending' AS pending,
               d.sequence < COALESCE(
                 (SELECT b.event_sequence FROM bank_accounts b WHERE b.id = d.funding_source_id), 0
               ) AS superseded
          FROM webhook_deliveries d
         WHERE d.id = ${id}::uuid),
      requeued AS (
        UPDATE webhook_deliveries d
           SET status = 'pending', attempts = 0, next_attempt_at = now(),
               give_up_at = now() + ${giveUpAfterMs} * interval '1 millisecond', delivered_at = NULL
          FROM target t
         WHERE d.id = t.id AND NOT t.pending AND NOT t.superseded AND d.status <> 'pending'
        RETURNING d.id)
      SELECT t.pending, t.superseded, EXISTS (SELECT 1 FROM requeued) AS requeued FROM target t`;
    if (!target) return { kind: 'not-found' };
    if (target.requeued) {
      const delivery = await this.prisma.webhookDelivery.findUniqueOrThrow({
        where: { id },
        select: DELIVERY_SELECT,
      });
      return { kind: 'requeued', delivery };
    }
    if (target.superseded && !target.pending) return { kind: 'superseded' };
    // Pending, or made pending by another retry meanwhile.
    return { kind: 'pending' };
  }
}

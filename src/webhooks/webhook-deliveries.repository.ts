import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';
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
  { kind: 'requeued'; delivery: WebhookDeliveryRecord } | { kind: 'pending' } | { kind: 'not-found' };

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
    const recorded = this.prisma.webhookDelivery.updateMany({
      where: { id: claimed.id, attempts: claimed.attempts, status: 'pending' },
      data: {
        lastResponseStatus: failure.responseStatus,
        lastError: failure.error.slice(0, 255),
        ...(retryAt === null ? { status: 'failed' } : { nextAttemptAt: retryAt }),
      },
    });
    if (retryAt === null) {
      await recorded;
      return;
    }
    await this.prisma.$transaction([
      recorded,
      this.prisma.$executeRaw`
        UPDATE webhook_deliveries SET next_attempt_at = GREATEST(next_attempt_at, ${retryAt})
         WHERE status = 'pending' AND funding_source_id = ${claimed.fundingSourceId}::uuid
           AND url = ${claimed.url} AND seq > ${claimed.seq}::bigint`,
    ]);
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
   * (`giveUpAfterMs`) and its attempts counted from zero; a pending one is already queued.
   */
  async requeue(id: string, giveUpAfterMs: number): Promise<RequeueResult> {
    const [row] = await this.prisma.$queryRaw<{ id: string }[]>`
      UPDATE webhook_deliveries
         SET status = 'pending', attempts = 0, next_attempt_at = now(),
             give_up_at = now() + ${giveUpAfterMs} * interval '1 millisecond', delivered_at = NULL
       WHERE id = ${id}::uuid AND status <> 'pending'
      RETURNING id`;
    const delivery = await this.prisma.webhookDelivery.findUnique({ where: { id }, select: DELIVERY_SELECT });
    if (!delivery) return { kind: 'not-found' };
    return row ? { kind: 'requeued', delivery } : { kind: 'pending' };
  }
}

import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { Actor, Caller } from '../auth/caller';
import { PrismaService, type Transaction } from '../database/prisma.service';
import type { Prisma } from '../generated/prisma/client';
import { webhookEventType, webhookPayload } from '../webhooks/webhook-events';
import { WebhookOutbox } from '../webhooks/webhook-outbox';
import { type FundingSourceEventType, type FundingSourceRecord, toFundingSource } from './funding-source';
import { FUNDING_SOURCE_SELECT, toRecord } from './funding-source-rows';
import { type Change, type ChangeVia, eventRows } from './reconcile';

const EVENT_SELECT = {
  id: true,
  type: true,
  fundingSourceId: true,
  actor: true,
  requestId: true,
  at: true,
  details: true,
} as const satisfies Prisma.FundingSourceEventSelect;

/** An audit event as stored. */
export type FundingSourceEventRow = Omit<
  Prisma.FundingSourceEventGetPayload<{ select: typeof EVENT_SELECT }>,
  'type' | 'actor' | 'details'
> & { type: FundingSourceEventType; actor: Actor; details: Record<string, unknown> };

/**
 * The audit trail and what deposit services are told of it. `record` runs inside the transaction of
 * the change it records (the caller's `tx`), so an event, and its webhook deliveries, exist exactly
 * when the change committed. Which audit events are published is webhookEventType's rule; their bodies
 * are rendered here once, and stored as they will be sent.
 */
@Injectable()
export class FundingSourceEvents {
  constructor(
    private readonly prisma: PrismaService,
    private readonly outbox: WebhookOutbox,
  ) {}

  /** One page of a user's audit trail, newest first (ties by id), after `after` when given. */
  async list(
    userId: string,
    limit: number,
    after?: { createdAt: Date; id: string },
  ): Promise<FundingSourceEventRow[]> {
    const rows = await this.prisma.fundingSourceEvent.findMany({
      where: {
        userId,
        ...(after
          ? { OR: [{ at: { lt: after.createdAt } }, { at: after.createdAt, id: { lt: after.id } }] }
          : {}),
      },
      orderBy: [{ at: 'desc' }, { id: 'desc' }],
      take: limit,
      select: EVENT_SELECT,
    });
    // Only `record` writes these columns: one of the event types, an Actor, an object of details.
    return rows.map((row) => ({
      ...row,
      type: row.type as FundingSourceEventType,
      actor: row.actor as unknown as Actor,
      details: row.details as Record<string, unknown>,
    }));
  }

  /**
   * Writes the audit events of a change and, for those deposit services are told of, the outbox's
   * deliveries, in the change's own transaction. The audit event's id is the delivery's `webhook-id`.
   * Call it after the change, so the events carry the funding sources as they now are; `current` is
   * what the caller has just read of them, when it has.
   */
  async record(
    tx: Transaction,
    userId: string,
    changes: Change[],
    via: ChangeVia,
    caller: Caller,
    current?: ReadonlyMap<string, FundingSourceRecord>,
  ): Promise<void> {
    if (changes.length === 0) return;
    const rows = eventRows(userId, changes, via, caller).map((row) => ({ id: randomUUID(), ...row }));
    await tx.fundingSourceEvent.createMany({
      data: rows.map((row) => ({
        ...row,
        actor: { ...row.actor },
        details: row.details as Prisma.InputJsonObject,
      })),
    });
    if (!this.outbox.enabled) return;
    const published = rows.flatMap((row) => {
      const type = webhookEventType(row.type);
      return type === null ? [] : [{ eventId: row.id, type, fundingSourceId: row.fundingSourceId }];
    });
    if (published.length === 0) return;
    // What the caller has just read, or the funding sources as the change left them.
    const byId =
      current ??
      new Map(
        (
          await tx.bankAccount.findMany({
            where: { id: { in: published.map((event) => event.fundingSourceId) } },
            select: FUNDING_SOURCE_SELECT,
          })
        ).map((row) => [row.id, toRecord(row)]),
      );
    const sequences = await nextEventSequences(
      tx,
      published.map((event) => event.fundingSourceId),
    );
    const at = new Date();
    await this.outbox.enqueue(
      tx,
      published.map(({ eventId, type, fundingSourceId }, index) => ({
        eventId,
        type,
        fundingSourceId,
        sequence: sequences[index],
        at,
        payload: webhookPayload(
          type,
          at,
          sequences[index],
          toFundingSource(byId.get(fundingSourceId) as FundingSourceRecord),
        ),
      })),
    );
  }
}

/**
 * The next `sequence` of each event's funding source, in the events' order (one funding source may have
 * several). The counter is bumped on the funding source's own row in the change's transaction: a change
 * of the same funding source on any instance waits for that row lock, so sequences only grow in the
 * order changes commit (and the outbox rows they write queue in that order too).
 */
async function nextEventSequences(tx: Transaction, fundingSourceIds: readonly string[]): Promise<number[]> {
  const counts = new Map<string, number>();
  for (const id of fundingSourceIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  const bumped = await tx.$queryRaw<{ id: string; last: number }[]>`
    UPDATE bank_accounts b SET event_sequence = b.event_sequence + c.n
      FROM unnest(${[...counts.keys()]}::uuid[], ${[...counts.values()]}::int[]) AS c(id, n)
     WHERE b.id = c.id
    RETURNING b.id::text AS id, b.event_sequence AS last`;
  // The last sequence handed out so far, per funding source; each event takes the next one.
  const given = new Map(bumped.map(({ id, last }) => [id, last - (counts.get(id) as number)]));
  return fundingSourceIds.map((id) => {
    const sequence = (given.get(id) as number) + 1;
    given.set(id, sequence);
    return sequence;
  });
}

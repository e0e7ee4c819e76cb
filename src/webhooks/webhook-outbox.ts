import { Inject, Injectable } from '@nestjs/common';
import type { WebhooksConfig } from '../config/app-config';
import { WEBHOOKS_CONFIG } from '../config/config.module';
import type { Prisma } from '../generated/prisma/client';
import { WEBHOOK_RETRY_WINDOW_MS, type WebhookEventType } from './webhook-events';

/**
 * An event to publish: its id (the `webhook-id`, the audit event's own id), type, funding source, time,
 * place among its funding source's events (`sequence`, bumped in the same transaction) and body, as
 * webhookPayload rendered it (FundingSourceEvents decides what is published and renders it).
 */
export interface PublishedEvent {
  eventId: string;
  type: WebhookEventType;
  fundingSourceId: string;
  at: Date;
  sequence: number;
  payload: string;
}

/**
 * The write side of the outbox: called inside the transaction that makes a change, so an event is
 * recorded exactly when its change commits, and delivered afterwards (WebhookDispatcher). With no
 * WEBHOOK_URLS nothing is written.
 */
@Injectable()
export class WebhookOutbox {
  private readonly urls: readonly string[];

  constructor(@Inject(WEBHOOKS_CONFIG) config: WebhooksConfig) {
    this.urls = config.webhookUrls;
  }

  /** Whether events are published at all (lets the caller skip reading what it would publish). */
  get enabled(): boolean {
    return this.urls.length > 0;
  }

  async enqueue(tx: Prisma.TransactionClient, events: readonly PublishedEvent[]): Promise<void> {
    if (!this.enabled || events.length === 0) return;
    // In the events' order: `seq` then orders each funding source's events for every receiver.
    await tx.webhookDelivery.createMany({
      data: events.flatMap((event) =>
        this.urls.map((url) => ({
          eventId: event.eventId,
          eventType: event.type,
          fundingSourceId: event.fundingSourceId,
          sequence: event.sequence,
          url,
          payload: event.payload,
          giveUpAt: new Date(event.at.getTime() + WEBHOOK_RETRY_WINDOW_MS),
        })),
      ),
    });
  }
}

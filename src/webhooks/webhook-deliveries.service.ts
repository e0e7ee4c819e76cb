import { Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import { decodeCursor, toPage } from '../funding-sources/page-cursor';
import type {
  WebhookDeliveriesQuery,
  WebhookDeliveryDto,
  WebhookDeliveryPageDto,
} from './dto/webhook-delivery.dto';
import { WebhookDeliveriesRepository, type WebhookDeliveryRecord } from './webhook-deliveries.repository';
import { receiverForDisplay, WEBHOOK_RETRY_WINDOW_MS, type WebhookEventType } from './webhook-events';

/** What admins do with the outbox: look at deliveries, and send a delivered or failed one again. */
@Injectable()
export class WebhookDeliveriesService {
  constructor(private readonly deliveries: WebhookDeliveriesRepository) {}

  async list(query: WebhookDeliveriesQuery): Promise<WebhookDeliveryPageDto> {
    const limit = query.limit ?? 50;
    const rows = await this.deliveries.listPage({
      status: query.status,
      limit: limit + 1,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    const { page, nextCursor } = toPage(rows, limit, ({ createdAt, id }) => ({ createdAt, id }));
    return { data: page.map(toDto), nextCursor };
  }

  /**
   * Queues it again, due now, with a fresh 24 h of retries; receivers dedupe by its unchanged webhook-id.
   * Only a funding source's latest event: an older one would undo a later one at the receiver.
   */
  async retry(id: string): Promise<WebhookDeliveryDto> {
    const result = await this.deliveries.requeue(id, WEBHOOK_RETRY_WINDOW_MS);
    switch (result.kind) {
      case 'not-found':
        throw new AppError('WEBHOOK_DELIVERY_NOT_FOUND', `No webhook delivery ${id}.`);
      case 'pending':
        throw new AppError(
          'WEBHOOK_DELIVERY_PENDING',
          `Webhook delivery ${id} is already queued; it is retried on its own until it is delivered or fails.`,
        );
      case 'superseded':
        throw new AppError(
          'WEBHOOK_DELIVERY_SUPERSEDED',
          `Webhook delivery ${id} is of an older event than its funding source's latest; sent again, it would undo the later one at the receiver.`,
        );
      case 'requeued':
        return toDto(result.delivery);
    }
  }
}

function toDto(record: WebhookDeliveryRecord): WebhookDeliveryDto {
  const iso = (at: Date | null): string | null => at?.toISOString() ?? null;
  return {
    ...record,
    // Only eventRows' published types are ever written (webhook-outbox.ts).
    eventType: record.eventType as WebhookEventType,
    url: receiverForDisplay(record.url),
    nextAttemptAt: record.status === 'pending' ? record.nextAttemptAt.toISOString() : null,
    giveUpAt: record.giveUpAt.toISOString(),
    lastAttemptAt: iso(record.lastAttemptAt),
    deliveredAt: iso(record.deliveredAt),
    createdAt: record.createdAt.toISOString(),
  };
}

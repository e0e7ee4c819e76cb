import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, Matches } from 'class-validator';
import { UUID_PATTERN } from '../../common/param-pipes';
import { FUNDING_SOURCE_ID_SCHEMA } from '../../funding-sources/dto/funding-source.params';
import { PageQuery } from '../../funding-sources/dto/page.query';
import {
  WEBHOOK_DELIVERY_STATUSES,
  WEBHOOK_EVENT_TYPES,
  type WebhookDeliveryStatus,
  type WebhookEventType,
} from '../webhook-events';

const AT = { type: String, format: 'date-time', example: '2026-11-29T10:30:00.000Z' } as const;
const AT_OR_NULL = { ...AT, nullable: true } as const;

export class WebhookDeliveryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({
    description:
      "The event's `webhook-id` header: the same on every retry and for every receiver; the id of the audit event it publishes",
    format: 'uuid',
  })
  eventId!: string;

  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, example: 'funding_source.status_changed' })
  eventType!: WebhookEventType;

  @ApiProperty(FUNDING_SOURCE_ID_SCHEMA)
  fundingSourceId!: string;

  @ApiProperty({
    description:
      'The receiver (one of WEBHOOK_URLS): its origin and path only; a query or fragment, which may carry its token, is never shown',
    example: 'https://deposits.internal/hooks',
  })
  url!: string;

  @ApiProperty({
    enum: WEBHOOK_DELIVERY_STATUSES,
    description:
      'pending: queued or being retried; delivered: a receiver answered 2xx; failed: no 2xx for 24 h (retry it by hand)',
  })
  status!: WebhookDeliveryStatus;

  @ApiProperty({ description: 'Attempts made since it was queued (or re-queued by hand)', example: 1 })
  attempts!: number;

  @ApiProperty({ ...AT_OR_NULL, description: 'When a pending delivery is tried next; null otherwise' })
  nextAttemptAt!: string | null;

  @ApiProperty({ ...AT, description: 'Retries stop after this' })
  giveUpAt!: string;

  @ApiProperty(AT_OR_NULL)
  lastAttemptAt!: string | null;

  @ApiProperty({ type: Number, nullable: true, example: 200, description: "The receiver's last HTTP status" })
  lastResponseStatus!: number | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'Why the last attempt failed (HTTP status, timeout, connection)',
  })
  lastError!: string | null;

  @ApiProperty(AT_OR_NULL)
  deliveredAt!: string | null;

  @ApiProperty(AT)
  createdAt!: string;
}

export class WebhookDeliveryPageDto {
  @ApiProperty({ type: [WebhookDeliveryDto], description: 'Newest first, ties broken by id' })
  data!: WebhookDeliveryDto[];

  @ApiProperty({ type: String, nullable: true, example: null })
  nextCursor!: string | null;
}

export class WebhookDeliveriesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: WEBHOOK_DELIVERY_STATUSES, description: 'Without it: every status' })
  @IsOptional()
  @IsIn(WEBHOOK_DELIVERY_STATUSES)
  status?: WebhookDeliveryStatus;
}

export class WebhookDeliveryParams {
  @ApiProperty({ format: 'uuid' })
  @Matches(UUID_PATTERN, { message: 'id must be a UUID' })
  id!: string;
}

import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiTags } from '@nestjs/swagger';
import { Route } from '../common/route.decorator';
import {
  WebhookDeliveriesQuery,
  WebhookDeliveryDto,
  WebhookDeliveryPageDto,
  WebhookDeliveryParams,
} from './dto/webhook-delivery.dto';
import { WebhookEventDto } from './dto/webhook-event.dto';
import { WebhookDeliveriesService } from './webhook-deliveries.service';

@ApiTags('admin')
@ApiBearerAuth()
// What each delivery sends: a schema of its own (`WebhookEventDto`) for receivers to generate from.
@ApiExtraModels(WebhookEventDto)
@Controller('v1/admin/webhook-deliveries')
export class AdminWebhookDeliveriesController {
  constructor(private readonly deliveries: WebhookDeliveriesService) {}

  @Get()
  @Route({
    operationId: 'adminListWebhookDeliveries',
    summary: 'List outbound event deliveries',
    description:
      'One delivery per event and receiver (WEBHOOK_URLS): its state, attempts and last outcome. Filter by `status`; newest first, paged by `nextCursor`.',
    access: {},
    responses: [{ status: 200, type: WebhookDeliveryPageDto }],
  })
  list(@Query() query: WebhookDeliveriesQuery): Promise<WebhookDeliveryPageDto> {
    return this.deliveries.list(query);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @Route({
    operationId: 'adminRetryWebhookDelivery',
    summary: 'Send a delivered or failed event again',
    description:
      "Queues the delivery again, due now, with a fresh 24 h of retries and the same `webhook-id` and body (receivers drop what they already have). Only the funding source's latest event is sent again: one a later event supersedes would undo it at a receiver that no longer knows it (409 `WEBHOOK_DELIVERY_SUPERSEDED`).",
    access: {},
    responses: [{ status: 200, type: WebhookDeliveryDto }],
    errors: ['WEBHOOK_DELIVERY_NOT_FOUND', 'WEBHOOK_DELIVERY_PENDING', 'WEBHOOK_DELIVERY_SUPERSEDED'],
  })
  retry(@Param() { id }: WebhookDeliveryParams): Promise<WebhookDeliveryDto> {
    return this.deliveries.retry(id);
  }
}

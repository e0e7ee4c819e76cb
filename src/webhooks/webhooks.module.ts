import { Module } from '@nestjs/common';
import { AdminWebhookDeliveriesController } from './admin-webhook-deliveries.controller';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { WebhookDeliveriesService } from './webhook-deliveries.service';
import { WebhookDispatcher } from './webhook-dispatcher';
import { WebhookOutbox } from './webhook-outbox';

/** Signed events for deposit services: the outbox written with each change, its dispatcher, its admin routes. */
@Module({
  controllers: [AdminWebhookDeliveriesController],
  providers: [WebhookOutbox, WebhookDeliveriesRepository, WebhookDeliveriesService, WebhookDispatcher],
  exports: [WebhookOutbox],
})
export class WebhooksModule {}

import { ApiProperty } from '@nestjs/swagger';
import { FundingSourceDto } from '../../funding-sources/dto/funding-source.dto';
import { WEBHOOK_EVENT_TYPES, type WebhookEventBody, type WebhookEventType } from '../webhook-events';

/** The body POSTed to each receiver (WEBHOOK_URLS): not a route of this API, documented for receivers. */
export class WebhookEventDto implements WebhookEventBody {
  @ApiProperty({ enum: WEBHOOK_EVENT_TYPES, example: 'funding_source.status_changed' })
  type!: WebhookEventType;

  @ApiProperty({
    format: 'date-time',
    example: '2026-11-29T10:30:00.000Z',
    description: 'When the change happened (the same on every retry)',
  })
  timestamp!: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    example: 3,
    description:
      "The event's place among its funding source's events: it only grows per funding source (the same on every retry of one event). A receiver keeps the highest it has handled per `data.id` and drops an event with a lower one: a late retry of an older event must not undo a newer one (such as `active` after `disconnected`)",
  })
  sequence!: number;

  @ApiProperty({ type: FundingSourceDto, description: 'The funding source as the API answered it then' })
  data!: FundingSourceDto;
}

import { ApiProperty } from '@nestjs/swagger';
import type { Actor } from '../../auth/caller';
import { REQUEST_ID_EXAMPLE } from '../../common/api-errors.decorator';
import { USER_ID_EXAMPLE } from '../../users/dto/user-id.param';
import { FUNDING_SOURCE_EVENT_TYPES, type FundingSourceEventType } from '../funding-source';
import { PageQuery } from './page.query';

export class ActorDto implements Actor {
  @ApiProperty({ example: USER_ID_EXAMPLE, description: "The caller's `sub`, or `system`" })
  subject!: string;

  @ApiProperty({ type: String, nullable: true, example: null, enum: ['admin'] })
  role!: 'admin' | null;

  @ApiProperty({ example: '', description: "The caller's scopes, space-separated" })
  scope!: string;
}

export class FundingSourceEventDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ enum: FUNDING_SOURCE_EVENT_TYPES, example: 'linked' })
  type!: FundingSourceEventType;

  @ApiProperty({ format: 'uuid' })
  fundingSourceId!: string;

  @ApiProperty({ type: ActorDto })
  actor!: ActorDto;

  @ApiProperty({ type: String, nullable: true, example: REQUEST_ID_EXAMPLE })
  requestId!: string | null;

  @ApiProperty({ example: '2026-01-22T10:30:00.000Z' })
  at!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { via: 'connect', status: 'active' },
    description: 'What changed: `via` (connect, sync, disconnect) and, for status changes, `from` and `to`',
  })
  details!: Record<string, unknown>;
}

export class FundingSourceEventPageDto {
  @ApiProperty({ type: [FundingSourceEventDto], description: 'Newest first, ties broken by id' })
  data!: FundingSourceEventDto[];

  @ApiProperty({ type: String, nullable: true, example: null })
  nextCursor!: string | null;
}

/** The audit trail's query: paging only. */
export class EventsQuery extends PageQuery {}

import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional } from 'class-validator';
import { FUNDING_SOURCE_STATUSES } from './funding-source.dto';

export const STATUS_FILTERS = [...FUNDING_SOURCE_STATUSES, 'all'] as const;
export type StatusFilter = (typeof STATUS_FILTERS)[number];

export class ListFundingSourcesQuery {
  @ApiPropertyOptional({
    enum: STATUS_FILTERS,
    description: 'Without it: every funding source that is not disconnected',
  })
  @IsOptional()
  @IsIn(STATUS_FILTERS)
  status?: StatusFilter;
}

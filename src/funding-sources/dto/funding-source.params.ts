import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { PatternPipe, UUID_PATTERN } from '../../common/param-pipes';
import { UserIdParam } from '../../users/dto/user-id.param';

// The fundingSourceId rule, stated once for the DTO and the read routes' pipe.
export const FUNDING_SOURCE_ID_MESSAGE = 'fundingSourceId must be a UUID';

/** A funding source id as Swagger shows it, wherever one appears. */
export const FUNDING_SOURCE_ID_SCHEMA = {
  format: 'uuid',
  example: '6f1c2a1e-8d0b-4c47-9b0e-3e1d2c4b5a69',
} as const;

/** A fundingSourceId path parameter on the read path, without class-validator. */
export const FUNDING_SOURCE_ID_PIPE = new PatternPipe(
  'fundingSourceId',
  UUID_PATTERN,
  FUNDING_SOURCE_ID_MESSAGE,
);

export class FundingSourceParams extends UserIdParam {
  @ApiProperty(FUNDING_SOURCE_ID_SCHEMA)
  @Matches(UUID_PATTERN, { message: FUNDING_SOURCE_ID_MESSAGE })
  fundingSourceId!: string;
}

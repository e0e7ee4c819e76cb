import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { UUID_PATTERN } from '../../common/param-pipes';
import { UserIdParam } from '../../users/dto/user-id.param';

export const FUNDING_SOURCE_ID_MESSAGE = 'fundingSourceId must be a UUID';

export class FundingSourceParams extends UserIdParam {
  @ApiProperty({ format: 'uuid', example: '6f1c2a1e-8d0b-4c47-9b0e-3e1d2c4b5a69' })
  @Matches(UUID_PATTERN, { message: FUNDING_SOURCE_ID_MESSAGE })
  fundingSourceId!: string;
}

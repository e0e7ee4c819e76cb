import { ApiProperty } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';
import { UserIdParam } from '../../users/dto/user-id.param';

export class FundingSourceParams extends UserIdParam {
  @ApiProperty({ format: 'uuid', example: '6f1c2a1e-8d0b-4c47-9b0e-3e1d2c4b5a69' })
  @IsUUID('all', { message: 'fundingSourceId must be a UUID' })
  fundingSourceId!: string;
}

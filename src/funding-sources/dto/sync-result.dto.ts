import { ApiProperty } from '@nestjs/swagger';
import { FundingSourceDto } from './funding-source.dto';

export class SyncResultDto {
  @ApiProperty({
    type: [FundingSourceDto],
    description: "Every one of the user's funding sources after the sync, newest first, whatever its status",
  })
  data!: FundingSourceDto[];

  @ApiProperty({
    example: 1,
    description: 'Bank accounts Bluum had that were not stored (e.g. a connect whose reply was lost)',
  })
  added!: number;

  @ApiProperty({ example: 0, description: 'Stored bank accounts whose details or status Bluum changed' })
  updated!: number;
}

import { ApiProperty } from '@nestjs/swagger';
import { FundingSourceDto } from './funding-source.dto';

export class FundingSourcePageDto {
  @ApiProperty({ type: [FundingSourceDto], description: 'Newest first, ties broken by id' })
  data!: FundingSourceDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    description: 'Pass as `cursor` for the next page; null on the last page',
    example: null,
  })
  nextCursor!: string | null;
}

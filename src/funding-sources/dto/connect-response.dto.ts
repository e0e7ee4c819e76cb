import { ApiProperty } from '@nestjs/swagger';
import { FUNDING_SOURCE_STATUSES, FundingSourceDto, type FundingSourceStatus } from './funding-source.dto';

export class LinkedItemDto {
  @ApiProperty({ example: 'item_abc123' })
  itemId!: string;

  @ApiProperty({ type: String, nullable: true, example: 'ins_3' })
  institutionId!: string | null;

  @ApiProperty({ example: 'Chase Bank' })
  institutionName!: string;

  @ApiProperty({ enum: FUNDING_SOURCE_STATUSES, example: 'active' })
  status!: FundingSourceStatus;
}

export class ConnectResponseDto {
  @ApiProperty({ type: LinkedItemDto })
  item!: LinkedItemDto;

  @ApiProperty({ type: [FundingSourceDto], description: 'One funding source per bank account of the item' })
  fundingSources!: FundingSourceDto[];
}

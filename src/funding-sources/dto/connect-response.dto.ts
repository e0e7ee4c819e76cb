import { ApiProperty } from '@nestjs/swagger';
import {
  type ConnectResponse,
  FUNDING_SOURCE_STATUSES,
  type FundingSourceStatus,
  type LinkedItemRecord,
} from '../funding-source';
import { FundingSourceDto } from './funding-source.dto';

export class LinkedItemDto implements LinkedItemRecord {
  @ApiProperty({ example: 'item_abc123' })
  itemId!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'ins_3',
    description:
      "The institution id as Bluum names it; null where it names none (its investors generation). A client's claim (connect's `metadata`) is never shown here: it only keys the duplicate check.",
  })
  institutionId!: string | null;

  @ApiProperty({ example: 'Chase Bank' })
  institutionName!: string;

  @ApiProperty({ enum: FUNDING_SOURCE_STATUSES, example: 'active' })
  status!: FundingSourceStatus;
}

export class ConnectResponseDto implements ConnectResponse {
  @ApiProperty({ type: LinkedItemDto })
  item!: LinkedItemDto;

  @ApiProperty({ type: [FundingSourceDto], description: 'One funding source per bank account of the item' })
  fundingSources!: FundingSourceDto[];
}

import { ApiProperty } from '@nestjs/swagger';
import { USER_ID_EXAMPLE } from '../../users/dto/user-id.param';
import { FUNDING_SOURCE_STATUSES, type FundingSource, type FundingSourceStatus } from '../funding-source';
import { FUNDING_SOURCE_ID_SCHEMA } from './funding-source.params';

type PlaidOptions = FundingSource['plaidOptions'];

export class PlaidOptionsDto implements PlaidOptions {
  @ApiProperty({ example: 'item_abc123' })
  item_id!: string;

  @ApiProperty({ example: 'acc_1234567890' })
  account_id!: string;
}

/** One bank account of a linked Plaid item: what deposit and withdrawal services pay from or to. */
export class FundingSourceDto implements FundingSource {
  @ApiProperty(FUNDING_SOURCE_ID_SCHEMA)
  id!: string;

  @ApiProperty({ example: USER_ID_EXAMPLE })
  userId!: string;

  @ApiProperty({ enum: FUNDING_SOURCE_STATUSES, example: 'active' })
  status!: FundingSourceStatus;

  @ApiProperty({ type: String, nullable: true, example: 'ins_3' })
  institutionId!: string | null;

  @ApiProperty({ example: 'Chase Bank' })
  institutionName!: string;

  @ApiProperty({ example: 'Checking Account' })
  accountName!: string;

  @ApiProperty({ example: 'depository' })
  accountType!: string;

  @ApiProperty({ type: String, nullable: true, example: 'checking' })
  accountSubtype!: string | null;

  @ApiProperty({ example: '0000' })
  mask!: string;

  @ApiProperty({ example: 'item_abc123' })
  itemId!: string;

  @ApiProperty({ example: 'acc_1234567890' })
  accountId!: string;

  @ApiProperty({ type: String, nullable: true, example: '123e4567-e89b-12d3-a456-426614174000' })
  bluumFundingSourceId!: string | null;

  @ApiProperty({
    type: PlaidOptionsDto,
    description: 'Pass as `plaid_options` in a Bluum deposit or withdrawal request',
  })
  plaidOptions!: PlaidOptionsDto;

  @ApiProperty({ example: '2026-01-22T10:30:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: '2026-01-22T10:30:00.000Z' })
  updatedAt!: string;
}

export class FundingSourceListDto {
  @ApiProperty({ type: [FundingSourceDto] })
  data!: FundingSourceDto[];
}

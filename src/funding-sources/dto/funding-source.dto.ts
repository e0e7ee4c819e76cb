import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { USER_ID_EXAMPLE } from '../../users/dto/user-id.param';
import {
  FUNDING_SOURCE_STATUSES,
  type FundingSource,
  type FundingSourceStatus,
  type PlaidOptions,
  type TransferOptions,
} from '../funding-source';
import { FUNDING_SOURCE_ID_SCHEMA } from './funding-source.params';

export class PlaidOptionsDto implements PlaidOptions {
  @ApiProperty({ example: 'item_abc123' })
  item_id!: string;

  @ApiProperty({ example: 'acc_1234567890' })
  account_id!: string;
}

/** The accounts generation's transfer field (BLUUM_API_VERSION=accounts). */
export class PlaidTransferOptionsDto {
  @ApiProperty({ type: PlaidOptionsDto })
  plaid_options!: PlaidOptionsDto;
}

/** The investors generation's transfer field (BLUUM_API_VERSION=investors). */
export class FundingSourceTransferOptionsDto {
  @ApiProperty({ example: 'fs_8f14e45fceea467a' })
  funding_source_id!: string;
}

/** One bank account of a linked Plaid item: what deposit and withdrawal services pay from or to. */
@ApiExtraModels(PlaidTransferOptionsDto, FundingSourceTransferOptionsDto)
export class FundingSourceDto implements FundingSource {
  @ApiProperty(FUNDING_SOURCE_ID_SCHEMA)
  id!: string;

  @ApiProperty({ example: USER_ID_EXAMPLE })
  userId!: string;

  @ApiProperty({ enum: FUNDING_SOURCE_STATUSES, example: 'active' })
  status!: FundingSourceStatus;

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

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'acc_1234567890',
    description: "Plaid's account id; null where Bluum gives none (BLUUM_API_VERSION=investors)",
  })
  accountId!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    example: '123e4567-e89b-12d3-a456-426614174000',
    description:
      "The id Bluum's DELETE takes: the item's (accounts generation) or this bank account's own `fs_…` (investors)",
  })
  bluumFundingSourceId!: string | null;

  @ApiProperty({
    type: PlaidOptionsDto,
    nullable: true,
    description:
      'Pass as `plaid_options` in a Bluum deposit or withdrawal request (accounts generation); null where Bluum gives no Plaid account id (investors)',
  })
  plaidOptions!: PlaidOptionsDto | null;

  @ApiProperty({
    oneOf: [
      { $ref: getSchemaPath(PlaidTransferOptionsDto) },
      { $ref: getSchemaPath(FundingSourceTransferOptionsDto) },
    ],
    example: { plaid_options: { item_id: 'item_abc123', account_id: 'acc_1234567890' } },
    description:
      'Exactly what a deposit or withdrawal request to Bluum merges in: `{ plaid_options }` with BLUUM_API_VERSION=accounts, `{ funding_source_id: "fs_…" }` with BLUUM_API_VERSION=investors',
  })
  transferOptions!: TransferOptions;

  @ApiProperty({ example: '2026-01-22T10:30:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: '2026-01-22T10:30:00.000Z' })
  updatedAt!: string;
}

export class FundingSourceListDto {
  @ApiProperty({ type: [FundingSourceDto] })
  data!: FundingSourceDto[];
}

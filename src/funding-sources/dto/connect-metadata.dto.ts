// What Plaid Link's onSuccess hands the frontend about the bank just linked, as far as connect needs it
// to recognise a bank the user has already linked before the public token is exchanged. Limits match
// the columns the stored values are compared with (plaid_items.institution_id or claimed_institution_id,
// bank_accounts.mask and name), so a value that could never match a stored one is refused rather than
// silently ignored. What the client says here is its claim: it is stored apart (claimed_institution_id),
// keys the duplicate check, and is never shown or sent as Bluum's institution id.
import { ApiProperty } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsNotEmpty,
  IsObject,
  IsString,
  MaxLength,
  ValidateNested,
} from 'class-validator';

/** The most accounts one Plaid item is expected to hold; more is not a bank, it is a malformed body. */
export const MAX_METADATA_ACCOUNTS = 100;

export class ConnectMetadataInstitutionDto {
  @ApiProperty({
    description: "Plaid's institution id (metadata.institution.institution_id)",
    example: 'ins_3',
  })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  id!: string;
}

export class ConnectMetadataAccountDto {
  @ApiProperty({ description: "The account number's last digits, as Plaid Link shows them", example: '0000' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(16)
  mask!: string;

  @ApiProperty({ description: "The account's name, as Plaid Link shows it", example: 'Plaid Checking' })
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  name!: string;
}

export class ConnectMetadataDto {
  @ApiProperty({ type: ConnectMetadataInstitutionDto })
  @IsObject()
  @ValidateNested()
  @Type(() => ConnectMetadataInstitutionDto)
  institution!: ConnectMetadataInstitutionDto;

  @ApiProperty({
    type: [ConnectMetadataAccountDto],
    minItems: 1,
    maxItems: MAX_METADATA_ACCOUNTS,
    description: 'The accounts the user picked in Plaid Link; compared as a set of (mask, name)',
  })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_METADATA_ACCOUNTS)
  @IsObject({ each: true })
  @ValidateNested({ each: true })
  @Type(() => ConnectMetadataAccountDto)
  accounts!: ConnectMetadataAccountDto[];
}

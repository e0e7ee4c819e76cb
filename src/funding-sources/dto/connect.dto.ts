import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, IsOptional, IsString, Matches, MaxLength, ValidateNested } from 'class-validator';
import { ConnectMetadataDto } from './connect-metadata.dto';

export class ConnectDto {
  @ApiProperty({
    description: "The public_token from Plaid Link's onSuccess",
    example: 'public-sandbox-abc123def456',
  })
  @IsString()
  @MaxLength(256)
  @Matches(/^public-[A-Za-z0-9-]+$/, { message: 'publicToken must be a Plaid public token (public-…)' })
  publicToken!: string;

  @ApiPropertyOptional({
    type: ConnectMetadataDto,
    description:
      "From Plaid Link's onSuccess metadata: the institution's id and the accounts' masks and names. When the user already has an active bank link at that institution with the same set of accounts, connect answers 409 DUPLICATE_ITEM without exchanging the public token.",
  })
  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => ConnectMetadataDto)
  metadata?: ConnectMetadataDto;
}

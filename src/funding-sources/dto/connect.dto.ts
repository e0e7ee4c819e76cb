import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches, MaxLength } from 'class-validator';

export class ConnectDto {
  @ApiProperty({
    description: "The public_token from Plaid Link's onSuccess",
    example: 'public-sandbox-abc123def456',
  })
  @IsString()
  @MaxLength(256)
  @Matches(/^public-[A-Za-z0-9-]+$/, { message: 'publicToken must be a Plaid public token (public-…)' })
  publicToken!: string;
}

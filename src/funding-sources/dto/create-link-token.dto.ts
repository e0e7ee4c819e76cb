import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';

export class CreateLinkTokenDto {
  @ApiPropertyOptional({
    description:
      'Ask for a Plaid-hosted link URL to redirect the user to, instead of opening the Plaid Link SDK',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  enableHostedLink?: boolean;
}

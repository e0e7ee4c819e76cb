import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsUrl, MaxLength } from 'class-validator';

export class CreateLinkTokenDto {
  @ApiPropertyOptional({
    description:
      'Ask for a Plaid-hosted link URL to redirect the user to, instead of opening the Plaid Link SDK',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  enableHostedLink?: boolean;

  @ApiPropertyOptional({
    description:
      "Hosted link only: where the hosted page sends the user back when done (like Plaid's hosted_link.completion_redirect_uri). Its origin must be in LINK_COMPLETION_REDIRECT_ORIGINS.",
    example: 'http://localhost:3000/',
  })
  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true, require_tld: false })
  @MaxLength(2048)
  completionRedirectUri?: string;
}

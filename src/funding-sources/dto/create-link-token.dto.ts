import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';

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
      "Hosted link only: where the hosted page sends the user back when done (like Plaid's hosted_link.completion_redirect_uri). An absolute http(s) URL whose origin is in LINK_COMPLETION_REDIRECT_ORIGINS, written in its normalized form (as the WHATWG URL parser writes it: lower-case host, no default port, no dot segments, escapes as it makes them; a bare origin may omit the final `/`), with no user info (`…@`) and no `\\`. Anything else is 400 `VALIDATION_FAILED`, whose message gives the normalized form. Bluum gets the normalized form.",
    example: 'http://localhost:3000/',
    format: 'uri',
    maxLength: 2048,
  })
  @IsOptional()
  // Parsed once, by the service (completion-redirect.ts): a second parser here that reads URLs in its
  // own way is how `http://xn--a.com/` passed and then made `new URL` throw.
  @IsString()
  @MaxLength(2048)
  completionRedirectUri?: string;
}

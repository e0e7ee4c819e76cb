import { ApiProperty } from '@nestjs/swagger';

export class LinkTokenDto {
  @ApiProperty({
    description: 'Give it to the Plaid Link SDK (`usePlaidLink({ token })`)',
    example: 'link-sandbox-abc123def456',
  })
  linkToken!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    description:
      "Where to redirect the user when enableHostedLink was true; otherwise null. Always https: (a URL from Bluum that is not is 502 BLUUM_BAD_RESPONSE), except the built-in sandbox's own http: page in development.",
    example: null,
  })
  hostedLinkUrl!: string | null;
}

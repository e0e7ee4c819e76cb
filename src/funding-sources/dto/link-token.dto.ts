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
    description: 'Where to redirect the user when enableHostedLink was true; otherwise null',
    example: null,
  })
  hostedLinkUrl!: string | null;
}

import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';

/** The identity provider's subject: 1-128 characters of A-Z a-z 0-9 . _ : | @ - */
export const USER_ID_PATTERN = /^[A-Za-z0-9._:|@-]{1,128}$/;
export const USER_ID_MESSAGE = 'userId must be 1-128 characters of A-Z a-z 0-9 . _ : | @ -';
export const USER_ID_DESCRIPTION = "The identity provider's subject (1-128 of A-Z a-z 0-9 . _ : | @ -)";

export class UserIdParam {
  @ApiProperty({
    description: USER_ID_DESCRIPTION,
    example: 'user_123',
  })
  @Matches(USER_ID_PATTERN, { message: USER_ID_MESSAGE })
  userId!: string;
}

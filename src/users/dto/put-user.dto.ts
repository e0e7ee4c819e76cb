import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import {
  BLUUM_ACCOUNT_ID_MAX_LENGTH,
  BLUUM_ACCOUNT_ID_PATTERN,
  BLUUM_ACCOUNT_ID_RULE,
} from '../../common/bluum-id';

export class PutUserDto {
  @ApiProperty({
    description:
      "The Bluum account this user's funding sources live under, as Bluum names it (e.g. `acct_123` or a UUID). " +
      `It becomes a segment of Bluum's URLs, so it must be ${BLUUM_ACCOUNT_ID_RULE}; ` +
      'no `/`, `\\`, `%`, `?`, `#` or whitespace. Anything else is 400 `VALIDATION_FAILED`. ' +
      'One Bluum account belongs to one user: one that another user holds is 409 `BLUUM_ACCOUNT_TAKEN`.',
    example: '3f9a1c2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b',
    minLength: 1,
    maxLength: BLUUM_ACCOUNT_ID_MAX_LENGTH,
    pattern: BLUUM_ACCOUNT_ID_PATTERN.source,
  })
  @IsString()
  @Matches(BLUUM_ACCOUNT_ID_PATTERN, { message: `bluumAccountId must be ${BLUUM_ACCOUNT_ID_RULE}` })
  bluumAccountId!: string;
}

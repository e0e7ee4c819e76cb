import { ApiProperty } from '@nestjs/swagger';
import { Matches } from 'class-validator';
import { PatternPipe } from '../../common/param-pipes';

// The userId rule, stated once: the DTOs, the read routes' pipe and the write rate-limit guard (which
// runs before pipes) all check it with these.

/** The identity provider's subject: 1-128 characters of A-Z a-z 0-9 . _ : | @ - */
export const USER_ID_PATTERN = /^[A-Za-z0-9._:|@-]{1,128}$/;
export const USER_ID_MESSAGE = 'userId must be 1-128 characters of A-Z a-z 0-9 . _ : | @ -';
export const USER_ID_EXAMPLE = 'user_123';

/** The path's userId as Swagger shows it. */
export const USER_ID_PARAM = {
  name: 'userId',
  description: "The identity provider's subject (1-128 of A-Z a-z 0-9 . _ : | @ -)",
  example: USER_ID_EXAMPLE,
} as const;

/** A userId field of a DTO (class-validator). */
export const IsUserId = (): PropertyDecorator => Matches(USER_ID_PATTERN, { message: USER_ID_MESSAGE });

/** The check without class-validator: the read routes' pipe (see common/param-pipes.ts) and the guard. */
export const USER_ID_PIPE = new PatternPipe('userId', USER_ID_PATTERN, USER_ID_MESSAGE);

export class UserIdParam {
  @ApiProperty({ description: USER_ID_PARAM.description, example: USER_ID_EXAMPLE })
  @IsUserId()
  userId!: string;
}

import { ApiProperty } from '@nestjs/swagger';
import type { UserRecord } from '../user.record';
import { USER_ID_EXAMPLE } from './user-id.param';

/** The stored user as the API answers it: times as ISO 8601 strings. */
export class UserDto implements Omit<UserRecord, 'createdAt' | 'updatedAt'> {
  @ApiProperty({ example: USER_ID_EXAMPLE })
  id!: string;

  @ApiProperty({ example: '3f9a1c2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b' })
  bluumAccountId!: string;

  @ApiProperty({ example: '2026-01-22T10:30:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: '2026-01-22T10:30:00.000Z' })
  updatedAt!: string;
}

import { ApiProperty } from '@nestjs/swagger';

export class UserDto {
  @ApiProperty({ example: 'user_123' })
  id!: string;

  @ApiProperty({ example: '3f9a1c2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b' })
  bluumAccountId!: string;

  @ApiProperty({ example: '2026-01-22T10:30:00.000Z' })
  createdAt!: string;

  @ApiProperty({ example: '2026-01-22T10:30:00.000Z' })
  updatedAt!: string;
}

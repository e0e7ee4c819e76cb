import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';

export class PutUserDto {
  @ApiProperty({
    description: "The Bluum account this user's funding sources live under",
    example: '3f9a1c2e-4b5d-4e6f-8a7b-9c0d1e2f3a4b',
  })
  @IsString()
  @Matches(/^[A-Za-z0-9._-]{1,128}$/, {
    message: 'bluumAccountId must be 1-128 characters of A-Z a-z 0-9 . _ -',
  })
  bluumAccountId!: string;
}

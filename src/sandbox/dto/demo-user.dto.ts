import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches } from 'class-validator';
import { USER_ID_PATTERN } from '../../users/dto/user-id.param';

export class DemoUserDto {
  @ApiPropertyOptional({ description: 'The demo user; a new one when left out.', example: 'demo-alice' })
  @IsOptional()
  @IsString()
  @Matches(USER_ID_PATTERN, { message: 'userId must be 1-128 characters of A-Z a-z 0-9 . _ : | @ -' })
  userId?: string;
}

export interface DemoSession {
  userId: string;
  bluumAccountId: string;
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

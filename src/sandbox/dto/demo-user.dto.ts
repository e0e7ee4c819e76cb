import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString } from 'class-validator';
import { IsUserId } from '../../users/dto/user-id.param';

export class DemoUserDto {
  @ApiPropertyOptional({ description: 'The demo user; a new one when left out.', example: 'demo-alice' })
  @IsOptional()
  @IsString()
  @IsUserId()
  userId?: string;
}

export interface DemoSession {
  userId: string;
  bluumAccountId: string;
  accessToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

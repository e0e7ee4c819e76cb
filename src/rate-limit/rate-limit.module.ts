import { Module } from '@nestjs/common';
import { RateLimitRepository } from './rate-limit.repository';
import { WriteRateLimitGuard } from './write-rate-limit.guard';

@Module({
  providers: [RateLimitRepository, WriteRateLimitGuard],
  exports: [RateLimitRepository, WriteRateLimitGuard],
})
export class RateLimitModule {}

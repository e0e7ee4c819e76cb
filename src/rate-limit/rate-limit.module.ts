import { Global, Module } from '@nestjs/common';
import { CallerRateLimit } from './caller-rate-limit';
import { CallerRateLimitGuard } from './caller-rate-limit.guard';
import { RateLimitRepository } from './rate-limit.repository';
import { WriteRateLimitGuard } from './write-rate-limit.guard';

// Global: every module's @Route needs CallerRateLimitGuard, and all of them one CallerRateLimit (one count).
@Global()
@Module({
  providers: [RateLimitRepository, WriteRateLimitGuard, CallerRateLimit, CallerRateLimitGuard],
  exports: [RateLimitRepository, WriteRateLimitGuard, CallerRateLimit, CallerRateLimitGuard],
})
export class RateLimitModule {}

import { Module } from '@nestjs/common';
import { BluumModule } from '../bluum/bluum.module';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { UsersModule } from '../users/users.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { AdminFundingSourcesController } from './admin-funding-sources.controller';
import { FundingSourcesController } from './funding-sources.controller';
import { FundingSourcesRepository } from './funding-sources.repository';
import { FundingSourcesService } from './funding-sources.service';

@Module({
  imports: [UsersModule, BluumModule, IdempotencyModule, RateLimitModule, WebhooksModule],
  controllers: [FundingSourcesController, AdminFundingSourcesController],
  providers: [FundingSourcesService, FundingSourcesRepository],
  // The reconciliation sweep applies sync's rules through the same repository.
  exports: [FundingSourcesRepository],
})
export class FundingSourcesModule {}

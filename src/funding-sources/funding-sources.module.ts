import { Module } from '@nestjs/common';
import { BluumModule } from '../bluum/bluum.module';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { UsersModule } from '../users/users.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { AdminFundingSourcesController } from './admin-funding-sources.controller';
import { AdminFundingSourcesService } from './admin-funding-sources.service';
import { ConnectService } from './connect.service';
import { FundingSourceEvents } from './funding-source-events';
import { FundingSourceReads } from './funding-source-reads';
import { FundingSourceWrites } from './funding-source-writes';
import { FundingSourcesController } from './funding-sources.controller';
import { FundingSourcesService } from './funding-sources.service';
import { PublicTokenExchanges } from './public-token-exchanges';

@Module({
  imports: [UsersModule, BluumModule, IdempotencyModule, RateLimitModule, WebhooksModule],
  controllers: [FundingSourcesController, AdminFundingSourcesController],
  providers: [
    FundingSourcesService,
    ConnectService,
    AdminFundingSourcesService,
    FundingSourceReads,
    FundingSourceWrites,
    PublicTokenExchanges,
    FundingSourceEvents,
  ],
  // The reconciliation sweep applies sync's rules through the same writes.
  exports: [FundingSourceWrites],
})
export class FundingSourcesModule {}

import { Module } from '@nestjs/common';
import { BluumModule } from '../bluum/bluum.module';
import { FundingSourcesModule } from '../funding-sources/funding-sources.module';
import { JobsModule } from '../jobs/jobs.module';
import { ReconciliationRepository } from './reconciliation.repository';
import { ReconciliationService } from './reconciliation.service';

/** The periodic sweep that brings every user's stored funding sources in line with Bluum. */
@Module({
  imports: [JobsModule, BluumModule, FundingSourcesModule],
  providers: [ReconciliationService, ReconciliationRepository],
})
export class ReconciliationModule {}

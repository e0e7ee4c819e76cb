import { Module } from '@nestjs/common';
import { BluumModule } from '../bluum/bluum.module';
import { FundingSourcesModule } from '../funding-sources/funding-sources.module';
import { JobsModule } from '../jobs/jobs.module';
import { ReconcileSweep } from './reconcile-sweep';
import { ReconciliationRepository } from './reconciliation.repository';
import { ReconciliationService } from './reconciliation.service';
import { SweepPacer } from './sweep-pacer';
import { UserReconciler } from './user-reconciler';

/** The periodic sweep that brings every user's stored funding sources in line with Bluum. */
@Module({
  imports: [JobsModule, BluumModule, FundingSourcesModule],
  providers: [ReconciliationService, ReconcileSweep, UserReconciler, SweepPacer, ReconciliationRepository],
})
export class ReconciliationModule {}

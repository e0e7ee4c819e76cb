import { Module } from '@nestjs/common';
import { JobsModule } from '../jobs/jobs.module';
import { RetentionRepository } from './retention.repository';
import { RetentionService } from './retention.service';

@Module({ imports: [JobsModule], providers: [RetentionService, RetentionRepository] })
export class RetentionModule {}

import { Module } from '@nestjs/common';
import { ScheduledJobsRepository } from './scheduled-jobs.repository';

/** Schedules of background jobs, shared across instances through PostgreSQL. */
@Module({ providers: [ScheduledJobsRepository], exports: [ScheduledJobsRepository] })
export class JobsModule {}

import type { PGlite } from '@electric-sql/pglite';
import { type DynamicModule, Module } from '@nestjs/common';
import { AuthModule } from './auth/auth.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { FundingSourcesModule } from './funding-sources/funding-sources.module';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { ReconciliationModule } from './reconciliation/reconciliation.module';
import { RetentionModule } from './retention/retention.module';
import type * as SandboxModuleFile from './sandbox/sandbox.module';
import { UsersModule } from './users/users.module';
import { WebhooksModule } from './webhooks/webhooks.module';

@Module({})
export class AppModule {
  static forConfig(config: AppConfig, sharedEmbeddedDatabase: PGlite | null = null): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule.forRoot(sharedEmbeddedDatabase),
        MetricsModule,
        AuthModule,
        RateLimitModule,
        HealthModule,
        UsersModule,
        FundingSourcesModule,
        RetentionModule,
        ReconciliationModule,
        WebhooksModule,
        // The sandbox never exists in production, and is not even loaded there: its controllers, store,
        // pages and wire fixtures stay off the process's heap.
        ...(config.sandboxEnabled ? [sandboxModule()] : []),
      ],
    };
  }
}

function sandboxModule(): typeof SandboxModuleFile.SandboxModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('./sandbox/sandbox.module') as typeof SandboxModuleFile).SandboxModule;
}

// The Prisma client, on PostgreSQL (DATABASE_URL) or, in development and tests, on embedded PGlite.
import { PGlite } from '@electric-sql/pglite';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { mkdirSync } from 'node:fs';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PrismaClient } from '../generated/prisma/client';
import { applyMigrations } from './embedded-migrations';

@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PrismaService.name);
  private readonly pglite: PGlite | null;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const pglite = config.databaseUrl === null ? openPglite(config.embeddedDatabaseDir) : null;
    super({
      adapter: pglite
        ? // pglite-prisma-adapter 0.6 is typed against driver-adapter-utils 6.10, whose ArgType differs from
          // 6.19's; it never reads argTypes, so the two are the same at run time.
          (new PrismaPGlite(pglite) as unknown as PrismaPg)
        : new PrismaPg({ connectionString: config.databaseUrl as string }),
    });
    this.pglite = pglite;
  }

  async onModuleInit(): Promise<void> {
    if (this.pglite) {
      const applied = await applyMigrations(this.pglite);
      this.logger.log(`Embedded PostgreSQL ready (${applied} migration(s) applied)`);
    }
    await this.$connect();
  }

  async onModuleDestroy(): Promise<void> {
    await this.$disconnect();
    await this.pglite?.close();
  }
}

function openPglite(dir: string): PGlite {
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  return new PGlite(dir);
}

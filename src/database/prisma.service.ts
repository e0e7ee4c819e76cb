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

/** DI token: an embedded database opened by the caller (tests running two instances on one), or null. */
export const SHARED_EMBEDDED_DATABASE = Symbol('SHARED_EMBEDDED_DATABASE');

@Injectable()
export class PrismaService extends PrismaClient implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PrismaService.name);
  private readonly pglite: PGlite | null;
  private readonly ownsPglite: boolean;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(SHARED_EMBEDDED_DATABASE) shared: PGlite | null,
  ) {
    const pglite = config.databaseUrl === null ? (shared ?? openPglite(config.embeddedDatabaseDir)) : null;
    super({
      adapter: pglite
        ? // pglite-prisma-adapter 0.6 is typed against driver-adapter-utils 6.10, whose ArgType differs from
          // 6.19's; it never reads argTypes, so the two are the same at run time.
          (new PrismaPGlite(pglite) as unknown as PrismaPg)
        : new PrismaPg({ connectionString: config.databaseUrl as string }),
    });
    this.pglite = pglite;
    this.ownsPglite = shared === null;
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
    if (this.ownsPglite) await this.pglite?.close();
  }
}

function openPglite(dir: string): PGlite {
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  return new PGlite(dir);
}

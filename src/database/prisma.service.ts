// The Prisma client, on PostgreSQL (DATABASE_URL) or, in development and tests, on embedded PGlite.
import type * as PGliteModule from '@electric-sql/pglite';
import type { PGlite } from '@electric-sql/pglite';
import type * as PGliteAdapterModule from 'pglite-prisma-adapter';
import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { mkdirSync } from 'node:fs';
import { Pool } from 'pg';
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
  /** pg's pool, shared by Prisma's adapter and `queryRows` (null on the embedded database). */
  private readonly pool: Pool | null;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(SHARED_EMBEDDED_DATABASE) shared: PGlite | null,
  ) {
    const pglite = config.databaseUrl === null ? (shared ?? openPglite(config.embeddedDatabaseDir)) : null;
    const pool = pglite ? null : new Pool({ connectionString: config.databaseUrl as string });
    super({
      adapter: pglite
        ? // pglite-prisma-adapter 0.6 is typed against driver-adapter-utils 6.10, whose ArgType differs from
          // 6.19's; it never reads argTypes, so the two are the same at run time.
          (new (embedded().PrismaPGlite)(pglite) as unknown as PrismaPg)
        : new PrismaPg(pool as Pool),
    });
    this.pglite = pglite;
    this.ownsPglite = shared === null;
    this.pool = pool;
    // A connection that breaks while idle is dropped by the pool; without a listener it would crash the process.
    pool?.on('error', (error) => this.logger.warn(`Idle database connection lost: ${error.message}`));
  }

  /**
   * One parameterised statement straight on the driver (pg's pool, or PGlite), rows as the driver gives
   * them. For the read path deposit services call on every transfer, where the Prisma client's per-call
   * query planning cost more than the query; repositories only.
   */
  async queryRows<T>(text: string, values: readonly unknown[]): Promise<T[]> {
    if (this.pglite) return (await this.pglite.query<T>(text, [...values])).rows;
    return (await (this.pool as Pool).query<T & object>(text, [...values])).rows;
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
    await this.pool?.end();
    if (this.ownsPglite) await this.pglite?.close();
  }
}

// The embedded database's packages load only when it is used: production never pays their start-up cost.
function embedded(): {
  PGlite: typeof PGliteModule.PGlite;
  PrismaPGlite: typeof PGliteAdapterModule.PrismaPGlite;
} {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { PGlite } = require('@electric-sql/pglite') as typeof PGliteModule;
  const { PrismaPGlite } = require('pglite-prisma-adapter') as typeof PGliteAdapterModule;
  /* eslint-enable @typescript-eslint/no-require-imports */
  return { PGlite, PrismaPGlite };
}

function openPglite(dir: string): PGlite {
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  return new (embedded().PGlite)(dir);
}

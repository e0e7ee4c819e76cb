// Prisma CLI configuration: migrations run on the WebAssembly schema engine through a pg driver
// adapter, so no native engine is downloaded (see prisma/offline-engine.stub).
import type { PrismaConfig } from 'prisma';
import { createPgPool, MigrationPrismaPg } from './src/database/pg-pool';

export default {
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  adapter() {
    const connectionString = process.env.DATABASE_URL;
    if (!connectionString) throw new Error('DATABASE_URL is required to run migrations');
    return Promise.resolve(new MigrationPrismaPg(createPgPool(connectionString)));
  },
} satisfies PrismaConfig;

import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { PGlite } from '@electric-sql/pglite';
import { PrismaService, SHARED_EMBEDDED_DATABASE } from './prisma.service';

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(sharedEmbeddedDatabase: PGlite | null = null): DynamicModule {
    return {
      module: DatabaseModule,
      providers: [PrismaService, { provide: SHARED_EMBEDDED_DATABASE, useValue: sharedEmbeddedDatabase }],
      exports: [PrismaService],
    };
  }
}

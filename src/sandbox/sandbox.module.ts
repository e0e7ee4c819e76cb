import { Module } from '@nestjs/common';
import { BluumSandboxController } from './bluum-sandbox.controller';
import { BluumSandboxStore } from './bluum-sandbox.store';

/** Development and tests only: AppModule leaves it out in production. */
@Module({ controllers: [BluumSandboxController], providers: [BluumSandboxStore] })
export class SandboxModule {}

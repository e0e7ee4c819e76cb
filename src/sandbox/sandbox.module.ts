import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { BluumSandboxController } from './bluum-sandbox.controller';
import { BluumSandboxStore } from './bluum-sandbox.store';
import { DemoController } from './demo.controller';
import { HostedLinkController } from './hosted-link.controller';
import { SandboxControlController } from './sandbox-control.controller';
import { SandboxPages } from './sandbox-pages';

/** Development and tests only: AppModule leaves it out in production, with the demo page and its token endpoint. */
@Module({
  imports: [UsersModule],
  controllers: [BluumSandboxController, HostedLinkController, DemoController, SandboxControlController],
  providers: [BluumSandboxStore, SandboxPages],
})
export class SandboxModule {}

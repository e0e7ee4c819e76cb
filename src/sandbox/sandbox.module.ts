import { Module } from '@nestjs/common';
import { BluumEndpoint } from '../bluum/bluum-endpoint';
import { BluumModule } from '../bluum/bluum.module';
import { UsersModule } from '../users/users.module';
import { BluumSandboxController } from './bluum-sandbox.controller';
import { BluumSandboxStore } from './bluum-sandbox.store';
import { BluumStandIn } from './bluum-stand-in';
import { DemoController } from './demo.controller';
import { HostedLinkController } from './hosted-link.controller';
import { SandboxControlController } from './sandbox-control.controller';
import { SandboxPages } from './sandbox-pages';

/** Development and tests only: AppModule leaves it out in production, with the demo page and its token endpoint. */
@Module({
  imports: [UsersModule, BluumModule],
  controllers: [BluumSandboxController, HostedLinkController, DemoController, SandboxControlController],
  providers: [
    BluumSandboxStore,
    SandboxPages,
    {
      // The stand-in expects the very Basic header the gateway is configured to send.
      provide: BluumStandIn,
      inject: [BluumEndpoint, BluumSandboxStore],
      useFactory: (endpoint: BluumEndpoint, linking: BluumSandboxStore) =>
        new BluumStandIn({ linking, authorization: endpoint.authorization }),
    },
  ],
})
export class SandboxModule {}

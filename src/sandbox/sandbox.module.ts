import { Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
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
  imports: [UsersModule],
  controllers: [BluumSandboxController, HostedLinkController, DemoController, SandboxControlController],
  providers: [
    BluumSandboxStore,
    SandboxPages,
    {
      // The stand-in checks the very key pair the gateway is configured to send.
      provide: BluumStandIn,
      inject: [APP_CONFIG, BluumSandboxStore],
      useFactory: (config: AppConfig, linking: BluumSandboxStore) =>
        new BluumStandIn({
          linking,
          credentials: { apiKey: config.bluumApiKey, apiSecret: config.bluumApiSecret },
        }),
    },
  ],
})
export class SandboxModule {}

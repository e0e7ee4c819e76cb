import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import type { BluumConfig } from '../config/app-config';
import { BLUUM_CONFIG } from '../config/config.module';
import { BluumBulkhead } from './bluum-bulkhead';
import { BluumEndpoint } from './bluum-endpoint';
import { BluumHttp } from './bluum-http';
import { BluumGateway } from './bluum.gateway';
import { HttpBluumGateway } from './http-bluum.gateway';
import { InvestorsBluumGateway } from './investors-bluum.gateway';

/** The adapter of the configured generation (BLUUM_API_VERSION): nothing above the port learns which. */
export function bluumGatewayFor(config: BluumConfig, http: BluumHttp, endpoint: BluumEndpoint): BluumGateway {
  return config.bluumApiVersion === 'investors'
    ? new InvestorsBluumGateway(http, endpoint)
    : new HttpBluumGateway(http, endpoint);
}

@Module({
  imports: [HttpModule],
  providers: [
    BluumEndpoint,
    BluumBulkhead,
    BluumHttp,
    {
      provide: BluumGateway,
      inject: [BLUUM_CONFIG, BluumHttp, BluumEndpoint],
      useFactory: bluumGatewayFor,
    },
  ],
  exports: [BluumGateway, BluumEndpoint],
})
export class BluumModule {}

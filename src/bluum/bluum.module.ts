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

@Module({
  imports: [HttpModule],
  providers: [
    BluumEndpoint,
    BluumBulkhead,
    BluumHttp,
    {
      // One generation per process (BLUUM_API_VERSION): nothing above the port learns which.
      provide: BluumGateway,
      inject: [BLUUM_CONFIG, BluumHttp, BluumEndpoint],
      useFactory: (config: BluumConfig, http: BluumHttp, endpoint: BluumEndpoint): BluumGateway =>
        config.bluumApiVersion === 'investors'
          ? new InvestorsBluumGateway(http, endpoint)
          : new HttpBluumGateway(http, endpoint),
    },
  ],
  exports: [BluumGateway, BluumEndpoint],
})
export class BluumModule {}

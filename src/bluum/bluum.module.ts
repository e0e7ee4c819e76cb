import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { BluumBulkhead } from './bluum-bulkhead';
import { BluumEndpoint } from './bluum-endpoint';
import { BluumHttp } from './bluum-http';
import { BluumGateway } from './bluum.gateway';
import { HttpBluumGateway } from './http-bluum.gateway';

@Module({
  imports: [HttpModule],
  providers: [BluumEndpoint, BluumBulkhead, BluumHttp, { provide: BluumGateway, useClass: HttpBluumGateway }],
  exports: [BluumGateway, BluumEndpoint],
})
export class BluumModule {}

import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { BluumBulkhead } from './bluum-bulkhead';
import { BluumEndpoint } from './bluum-endpoint';
import { BluumGateway } from './bluum.gateway';
import { HttpBluumGateway } from './http-bluum.gateway';

@Module({
  imports: [HttpModule],
  providers: [BluumEndpoint, BluumBulkhead, { provide: BluumGateway, useClass: HttpBluumGateway }],
  exports: [BluumGateway, BluumEndpoint],
})
export class BluumModule {}

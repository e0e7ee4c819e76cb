import { HttpModule } from '@nestjs/axios';
import { Module } from '@nestjs/common';
import { BluumEndpoint } from './bluum-endpoint';
import { BluumGateway } from './bluum.gateway';
import { HttpBluumGateway } from './http-bluum.gateway';

@Module({
  imports: [HttpModule],
  providers: [BluumEndpoint, { provide: BluumGateway, useClass: HttpBluumGateway }],
  exports: [BluumGateway, BluumEndpoint],
})
export class BluumModule {}

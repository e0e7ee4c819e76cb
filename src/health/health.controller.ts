import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/access.decorator';
import { PrismaService } from '../database/prisma.service';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly prisma: PrismaService,
  ) {}

  @Get('live')
  @HealthCheck()
  // security: [] says in the OpenAPI document that this route needs no token.
  @ApiOperation({ operationId: 'healthLive', summary: 'The process is up', security: [] })
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({
    operationId: 'healthReady',
    summary: 'The database is reachable and takes writes (503 when not)',
    security: [],
  })
  async ready(@Res({ passthrough: true }) reply: FastifyReply): Promise<HealthCheckResult> {
    try {
      return await this.health.check([() => this.database()]);
    } catch (err) {
      // Terminus signals "down" with a 503 exception; answer it here, with its report, rather than
      // let the API's error filter turn it into an error envelope.
      if (!(err instanceof ServiceUnavailableException)) throw err;
      void reply.status(503);
      return err.getResponse() as HealthCheckResult;
    }
  }

  private async database() {
    const indicator = this.indicators.check('database');
    // Side by side: both answer within the readiness limit.
    const [reachable, writable] = await Promise.all([this.prisma.ping(), this.prisma.canWrite()]);
    if (!reachable) return indicator.down({ message: 'database unreachable or not answering' });
    // A failover in progress: reads are still served, but a load balancer should send writes elsewhere.
    if (!writable) return indicator.down({ message: 'database refuses writes (read-only)' });
    return indicator.up();
  }
}

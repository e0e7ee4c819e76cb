import { Controller, Get, Optional, Res, ServiceUnavailableException } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  type HealthCheckResult,
  HealthCheckService,
  HealthIndicatorService,
} from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../auth/access.decorator';
import { Clock, SYSTEM_CLOCK } from '../common/clock';
import { PrismaService } from '../database/prisma.service';

// /health/ready is public and asks the read pool the deposit services share: whoever calls it, however
// often, the database is asked at most once in this long (callers meanwhile share the answer, or the
// check in flight). A load balancer probes every few seconds; this is well inside that.
const READY_CACHE_MS = 1_000;

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private lastCheck: { at: number; result: Promise<{ up: boolean; result: HealthCheckResult }> } | null =
    null;

  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly prisma: PrismaService,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
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
    const now = this.clock.now();
    if (this.lastCheck === null || now - this.lastCheck.at >= READY_CACHE_MS) {
      this.lastCheck = { at: now, result: this.check() };
    }
    const { up, result } = await this.lastCheck.result;
    if (!up) void reply.status(503);
    return result;
  }

  private async check(): Promise<{ up: boolean; result: HealthCheckResult }> {
    try {
      return { up: true, result: await this.health.check([() => this.database()]) };
    } catch (err) {
      // Terminus signals "down" with a 503 exception; answer it here, with its report, rather than
      // let the API's error filter turn it into an error envelope. Anything else is not cached.
      if (!(err instanceof ServiceUnavailableException)) {
        this.lastCheck = null;
        throw err;
      }
      return { up: false, result: err.getResponse() as HealthCheckResult };
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

import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Public } from '../auth/access.decorator';
import { AppError } from '../common/app-error';
import type { HttpConfig } from '../config/app-config';
import { HTTP_CONFIG } from '../config/config.module';
import { MetricsService } from './metrics.service';

/**
 * Prometheus scrapes this; it is for operators, not API clients, so it stays out of Swagger. It is on the
 * API's listener, so with METRICS_TOKEN set only `Authorization: Bearer <METRICS_TOKEN>` may read it
 * (Prometheus: `authorization: { credentials: … }` in the scrape config). Without one it is open in
 * development and, in production, only with METRICS_PUBLIC=true: otherwise every request gets 401.
 */
@ApiExcludeController()
@Public()
@Controller('metrics')
export class MetricsController {
  // Compared as digests: equal lengths for timingSafeEqual, and no early exit on the first differing byte.
  private readonly expected: Buffer | null;
  private readonly open: boolean;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(HTTP_CONFIG) config: HttpConfig,
  ) {
    this.expected = config.metricsToken === null ? null : digest(`Bearer ${config.metricsToken}`);
    this.open = config.metricsOpen;
  }

  @Get()
  scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const allowed =
      this.expected === null ? this.open : timingSafeEqual(digest(authorization ?? ''), this.expected);
    if (!allowed) throw new AppError('UNAUTHENTICATED', 'The metrics token (METRICS_TOKEN) is required.');
    // Set here, not with @Header: a refusal is the JSON error envelope.
    void reply.header('content-type', this.metrics.registry.contentType);
    return this.metrics.registry.metrics();
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

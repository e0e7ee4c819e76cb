import { Inject, Injectable } from '@nestjs/common';
import { AppError } from '../common/app-error';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';

/**
 * A per-instance cap on calls to Bluum in flight (BLUUM_MAX_CONCURRENCY). A slow Bluum then ties up at
 * most that many requests; the next one is refused at once with 503 BLUUM_BUSY instead of queueing, and
 * Bluum's own rate limit (25 requests a second per key pair) is not stormed by one instance.
 */
@Injectable()
export class BluumBulkhead {
  private readonly limit: number;
  private inFlight = 0;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly metrics: MetricsService,
  ) {
    this.limit = config.bluumMaxConcurrency;
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.limit) {
      this.metrics.countBulkheadRejection();
      throw new AppError(
        'BLUUM_BUSY',
        'Too many calls to Bluum are in flight on this instance. Nothing was changed; try again shortly.',
      );
    }
    this.inFlight++;
    this.metrics.bluumInFlight.set(this.inFlight);
    try {
      return await work();
    } finally {
      this.inFlight--;
      this.metrics.bluumInFlight.set(this.inFlight);
    }
  }
}

// What operators watch: requests, Bluum calls, the database pools and the bulkhead, in Prometheus'
// text format (prom-client). Labels are route templates, operations, outcomes and pool names only: never
// an id, a token or anything a caller chose.
import { Injectable } from '@nestjs/common';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Pool } from 'pg';
import { PrismaService } from '../database/prisma.service';

export type BluumOperation = 'link_token' | 'connect' | 'list' | 'disconnect';

// Reads take milliseconds, Bluum calls up to BLUUM_TIMEOUT_MS: buckets cover both.
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly requests = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status, with their latency.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly bluumCalls = new Histogram({
    name: 'bluum_call_duration_seconds',
    help: 'Calls to Bluum by operation and outcome (success, or the error code answered), with their latency.',
    labelNames: ['operation', 'outcome'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  private readonly bulkheadRejections = new Counter({
    name: 'bluum_bulkhead_rejections_total',
    help: 'Bluum-bound requests refused with 503 BLUUM_BUSY because BLUUM_MAX_CONCURRENCY calls were in flight.',
    registers: [this.registry],
  });

  private readonly webhookAttempts = new Counter({
    name: 'webhook_delivery_attempts_total',
    help: 'Attempts to deliver an event by outcome: delivered (2xx), retry (will be tried again), failed (gave up after 24 h).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly bluumInFlight = new Gauge({
    name: 'bluum_calls_in_flight',
    help: 'Calls to Bluum in flight on this instance.',
    registers: [this.registry],
  });

  constructor(prisma: PrismaService) {
    collectDefaultMetrics({ register: this.registry });
    const pools: [string, Pool | null][] = [
      ['write', prisma.pool],
      ['read', prisma.readPool],
    ];
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database pool connections by pool (write, read) and state (in_use, idle, waiting requests).',
      labelNames: ['pool', 'state'] as const,
      registers: [this.registry],
      collect() {
        for (const [name, pool] of pools) {
          if (!pool) continue;
          this.set({ pool: name, state: 'in_use' }, pool.totalCount - pool.idleCount);
          this.set({ pool: name, state: 'idle' }, pool.idleCount);
          this.set({ pool: name, state: 'waiting' }, pool.waitingCount);
        }
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.observe({ method, route, status: String(status) }, seconds);
  }

  observeBluumCall(operation: BluumOperation, outcome: string, seconds: number): void {
    this.bluumCalls.observe({ operation, outcome }, seconds);
  }

  countBulkheadRejection(): void {
    this.bulkheadRejections.inc();
  }

  countWebhookAttempt(outcome: 'delivered' | 'retry' | 'failed'): void {
    this.webhookAttempts.inc({ outcome });
  }
}

// What operators watch: requests, Bluum calls, the database pools and the bulkhead, in Prometheus'
// text format (prom-client). Labels are route templates, operations, outcomes and pool names only: never
// an id, a token or anything a caller chose.
import { Injectable } from '@nestjs/common';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { Pool } from 'pg';
import { PrismaService } from '../database/prisma.service';

export type BluumOperation = 'link_token' | 'connect' | 'list' | 'disconnect';
export type ReconcileUserOutcome = 'unchanged' | 'changed' | 'failed';
export type ReconcileSweepOutcome = 'complete' | 'stopped' | 'lease_lost' | 'database_unavailable';

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
    help: 'Bluum-bound requests refused before Bluum: limit="instance" is 503 BLUUM_BUSY (BLUUM_MAX_CONCURRENCY calls in flight), limit="user" is 429 RATE_LIMITED (BLUUM_MAX_CONCURRENCY_PER_USER of one user).',
    labelNames: ['limit'],
    registers: [this.registry],
  });

  private readonly webhookAttempts = new Counter({
    name: 'webhook_delivery_attempts_total',
    help: 'Attempts to deliver an event by outcome: delivered (2xx), retry (will be tried again), failed (gave up after 24 h).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly reconcileSweeps = new Counter({
    name: 'reconcile_sweeps_total',
    help: 'Reconciliation sweeps this instance ran, by how each ended: complete, stopped (shutdown), lease_lost (another instance took the run over) or database_unavailable.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly reconcileUsers = new Counter({
    name: 'reconcile_users_total',
    help: "Users the reconciliation sweep checked against Bluum's list, by outcome: unchanged, changed (an audit event written), failed (retried next sweep).",
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  private readonly reconcileSweepDuration = new Histogram({
    name: 'reconcile_sweep_duration_seconds',
    help: 'How long each reconciliation sweep on this instance took.',
    buckets: [1, 5, 15, 60, 300, 900, 1800, 3600, 7200],
    registers: [this.registry],
  });

  private readonly reconcileLastSweep = new Gauge({
    name: 'reconcile_last_sweep_timestamp_seconds',
    help: 'When the last reconciliation sweep on this instance ended (unix seconds).',
    registers: [this.registry],
  });

  readonly bluumInFlight = new Gauge({
    name: 'bluum_calls_in_flight',
    help: 'Calls to Bluum in flight on this instance.',
    registers: [this.registry],
  });

  constructor(prisma: PrismaService) {
    collectDefaultMetrics({ register: this.registry });
    // Both series from the start: an alert on a rate of either needs the 0 before the first refusal.
    for (const limit of ['instance', 'user']) this.bulkheadRejections.inc({ limit }, 0);
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
    // Each request would otherwise hash its label set anew: the series are few (routes × statuses), and
    // each one's child is looked up by one string.
    const key = `${method} ${status} ${route}`;
    let series = this.requestSeries.get(key);
    if (series === undefined) {
      series = this.requests.labels({ method, route, status: String(status) });
      this.requestSeries.set(key, series);
    }
    series.observe(seconds);
  }

  private readonly requestSeries = new Map<string, { observe(value: number): void }>();

  observeBluumCall(operation: BluumOperation, outcome: string, seconds: number): void {
    this.bluumCalls.observe({ operation, outcome }, seconds);
  }

  countBulkheadRejection(limit: 'instance' | 'user'): void {
    this.bulkheadRejections.inc({ limit });
  }

  countReconciledUser(outcome: ReconcileUserOutcome): void {
    this.reconcileUsers.inc({ outcome });
  }

  observeReconcileSweep(outcome: ReconcileSweepOutcome, seconds: number): void {
    this.reconcileSweeps.inc({ outcome });
    this.reconcileSweepDuration.observe(seconds);
    this.reconcileLastSweep.set(Date.now() / 1000);
  }

  countWebhookAttempt(outcome: 'delivered' | 'retry' | 'failed'): void {
    this.webhookAttempts.inc({ outcome });
  }
}

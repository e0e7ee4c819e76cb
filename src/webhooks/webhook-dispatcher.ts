import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { Webhook } from 'standardwebhooks';
import type { WebhooksConfig } from '../config/app-config';
import { WEBHOOKS_CONFIG } from '../config/config.module';
import { MetricsService } from '../metrics/metrics.service';
import { type ClaimedDelivery, WebhookDeliveriesRepository } from './webhook-deliveries.repository';
import { nextAttempt } from './webhook-events';
import { describeError } from '../common/describe-error';

// Every instance looks for due deliveries this often (a cheap look at a partial index of pending rows).
const POLL_MS = 500;
// Attempts one instance has in flight at most.
const MAX_IN_FLIGHT = 20;
const USER_AGENT = 'bluum-bank-linking-webhooks/1';

/**
 * Sends the outbox's events: claims due deliveries (any instance, each delivery once at a time), POSTs
 * each one signed as Standard Webhooks has it (the `standardwebhooks` package signs) with its receiver's
 * own secret, so that no receiver can forge events to another, and records the outcome: delivered on a
 * 2xx, otherwise retried with backoff for 24 h, then failed. Nothing waits on it: requests only write the
 * outbox in their own transaction.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookDispatcher.name);
  /** Each configured receiver's signer, by its URL (WEBHOOK_URLS and WEBHOOK_SECRET, paired in order). */
  private readonly signers: ReadonlyMap<string, Webhook>;
  private readonly retryBaseMs: number;
  private readonly urls: readonly string[];
  private readonly timeoutMs: number;
  // A claimed attempt whose instance died is tried again after this long (well past the attempt's timeout).
  private readonly claimLeaseMs: number;
  private readonly stopping = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  // Attempts under way: a slow receiver holds only its own, never the next claims.
  private readonly inFlight = new Set<Promise<void>>();
  private databaseDown = false;

  constructor(
    private readonly deliveries: WebhookDeliveriesRepository,
    private readonly metrics: MetricsService,
    @Inject(WEBHOOKS_CONFIG) config: WebhooksConfig,
  ) {
    this.signers = new Map(
      config.webhookUrls.map((url, index) => [url, new Webhook(config.webhookSecrets[index])]),
    );
    this.retryBaseMs = config.webhookRetryBaseMs;
    this.urls = config.webhookUrls;
    this.timeoutMs = config.webhookTimeoutMs;
    this.claimLeaseMs = 3 * config.webhookTimeoutMs;
  }

  onApplicationBootstrap(): void {
    if (this.urls.length > 0) this.schedule(0);
  }

  /** Stops polling and cuts attempts in flight short: they are recorded as due again (at least once). */
  async onModuleDestroy(): Promise<void> {
    clearTimeout(this.timer);
    this.stopping.abort();
    await this.running;
    await Promise.all(this.inFlight);
  }

  private schedule(delayMs: number): void {
    this.timer = setTimeout(() => {
      this.running = this.deliverDue().then(
        (moreMayBeDue) => {
          if (this.databaseDown) this.logger.log('webhook deliveries resumed: the database answers again');
          this.databaseDown = false;
          if (!this.stopping.signal.aborted) this.schedule(moreMayBeDue ? 0 : POLL_MS);
        },
        (err: unknown) => {
          // Once per outage, not every half second.
          if (!this.databaseDown) this.logger.warn(`webhook deliveries paused: ${describeError(err)}`);
          this.databaseDown = true;
          if (!this.stopping.signal.aborted) this.schedule(POLL_MS * 4);
        },
      );
    }, delayMs);
    this.timer.unref();
  }

  /**
   * Claims as many due deliveries as there is room for in flight and starts each attempt without
   * waiting for it. True when it claimed all it had room for: more may be due.
   */
  private async deliverDue(): Promise<boolean> {
    const room = MAX_IN_FLIGHT - this.inFlight.size;
    if (this.urls.length === 0 || this.stopping.signal.aborted || room === 0) return false;
    const claimed = await this.deliveries.claimDue(this.urls, room, this.claimLeaseMs);
    for (const delivery of claimed) {
      const attempt = this.attempt(delivery)
        .catch((err: unknown) => this.logger.warn(`webhook delivery ${delivery.id}: ${describeError(err)}`))
        .finally(() => this.inFlight.delete(attempt));
      this.inFlight.add(attempt);
    }
    return claimed.length === room;
  }

  private async attempt(delivery: ClaimedDelivery): Promise<void> {
    const outcome = await this.post(delivery);
    try {
      if (outcome.ok) {
        await this.deliveries.markDelivered(delivery, outcome.status);
        this.metrics.countWebhookAttempt('delivered');
        return;
      }
      // Cut short by shutdown: due again at once, for whichever instance is still up.
      const next = this.stopping.signal.aborted
        ? { retryAt: new Date() }
        : nextAttempt(delivery.attempts, this.retryBaseMs, new Date(), delivery.giveUpAt);
      await this.deliveries.markAttemptFailed(delivery, outcome, next === 'give-up' ? null : next.retryAt);
      this.metrics.countWebhookAttempt(next === 'give-up' ? 'failed' : 'retry');
      // The receiver's origin only: a path or query may carry the receiver's own token.
      this.logger.warn(
        `webhook delivery ${delivery.id} to ${new URL(delivery.url).origin}: ${outcome.error}, ` +
          (next === 'give-up'
            ? `attempt ${delivery.attempts}, marked failed`
            : `attempt ${delivery.attempts}, retry at ${next.retryAt.toISOString()}`),
      );
    } catch (err) {
      // The database went away after the attempt: the claim expires and the attempt is repeated.
      this.logger.warn(
        `webhook delivery ${delivery.id}: recording the attempt failed: ${describeError(err)}`,
      );
    }
  }

  private async post(
    delivery: ClaimedDelivery,
  ): Promise<{ ok: true; status: number } | { ok: false; responseStatus: number | null; error: string }> {
    // Claimed only among this.urls, so its receiver's signer is there.
    const signer = this.signers.get(delivery.url) as Webhook;
    const sentAt = new Date();
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': USER_AGENT,
          'webhook-id': delivery.eventId,
          'webhook-timestamp': String(Math.floor(sentAt.getTime() / 1000)),
          'webhook-signature': signer.sign(delivery.eventId, sentAt, delivery.payload),
        },
        body: delivery.payload,
        // A redirect is an answer, not an instruction: the event goes only where it was configured to.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(this.timeoutMs), this.stopping.signal]),
      });
      // The receiver's body is not needed, and a large one must not be buffered.
      await response.body?.cancel().catch(() => undefined);
      return response.status >= 200 && response.status < 300
        ? { ok: true, status: response.status }
        : { ok: false, responseStatus: response.status, error: `HTTP ${response.status}` };
    } catch (err) {
      return {
        ok: false,
        responseStatus: null,
        error: transportError(err, this.stopping.signal.aborted, this.timeoutMs),
      };
    }
  }
}

function transportError(err: unknown, shuttingDown: boolean, timeoutMs: number): string {
  if (shuttingDown) return 'interrupted by shutdown';
  if (err instanceof Error && err.name === 'TimeoutError') {
    return `no answer within ${timeoutMs} ms`;
  }
  const code = (err as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === 'string' ? `connection failed (${code})` : 'connection failed';
}

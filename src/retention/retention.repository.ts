import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service';

// Each method removes one batch, found by index, and says how many rows it touched: the caller repeats
// until a batch comes back short, so no statement holds locks on more than `batch` rows. Ages are judged
// on the database's clock.
@Injectable()
export class RetentionRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Idempotency keys past their expiry (a replay after that is a new request anyway). */
  deleteExpiredIdempotencyKeys(batch: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM idempotency_keys
       WHERE (subject, key) IN (
         SELECT subject, key FROM idempotency_keys WHERE expires_at < now() LIMIT ${batch})`;
  }

  /**
   * Drops the stored connect response of public-token exchanges completed more than `hours` ago. The
   * token's hash and user stay, so the token is still refused if it comes again.
   */
  dropExchangeResponses(hours: number, batch: number): Promise<number> {
    return this.prisma.$executeRaw`
      UPDATE public_token_exchanges SET response = NULL
       WHERE token_hash IN (
         SELECT token_hash FROM public_token_exchanges
          WHERE response IS NOT NULL AND completed_at < now() - ${hours} * interval '1 hour'
          LIMIT ${batch})`;
  }

  /**
   * Webhook deliveries settled long ago: delivered ones queued more than `deliveredDays` ago, failed ones
   * more than `failedDays` ago (admins have that long to look at them and send them again). Pending
   * ones stay (they are the outbox), unless their retries ended more than `failedDays` ago: those were
   * never claimed, because their receiver left WEBHOOK_URLS.
   */
  deleteSettledWebhookDeliveries(deliveredDays: number, failedDays: number, batch: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM webhook_deliveries
       WHERE id IN (
         (SELECT id FROM webhook_deliveries
           WHERE status = 'delivered' AND created_at < now() - ${deliveredDays} * interval '1 day' LIMIT ${batch})
         UNION ALL
         (SELECT id FROM webhook_deliveries
           WHERE status = 'failed' AND created_at < now() - ${failedDays} * interval '1 day' LIMIT ${batch})
         UNION ALL
         (SELECT id FROM webhook_deliveries
           WHERE status = 'pending' AND give_up_at < now() - ${failedDays} * interval '1 day' LIMIT ${batch}))`;
  }

  /** Rate-limit windows that began more than `minutes` ago (a window counts for one minute). */
  deleteRateLimitWindows(minutes: number, batch: number): Promise<number> {
    return this.prisma.$executeRaw`
      DELETE FROM rate_limit_counters
       WHERE (subject, window_start) IN (
         SELECT subject, window_start FROM rate_limit_counters
          WHERE window_start < now() - ${minutes} * interval '1 minute'
          LIMIT ${batch})`;
  }
}

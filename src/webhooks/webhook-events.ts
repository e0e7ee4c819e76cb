// What deposit services are told, and how often a delivery is tried: pure rules, tested in the spec
// beside this file. The outbox (webhook-outbox.ts) writes what these decide; the dispatcher sends it.
import type { FundingSource, FundingSourceEventType } from '../funding-sources/funding-source';

export const WEBHOOK_EVENT_TYPES = [
  'funding_source.linked',
  'funding_source.status_changed',
  'funding_source.disconnected',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/**
 * The event an audit event is published as, or null for one deposit services need not act on. A status
 * Bluum changed (to error, back to active, or to disconnected) is `status_changed`; `disconnected` is a
 * disconnect made through this API. `updated` (a name or mask Bluum corrected) is not published.
 */
export function webhookEventType(auditType: FundingSourceEventType): WebhookEventType | null {
  switch (auditType) {
    case 'linked':
      return 'funding_source.linked';
    case 'status_changed':
      return 'funding_source.status_changed';
    case 'disconnected':
      return 'funding_source.disconnected';
    case 'updated':
      return null;
  }
}

/** An event's body as receivers get it. */
export interface WebhookEventBody {
  type: WebhookEventType;
  timestamp: string;
  /** The funding source's event count when this one happened: a receiver drops an event below its last. */
  sequence: number;
  data: FundingSource;
}

/**
 * The body of an event: the same bytes for every receiver and every retry (stored, never rebuilt), so a
 * retry carries its original `sequence` and a receiver that has seen a later one can tell it is stale.
 */
export function webhookPayload(
  type: WebhookEventType,
  at: Date,
  sequence: number,
  data: FundingSource,
): string {
  const body: WebhookEventBody = { type, timestamp: at.toISOString(), sequence, data };
  return JSON.stringify(body);
}

/**
 * A receiver's URL as admins see it: its origin and path. A query or fragment may carry the receiver's
 * own token, so only the stored URL the dispatcher posts to has them.
 */
export function receiverForDisplay(url: string): string {
  const { origin, pathname } = new URL(url);
  return origin + pathname;
}

/** How long deliveries are retried before they are marked failed. */
export const WEBHOOK_RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
// Retries never wait longer than this, so a receiver back after an outage hears within the hour.
const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

/**
 * After failed attempt number `attempts` (1 for the first): retry after baseMs, 2·baseMs, 4·baseMs, …
 * (at most an hour, less up to a tenth at random so that receivers are not hit by every instance's
 * retries at once), or give up once the retry would come after `giveUpAt`.
 */
export function nextAttempt(
  attempts: number,
  baseMs: number,
  now: Date,
  giveUpAt: Date,
  random: () => number = Math.random,
): { retryAt: Date } | 'give-up' {
  const delay = Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.min(attempts - 1, 30));
  const retryAt = new Date(now.getTime() + Math.round(delay * (1 - random() / 10)));
  return retryAt.getTime() > giveUpAt.getTime() ? 'give-up' : { retryAt };
}

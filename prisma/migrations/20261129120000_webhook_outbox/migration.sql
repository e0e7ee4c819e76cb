-- The transactional outbox of funding-source events: one row per event and receiver, written in the
-- transaction of the change itself, then delivered (at least once) by whichever instance claims it.
CREATE TYPE "WebhookDeliveryStatus" AS ENUM ('pending', 'delivered', 'failed');

CREATE TABLE "webhook_deliveries" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "seq" BIGSERIAL NOT NULL,
    "event_id" VARCHAR(64) NOT NULL,
    "event_type" VARCHAR(64) NOT NULL,
    "funding_source_id" UUID NOT NULL,
    "url" VARCHAR(2048) NOT NULL,
    "payload" TEXT NOT NULL,
    "status" "WebhookDeliveryStatus" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    "give_up_at" TIMESTAMPTZ(3) NOT NULL,
    "last_attempt_at" TIMESTAMPTZ(3),
    "last_response_status" INTEGER,
    "last_error" VARCHAR(255),
    "delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT now(),
    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "webhook_deliveries_seq_key" ON "webhook_deliveries"("seq");
-- The workers' look for due deliveries, and for an earlier one of the same funding source and receiver
-- still pending (events of one funding source go out in order): both on pending rows only, a small set.
CREATE INDEX "webhook_deliveries_due_idx" ON "webhook_deliveries"("next_attempt_at") WHERE "status" = 'pending';
CREATE INDEX "webhook_deliveries_queue_idx" ON "webhook_deliveries"("funding_source_id", "url", "seq")
  WHERE "status" = 'pending';
-- The admin listing, newest first, with and without a status filter.
CREATE INDEX "webhook_deliveries_created_at_id_idx" ON "webhook_deliveries"("created_at" DESC, "id" DESC);
CREATE INDEX "webhook_deliveries_status_created_at_id_idx"
  ON "webhook_deliveries"("status", "created_at" DESC, "id" DESC);

-- Admin listing at millions of funding sources: every filter walks an index in the keyset order
-- (created_at DESC, id DESC) instead of sorting the table.

-- The institution name of its item on each of its accounts (kept equal by the repository), so that a listing
-- by institution walks one index range per matching name.
ALTER TABLE "bank_accounts" ADD COLUMN "institution_name" VARCHAR(255) NOT NULL DEFAULT '';
UPDATE "bank_accounts" a SET "institution_name" = i."institution_name"
  FROM "plaid_items" i WHERE i."id" = a."plaid_item_id";
ALTER TABLE "bank_accounts" ALTER COLUMN "institution_name" DROP DEFAULT;

-- Every institution name ever stored: a few thousand rows at most, where the contains filter is
-- matched before the accounts are walked.
CREATE TABLE "institution_names" (
    "name" VARCHAR(255) NOT NULL,
    CONSTRAINT "institution_names_pkey" PRIMARY KEY ("name")
);
INSERT INTO "institution_names" ("name") SELECT DISTINCT "institution_name" FROM "plaid_items";

CREATE INDEX "bank_accounts_created_at_id_idx" ON "bank_accounts"("created_at" DESC, "id" DESC);
CREATE INDEX "bank_accounts_status_created_at_id_idx" ON "bank_accounts"("status", "created_at" DESC, "id" DESC);
CREATE INDEX "bank_accounts_institution_name_created_at_id_idx"
  ON "bank_accounts"("institution_name", "created_at" DESC, "id" DESC);
CREATE INDEX "bank_accounts_institution_name_status_created_at_id_idx"
  ON "bank_accounts"("institution_name", "status", "created_at" DESC, "id" DESC);

-- Retention: the sweep finds what it removes by index, in small batches.
CREATE INDEX "public_token_exchanges_completed_at_idx" ON "public_token_exchanges"("completed_at")
  WHERE "response" IS NOT NULL;
CREATE INDEX "rate_limit_counters_window_start_idx" ON "rate_limit_counters"("window_start");

-- Schedules of background jobs, shared by every instance: whoever claims a due run does it, the others skip.
CREATE TABLE "scheduled_jobs" (
    "name" VARCHAR(64) NOT NULL,
    "next_run_at" TIMESTAMPTZ(3) NOT NULL,
    "lease_until" TIMESTAMPTZ(3),
    CONSTRAINT "scheduled_jobs_pkey" PRIMARY KEY ("name")
);

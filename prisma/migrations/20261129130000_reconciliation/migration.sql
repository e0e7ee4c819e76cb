-- Reconciliation: every RECONCILE_INTERVAL_SECONDS one instance walks the users with items not all
-- disconnected and brings them in line with Bluum's list, least recently reconciled first.

-- When the sweep last reconciled the user (null: never). A failed user keeps its old value, so it is
-- first in line next sweep.
ALTER TABLE "users" ADD COLUMN "reconciled_at" TIMESTAMPTZ(3);

-- The walk: first the never-reconciled users (reconciled_at IS NULL, by id), then the rest by
-- (reconciled_at, id), each in keyset pages over this one index.
CREATE INDEX "users_reconciled_at_id_idx" ON "users"("reconciled_at", "id");

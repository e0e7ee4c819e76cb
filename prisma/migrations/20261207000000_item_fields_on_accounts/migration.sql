-- The deposit services' read path (a user's funding sources, one funding source, the admin listing)
-- reads bank_accounts alone: each account carries the fields of its item that a FundingSource shows,
-- kept equal to the item's by the repository in the transaction that writes the item. plaid_items stays
-- the item's record (its status, its disconnect lease); these are copies for reading.
ALTER TABLE "bank_accounts"
  ADD COLUMN "item_id" VARCHAR(255),
  ADD COLUMN "institution_id" VARCHAR(255),
  ADD COLUMN "bluum_funding_source_id" VARCHAR(255);

-- From each account's item; institution_name (copied since 20261129100000) is taken again with them, so
-- that all four are the item's as of this migration. updated_at stays: no funding source changed.
UPDATE "bank_accounts" a
   SET "item_id" = i."item_id",
       "institution_id" = i."institution_id",
       "institution_name" = i."institution_name",
       "bluum_funding_source_id" = i."bluum_funding_source_id"
  FROM "plaid_items" i
 WHERE i."id" = a."plaid_item_id";

-- NOT NULL as the item's own column is; every account has an item (a foreign key), so none is left null.
ALTER TABLE "bank_accounts" ALTER COLUMN "item_id" SET NOT NULL;

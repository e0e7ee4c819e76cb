-- The institution id a client sent with a connect (Plaid Link's onSuccess metadata), kept apart from the
-- one Bluum names (institution_id, which deposit services and webhooks are told). Bluum's investors
-- generation names none, so until now the client's claim was stored as if Bluum had said it. The claim
-- keys the duplicate check only, and a sync never turns it into Bluum's word.
ALTER TABLE "plaid_items" ADD COLUMN "claimed_institution_id" VARCHAR(255);

-- Rows of the investors generation (their accounts transfer by funding_source_id) got their institution
-- id from the client: it moves to the claim, and their accounts' copies are cleared.
UPDATE "plaid_items" i
   SET "claimed_institution_id" = i."institution_id", "institution_id" = NULL
 WHERE i."institution_id" IS NOT NULL
   AND EXISTS (SELECT 1 FROM "bank_accounts" a
                WHERE a."plaid_item_id" = i."id" AND a."transfer_by" = 'funding_source_id');
UPDATE "bank_accounts" SET "institution_id" = NULL
 WHERE "transfer_by" = 'funding_source_id' AND "institution_id" IS NOT NULL;

-- The duplicate check's look-up by the claim.
CREATE INDEX "plaid_items_user_id_claimed_institution_id_idx" ON "plaid_items" ("user_id", "claimed_institution_id");

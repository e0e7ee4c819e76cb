-- How a deposit or withdrawal at Bluum names this bank account. 'plaid_options': with the item's and
-- Plaid's account ids (Bluum's accounts generation; account_id is Plaid's account id).
-- 'funding_source_id': with Bluum's own id for the account (its investors generation; account_id and
-- bluum_funding_source_id are that fs_… id, and Bluum gives no Plaid account id). Every row stored so far
-- came from the accounts generation: the default covers them without rewriting the table.
ALTER TABLE "bank_accounts"
  ADD COLUMN "transfer_by" VARCHAR(32) NOT NULL DEFAULT 'plaid_options',
  ADD CONSTRAINT "bank_accounts_transfer_by_check"
    CHECK ("transfer_by" IN ('plaid_options', 'funding_source_id'));

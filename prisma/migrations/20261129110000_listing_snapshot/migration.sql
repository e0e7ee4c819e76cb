-- The transaction that inserted each funding source, so that every page of one admin listing shows the
-- rows visible when its first page was read and no others: a row whose transaction began before that
-- (so its created_at sorts among pages already read or yet to come) but committed after, belongs to the
-- next listing. Existing rows get 1, which every snapshot sees, without rewriting the table.
ALTER TABLE "bank_accounts" ADD COLUMN "inserted_xid" xid8 NOT NULL DEFAULT '1';
ALTER TABLE "bank_accounts" ALTER COLUMN "inserted_xid" SET DEFAULT pg_current_xact_id();

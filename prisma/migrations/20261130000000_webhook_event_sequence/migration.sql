-- Every webhook body carries `sequence`: its funding source's event count so far, so a receiver can drop
-- an event older than one it already has. The counter is kept on the funding source's own row and bumped
-- in the transaction that writes the event: it only grows, whichever instance writes.
ALTER TABLE "bank_accounts" ADD COLUMN "event_sequence" INTEGER NOT NULL DEFAULT 0;

-- Each delivery keeps its event's sequence: a retry of an event that a later one superseded is refused.
ALTER TABLE "webhook_deliveries" ADD COLUMN "sequence" INTEGER;

-- Deliveries queued before this migration: numbered per funding source in the order they were queued
-- (their bodies, already sent, stay as they were), and each counter starts after its last one.
UPDATE "webhook_deliveries" d
   SET "sequence" = numbered.n
  FROM (SELECT event_id, funding_source_id,
               row_number() OVER (PARTITION BY funding_source_id ORDER BY first_seq)::int AS n
          FROM (SELECT event_id, funding_source_id, min(seq) AS first_seq
                  FROM "webhook_deliveries" GROUP BY event_id, funding_source_id) events) numbered
 WHERE d.event_id = numbered.event_id AND d.funding_source_id = numbered.funding_source_id;

UPDATE "bank_accounts" b
   SET "event_sequence" = latest.n
  FROM (SELECT funding_source_id, max("sequence") AS n FROM "webhook_deliveries" GROUP BY funding_source_id) latest
 WHERE b.id = latest.funding_source_id;

ALTER TABLE "webhook_deliveries" ALTER COLUMN "sequence" SET NOT NULL;

-- CreateTable
CREATE TABLE "funding_source_events" (
    "id" UUID NOT NULL,
    "user_id" VARCHAR(128) NOT NULL,
    "funding_source_id" UUID NOT NULL,
    "type" VARCHAR(32) NOT NULL,
    "actor" JSONB NOT NULL,
    "request_id" VARCHAR(128),
    "at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "details" JSONB NOT NULL,

    CONSTRAINT "funding_source_events_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "funding_source_events_user_id_at_id_idx" ON "funding_source_events"("user_id", "at" DESC, "id" DESC);


-- CreateTable
CREATE TABLE "rate_limit_counters" (
    "subject" VARCHAR(160) NOT NULL,
    "window_start" TIMESTAMPTZ(0) NOT NULL,
    "count" INTEGER NOT NULL,

    CONSTRAINT "rate_limit_counters_pkey" PRIMARY KEY ("subject","window_start")
);


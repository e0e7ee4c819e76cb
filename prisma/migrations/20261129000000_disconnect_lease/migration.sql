-- AlterTable
ALTER TABLE "plaid_items" ADD COLUMN     "disconnect_lease_id" UUID,
ADD COLUMN     "disconnect_lease_until" TIMESTAMPTZ(3);

-- A department whose receiver was down longer than the retries last (about 8.6 hours) asks for its failed deliveries
-- again once it is back (POST /api/exchange/v1/webhooks/{id}/recover): each goes back to pending with its tries
-- counted afresh and its webhook-id unchanged (a receiver that took it after all drops the repeat). `recovered_at`:
-- the last time it was asked for again (the delivery log shows it).
ALTER TABLE webhook_deliveries ADD COLUMN recovered_at timestamptz;

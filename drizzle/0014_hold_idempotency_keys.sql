-- Generated (the column and its constraint), then the hold function by hand. A hold is
-- placed under its tool call's idempotency key, as a booking is: the same call again (a
-- runtime retrying after a restart) finds that hold instead of placing another, so a
-- check's answer need not be stored before it goes out to be given again the same.
ALTER TABLE "holds" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_idempotency_key_unique" UNIQUE("tenant_id","idempotency_key");--> statement-breakpoint
DROP FUNCTION callhold_place_hold(text, text, text, text, tstzrange, jsonb, uuid, uuid, text, double precision, double precision, bigint);
--> statement-breakpoint
-- Returns the hold placed now, or the one placed earlier under p_key (whatever its status
-- since); a caller tells them apart by placed_at < now().
CREATE FUNCTION callhold_place_hold(
  p_tenant text, p_staff text, p_service text, p_lock_key text, p_span tstzrange, p_busy jsonb,
  p_release uuid, p_session uuid, p_call text, p_ttl_s double precision, p_max_s double precision, p_epoch bigint DEFAULT NULL, p_key text DEFAULT NULL)
RETURNS SETOF holds LANGUAGE plpgsql AS $$
DECLARE placed holds;
BEGIN
  PERFORM callhold_fence(p_tenant, p_session, p_epoch);
  IF p_key IS NOT NULL THEN
    SELECT * INTO placed FROM holds WHERE tenant_id = p_tenant AND idempotency_key = p_key;
    IF FOUND THEN RETURN NEXT placed; RETURN; END IF;
  END IF;
  PERFORM callhold_prepare_claim(p_tenant, p_staff, p_lock_key, p_span, p_release);
  INSERT INTO holds (tenant_id, session_id, call_id, staff_id, service_id, start_at, end_at, status, expires_at, max_expires_at, idempotency_key)
  VALUES (p_tenant, p_session, p_call, p_staff, p_service, lower(p_span), upper(p_span), 'held',
          now() + make_interval(secs => p_ttl_s), now() + make_interval(secs => p_max_s), p_key)
  RETURNING * INTO placed;
  PERFORM callhold_insert_claims(p_tenant, p_staff, p_busy, placed.id, NULL);
  RETURN NEXT placed;
END $$;

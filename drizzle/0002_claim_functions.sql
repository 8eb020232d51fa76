-- Claiming time in one round trip. Each function runs as one statement, so one implicit
-- transaction: take the per-staff-and-day lock, release the session's earlier hold,
-- reclaim expired holds in the way (they end as 'lost'), then insert the owner and its
-- busy stretches. The exclusion constraint still decides: a clash raises 23P01 and the
-- whole statement, release included, is undone.
CREATE OR REPLACE FUNCTION callhold_prepare_claim(p_tenant text, p_staff text, p_lock_key text, p_span tstzrange, p_release uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(p_lock_key));
  IF p_release IS NOT NULL THEN
    WITH released AS (
      UPDATE holds SET status = 'released', ended_at = now() WHERE id = p_release AND status = 'held' RETURNING id)
    DELETE FROM staff_claims WHERE hold_id IN (SELECT id FROM released);
  END IF;
  WITH lost AS (
    UPDATE holds SET status = 'lost', ended_at = now()
    WHERE status = 'held' AND expires_at <= now() AND id IN (
      SELECT hold_id FROM staff_claims
      WHERE tenant_id = p_tenant AND staff_id = p_staff AND hold_id IS NOT NULL AND during && p_span)
    RETURNING id)
  DELETE FROM staff_claims WHERE hold_id IN (SELECT id FROM lost);
END $$;
--> statement-breakpoint
-- p_busy is a JSON array of [start, end] pairs (ISO instants): one stretch per staff-busy phase run.
CREATE OR REPLACE FUNCTION callhold_insert_claims(p_tenant text, p_staff text, p_busy jsonb, p_hold uuid, p_appointment uuid)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO staff_claims (tenant_id, staff_id, during, hold_id, appointment_id)
  SELECT p_tenant, p_staff, tstzrange((stretch->>0)::timestamptz, (stretch->>1)::timestamptz, '[)'), p_hold, p_appointment
  FROM jsonb_array_elements(p_busy) AS stretch;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_place_hold(
  p_tenant text, p_staff text, p_service text, p_lock_key text, p_span tstzrange, p_busy jsonb,
  p_release uuid, p_session uuid, p_call text, p_ttl_s double precision, p_max_s double precision)
RETURNS SETOF holds LANGUAGE plpgsql AS $$
DECLARE placed holds;
BEGIN
  PERFORM callhold_prepare_claim(p_tenant, p_staff, p_lock_key, p_span, p_release);
  INSERT INTO holds (tenant_id, session_id, call_id, staff_id, service_id, start_at, end_at, status, expires_at, max_expires_at)
  VALUES (p_tenant, p_session, p_call, p_staff, p_service, lower(p_span), upper(p_span), 'held',
          now() + make_interval(secs => p_ttl_s), now() + make_interval(secs => p_max_s))
  RETURNING * INTO placed;
  PERFORM callhold_insert_claims(p_tenant, p_staff, p_busy, placed.id, NULL);
  RETURN NEXT placed;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_remember_customer(p_tenant text, p_phone text, p_name text)
RETURNS void LANGUAGE sql AS $$
  INSERT INTO customers (tenant_id, phone, name) SELECT p_tenant, p_phone, p_name WHERE p_phone IS NOT NULL
  ON CONFLICT (tenant_id, phone) DO UPDATE SET name = excluded.name;
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_book_direct(
  p_tenant text, p_staff text, p_service text, p_lock_key text, p_span tstzrange, p_busy jsonb, p_release uuid,
  p_customer text, p_phone text, p_call text, p_session uuid, p_key text)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
DECLARE booked appointments;
BEGIN
  PERFORM callhold_prepare_claim(p_tenant, p_staff, p_lock_key, p_span, p_release);
  INSERT INTO appointments (tenant_id, staff_id, service_id, start_at, end_at, customer_name, phone, call_id, session_id, idempotency_key)
  VALUES (p_tenant, p_staff, p_service, lower(p_span), upper(p_span), p_customer, p_phone, p_call, p_session, p_key)
  RETURNING * INTO booked;
  PERFORM callhold_insert_claims(p_tenant, p_staff, p_busy, NULL, booked.id);
  PERFORM callhold_remember_customer(p_tenant, p_phone, p_customer);
  RETURN NEXT booked;
END $$;
--> statement-breakpoint
-- Turns a live hold into an appointment; returns nothing when the hold is no longer held
-- and unexpired. A key already used returns its appointment instead (a retried booking).
CREATE OR REPLACE FUNCTION callhold_convert_hold(p_hold uuid, p_customer text, p_phone text, p_call text, p_session uuid, p_key text)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
DECLARE held holds; booked appointments;
BEGIN
  IF p_key IS NOT NULL THEN
    SELECT * INTO booked FROM appointments WHERE idempotency_key = p_key;
    IF FOUND THEN RETURN NEXT booked; RETURN; END IF;
  END IF;
  UPDATE holds SET status = 'booked', ended_at = now()
  WHERE id = p_hold AND status = 'held' AND expires_at > now()
  RETURNING * INTO held;
  IF NOT FOUND THEN RETURN; END IF;
  INSERT INTO appointments (tenant_id, staff_id, service_id, start_at, end_at, customer_name, phone, call_id, session_id, hold_id, idempotency_key)
  VALUES (held.tenant_id, held.staff_id, held.service_id, held.start_at, held.end_at, p_customer, p_phone, p_call, p_session, held.id, p_key)
  RETURNING * INTO booked;
  UPDATE staff_claims SET hold_id = NULL, appointment_id = booked.id WHERE hold_id = held.id;
  PERFORM callhold_remember_customer(held.tenant_id, p_phone, p_customer);
  RETURN NEXT booked;
END $$;

-- The salon's side (PROTOCOL §7): front-desk bookings, moves and blocks claim time through
-- the same functions and the same exclusion constraint as phone bookings. Every function
-- is one statement: take the per-staff-and-day locks first, reclaim expired holds in the
-- way, then write. A clash raises 23P01 and undoes the whole statement (a move keeps the
-- old time, a block PUT keeps the old block).

-- Several staff-and-day locks (a move to another day or staff member, a block across
-- midnight), taken in one fixed order so two such claims never wait on each other in a cycle.
CREATE OR REPLACE FUNCTION callhold_lock_claims(p_lock_keys text[])
RETURNS void LANGUAGE plpgsql AS $$
DECLARE lock_key text;
BEGIN
  FOR lock_key IN SELECT DISTINCT k FROM unnest(p_lock_keys) AS k ORDER BY k LOOP
    PERFORM pg_advisory_xact_lock(hashtext(lock_key));
  END LOOP;
END $$;
--> statement-breakpoint
-- Holds in the way whose deadline has passed (by the database clock) end as 'lost'.
CREATE OR REPLACE FUNCTION callhold_reclaim_expired(p_tenant text, p_staff text, p_span tstzrange)
RETURNS void LANGUAGE sql AS $$
  WITH lost AS (
    UPDATE holds SET status = 'lost', ended_at = now()
    WHERE status = 'held' AND expires_at <= now() AND id IN (
      SELECT hold_id FROM staff_claims
      WHERE tenant_id = p_tenant AND staff_id = p_staff AND hold_id IS NOT NULL AND during && p_span)
    RETURNING id)
  DELETE FROM staff_claims WHERE hold_id IN (SELECT id FROM lost);
$$;
--> statement-breakpoint
-- Same steps as before, now from the shared pieces.
CREATE OR REPLACE FUNCTION callhold_prepare_claim(p_tenant text, p_staff text, p_lock_key text, p_span tstzrange, p_release uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(p_lock_key));
  IF p_release IS NOT NULL THEN
    WITH released AS (
      UPDATE holds SET status = 'released', ended_at = now() WHERE id = p_release AND status = 'held' RETURNING id)
    DELETE FROM staff_claims WHERE hold_id IN (SELECT id FROM released);
  END IF;
  PERFORM callhold_reclaim_expired(p_tenant, p_staff, p_span);
END $$;
--> statement-breakpoint
-- A direct booking that says who booked it; the 12-argument form books as a call.
CREATE OR REPLACE FUNCTION callhold_book_direct(
  p_tenant text, p_staff text, p_service text, p_lock_key text, p_span tstzrange, p_busy jsonb, p_release uuid,
  p_customer text, p_phone text, p_call text, p_session uuid, p_key text, p_source text)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
DECLARE booked appointments;
BEGIN
  PERFORM callhold_prepare_claim(p_tenant, p_staff, p_lock_key, p_span, p_release);
  INSERT INTO appointments (tenant_id, staff_id, service_id, start_at, end_at, customer_name, phone, call_id, session_id, idempotency_key, source)
  VALUES (p_tenant, p_staff, p_service, lower(p_span), upper(p_span), p_customer, p_phone, p_call, p_session, p_key, p_source)
  RETURNING * INTO booked;
  PERFORM callhold_insert_claims(p_tenant, p_staff, p_busy, NULL, booked.id);
  PERFORM callhold_remember_customer(p_tenant, p_phone, p_customer);
  RETURN NEXT booked;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_book_direct(
  p_tenant text, p_staff text, p_service text, p_lock_key text, p_span tstzrange, p_busy jsonb, p_release uuid,
  p_customer text, p_phone text, p_call text, p_session uuid, p_key text)
RETURNS SETOF appointments LANGUAGE sql AS $$
  SELECT * FROM callhold_book_direct(p_tenant, p_staff, p_service, p_lock_key, p_span, p_busy, p_release,
    p_customer, p_phone, p_call, p_session, p_key, 'call');
$$;
--> statement-breakpoint
-- Moves a booked appointment to another start and/or staff member: its old claims go and
-- the new ones come in the same statement, so a clash leaves the old time booked. Returns
-- nothing when the appointment is not booked (unknown, or cancelled meanwhile).
CREATE OR REPLACE FUNCTION callhold_move_appointment(
  p_tenant text, p_appointment uuid, p_staff text, p_lock_keys text[], p_span tstzrange, p_busy jsonb)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
DECLARE moved appointments;
BEGIN
  PERFORM callhold_lock_claims(p_lock_keys);
  PERFORM callhold_reclaim_expired(p_tenant, p_staff, p_span);
  UPDATE appointments SET staff_id = p_staff, start_at = lower(p_span), end_at = upper(p_span)
  WHERE id = p_appointment AND tenant_id = p_tenant AND status = 'booked'
  RETURNING * INTO moved;
  IF NOT FOUND THEN RETURN; END IF;
  DELETE FROM staff_claims WHERE appointment_id = p_appointment;
  PERFORM callhold_insert_claims(p_tenant, p_staff, p_busy, NULL, p_appointment);
  RETURN NEXT moved;
END $$;
--> statement-breakpoint
-- Places a block, or moves it when its id is already stored: the row and its one claim are
-- replaced in the same statement, so a clash leaves the block where it was (or absent).
CREATE OR REPLACE FUNCTION callhold_put_block(
  p_tenant text, p_block text, p_staff text, p_lock_keys text[], p_during tstzrange, p_reason text, p_source text)
RETURNS SETOF blocks LANGUAGE plpgsql AS $$
DECLARE stored blocks;
BEGIN
  PERFORM callhold_lock_claims(p_lock_keys);
  PERFORM callhold_reclaim_expired(p_tenant, p_staff, p_during);
  INSERT INTO blocks (tenant_id, id, staff_id, start_at, end_at, reason, source)
  VALUES (p_tenant, p_block, p_staff, lower(p_during), upper(p_during), p_reason, p_source)
  ON CONFLICT (tenant_id, id) DO UPDATE SET staff_id = excluded.staff_id, start_at = excluded.start_at,
    end_at = excluded.end_at, reason = excluded.reason, source = excluded.source, updated_at = now()
  RETURNING * INTO stored;
  DELETE FROM staff_claims WHERE tenant_id = p_tenant AND block_id = p_block;
  INSERT INTO staff_claims (tenant_id, staff_id, during, block_id) VALUES (p_tenant, p_staff, p_during, p_block);
  RETURN NEXT stored;
END $$;

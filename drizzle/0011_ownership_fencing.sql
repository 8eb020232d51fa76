-- Several broker instances on one database (PROTOCOL §3). A session is owned by one
-- instance at a time; every takeover increments `sessions.owner_epoch`. Each write made
-- for a live call's session carries the epoch its instance holds and is fenced by it in the
-- same statement: `callhold_fence` takes a KEY SHARE lock on the session row while the
-- epoch still matches, else raises CH409. A takeover locks the row FOR UPDATE, which waits
-- for every fenced write in flight and makes later ones fail, so the new owner reads the
-- session's holds and appointment only after the last write of the old owner, and an
-- instance that was paused or partitioned cannot write for the session again even if it
-- never hears of the takeover. A null epoch means no session writes (the front desk, the
-- calendar), which no ownership fences.
CREATE OR REPLACE FUNCTION callhold_fence(p_session uuid, p_epoch bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_epoch IS NULL THEN RETURN; END IF;
  PERFORM 1 FROM sessions WHERE id = p_session AND owner_epoch = p_epoch FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'session % is no longer owned at epoch %', p_session, p_epoch USING ERRCODE = 'CH409';
  END IF;
END $$;
--> statement-breakpoint
-- Opens the session of a call that already has one: an instance that does not hold it at
-- `p_held_epoch` takes it over (a new epoch) and the old owner is told at commit. An ended
-- session is returned as it is.
CREATE OR REPLACE FUNCTION callhold_claim_session(p_tenant text, p_call text, p_instance text, p_held_epoch bigint)
RETURNS SETOF sessions LANGUAGE plpgsql AS $$
DECLARE claimed sessions;
BEGIN
  SELECT * INTO claimed FROM sessions WHERE tenant_id = p_tenant AND call_id = p_call FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;
  IF claimed.status = 'live' AND (claimed.owner_instance IS DISTINCT FROM p_instance OR claimed.owner_epoch IS DISTINCT FROM p_held_epoch) THEN
    UPDATE sessions SET owner_instance = p_instance, owner_epoch = owner_epoch + 1, updated_at = now()
    WHERE id = claimed.id RETURNING * INTO claimed;
    PERFORM pg_notify('callhold_session_owner', claimed.id || ' ' || claimed.owner_epoch);
  END IF;
  RETURN NEXT claimed;
END $$;
--> statement-breakpoint
-- Takes over the live sessions nobody serves: those whose owner's lease has run out (a
-- killed or paused instance), with no owner, or (`p_own`, at start) this instance's own
-- from before a restart. Rows another adopter has locked are skipped. The owner's lease is
-- a subquery, not a join: a row another adopter took meanwhile is re-checked with its new
-- owner (whose lease is alive), so no session is adopted twice.
CREATE OR REPLACE FUNCTION callhold_adopt_sessions(p_instance text, p_own boolean, p_limit integer)
RETURNS SETOF sessions LANGUAGE plpgsql AS $$
DECLARE adopted sessions;
BEGIN
  FOR adopted IN
    WITH orphaned AS (
      SELECT s.id FROM sessions s
      WHERE s.status = 'live'
        AND (CASE WHEN s.owner_instance = p_instance THEN p_own
             ELSE NOT EXISTS (SELECT 1 FROM broker_instances owner WHERE owner.id = s.owner_instance AND owner.lease_until > now()) END)
      ORDER BY s.started_at
      LIMIT p_limit
      FOR UPDATE OF s SKIP LOCKED)
    UPDATE sessions SET owner_instance = p_instance, owner_epoch = owner_epoch + 1, updated_at = now()
    WHERE id IN (SELECT id FROM orphaned)
    RETURNING *
  LOOP
    PERFORM pg_notify('callhold_session_owner', adopted.id || ' ' || adopted.owner_epoch);
    RETURN NEXT adopted;
  END LOOP;
END $$;
--> statement-breakpoint
-- The claim functions of 0002 and 0004, now fenced: the epoch is their last argument
-- (null: not a session's write).
DROP FUNCTION callhold_place_hold(text, text, text, text, tstzrange, jsonb, uuid, uuid, text, double precision, double precision);
--> statement-breakpoint
CREATE FUNCTION callhold_place_hold(
  p_tenant text, p_staff text, p_service text, p_lock_key text, p_span tstzrange, p_busy jsonb,
  p_release uuid, p_session uuid, p_call text, p_ttl_s double precision, p_max_s double precision, p_epoch bigint DEFAULT NULL)
RETURNS SETOF holds LANGUAGE plpgsql AS $$
DECLARE placed holds;
BEGIN
  PERFORM callhold_fence(p_session, p_epoch);
  PERFORM callhold_prepare_claim(p_tenant, p_staff, p_lock_key, p_span, p_release);
  INSERT INTO holds (tenant_id, session_id, call_id, staff_id, service_id, start_at, end_at, status, expires_at, max_expires_at)
  VALUES (p_tenant, p_session, p_call, p_staff, p_service, lower(p_span), upper(p_span), 'held',
          now() + make_interval(secs => p_ttl_s), now() + make_interval(secs => p_max_s))
  RETURNING * INTO placed;
  PERFORM callhold_insert_claims(p_tenant, p_staff, p_busy, placed.id, NULL);
  RETURN NEXT placed;
END $$;
--> statement-breakpoint
DROP FUNCTION callhold_book_direct(text, text, text, text, tstzrange, jsonb, uuid, text, text, text, uuid, text);
--> statement-breakpoint
DROP FUNCTION callhold_book_direct(text, text, text, text, tstzrange, jsonb, uuid, text, text, text, uuid, text, text);
--> statement-breakpoint
CREATE FUNCTION callhold_book_direct(
  p_tenant text, p_staff text, p_service text, p_lock_key text, p_span tstzrange, p_busy jsonb, p_release uuid,
  p_customer text, p_phone text, p_call text, p_session uuid, p_key text, p_source text, p_epoch bigint DEFAULT NULL)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
DECLARE booked appointments;
BEGIN
  PERFORM callhold_fence(p_session, p_epoch);
  PERFORM callhold_prepare_claim(p_tenant, p_staff, p_lock_key, p_span, p_release);
  INSERT INTO appointments (tenant_id, staff_id, service_id, start_at, end_at, customer_name, phone, call_id, session_id, idempotency_key, source)
  VALUES (p_tenant, p_staff, p_service, lower(p_span), upper(p_span), p_customer, p_phone, p_call, p_session, p_key, p_source)
  RETURNING * INTO booked;
  PERFORM callhold_insert_claims(p_tenant, p_staff, p_busy, NULL, booked.id);
  PERFORM callhold_remember_customer(p_tenant, p_phone, p_customer);
  RETURN NEXT booked;
END $$;
--> statement-breakpoint
DROP FUNCTION callhold_convert_hold(uuid, text, text, text, uuid, text);
--> statement-breakpoint
CREATE FUNCTION callhold_convert_hold(p_hold uuid, p_customer text, p_phone text, p_call text, p_session uuid, p_key text, p_epoch bigint DEFAULT NULL)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
DECLARE held holds; booked appointments;
BEGIN
  PERFORM callhold_fence(p_session, p_epoch);
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
--> statement-breakpoint
-- A caller's activity pushes the hold's deadline out, never past its cap. Returns the hold
-- when it was extended, nothing when it is no longer held and unexpired.
CREATE FUNCTION callhold_extend_hold(p_hold uuid, p_ttl_s double precision, p_session uuid, p_epoch bigint)
RETURNS SETOF holds LANGUAGE plpgsql AS $$
BEGIN
  PERFORM callhold_fence(p_session, p_epoch);
  RETURN QUERY
    UPDATE holds SET expires_at = least(now() + make_interval(secs => p_ttl_s), max_expires_at), extensions = extensions + 1
    WHERE id = p_hold AND status = 'held' AND expires_at > now()
    RETURNING *;
END $$;
--> statement-breakpoint
-- Ends a held hold as `p_status`: 'released' at once, 'expired' only once the database
-- clock has passed its deadline. Returns the hold as it is afterwards, nothing for an
-- unknown hold; its `ended_at` is the statement's `now()` when this call ended it.
CREATE FUNCTION callhold_end_hold(p_hold uuid, p_status text, p_session uuid, p_epoch bigint)
RETURNS SETOF holds LANGUAGE plpgsql AS $$
DECLARE current holds;
BEGIN
  PERFORM callhold_fence(p_session, p_epoch);
  UPDATE holds SET status = p_status, ended_at = now()
  WHERE id = p_hold AND status = 'held' AND (p_status <> 'expired' OR expires_at <= now())
  RETURNING * INTO current;
  IF FOUND THEN
    DELETE FROM staff_claims WHERE hold_id = p_hold;
    RETURN NEXT current;
    RETURN;
  END IF;
  RETURN QUERY SELECT * FROM holds WHERE id = p_hold;
END $$;
--> statement-breakpoint
-- A caller cancels an appointment booked under their number.
CREATE FUNCTION callhold_cancel_for_caller(p_tenant text, p_appointment uuid, p_phone text, p_session uuid, p_epoch bigint)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
DECLARE cancelled appointments;
BEGIN
  PERFORM callhold_fence(p_session, p_epoch);
  UPDATE appointments SET status = 'cancelled', cancelled_at = now()
  WHERE id = p_appointment AND tenant_id = p_tenant AND phone = p_phone AND status = 'booked'
  RETURNING * INTO cancelled;
  IF NOT FOUND THEN RETURN; END IF;
  DELETE FROM staff_claims WHERE appointment_id = p_appointment;
  RETURN NEXT cancelled;
END $$;

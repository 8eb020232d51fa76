-- The callhold_* functions of 0002, 0004, 0008 and 0011 again, now that every key starts
-- with tenant_id (0012): each row of a call is looked up by (tenant_id, id), so it uses
-- the composite primary key on PostgreSQL and stays on the call's own shard under Citus
-- (distributed by tenant_id). Functions that took a hold or session id alone take the
-- tenant first now; the others already had it and only name it in more places.
DROP FUNCTION callhold_fence(uuid, bigint);
--> statement-breakpoint
CREATE FUNCTION callhold_fence(p_tenant text, p_session uuid, p_epoch bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_epoch IS NULL THEN RETURN; END IF;
  PERFORM 1 FROM sessions WHERE tenant_id = p_tenant AND id = p_session AND owner_epoch = p_epoch FOR KEY SHARE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'session % is no longer owned at epoch %', p_session, p_epoch USING ERRCODE = 'CH409';
  END IF;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_reclaim_expired(p_tenant text, p_staff text, p_span tstzrange)
RETURNS void LANGUAGE sql AS $$
  WITH lost AS (
    UPDATE holds SET status = 'lost', ended_at = now()
    WHERE tenant_id = p_tenant AND status = 'held' AND expires_at <= now() AND id IN (
      SELECT hold_id FROM staff_claims
      WHERE tenant_id = p_tenant AND staff_id = p_staff AND hold_id IS NOT NULL AND during && p_span)
    RETURNING id)
  DELETE FROM staff_claims WHERE tenant_id = p_tenant AND hold_id IN (SELECT id FROM lost);
$$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_prepare_claim(p_tenant text, p_staff text, p_lock_key text, p_span tstzrange, p_release uuid)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext(p_lock_key));
  IF p_release IS NOT NULL THEN
    WITH released AS (
      UPDATE holds SET status = 'released', ended_at = now()
      WHERE tenant_id = p_tenant AND id = p_release AND status = 'held' RETURNING id)
    DELETE FROM staff_claims WHERE tenant_id = p_tenant AND hold_id IN (SELECT id FROM released);
  END IF;
  PERFORM callhold_reclaim_expired(p_tenant, p_staff, p_span);
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_place_hold(
  p_tenant text, p_staff text, p_service text, p_lock_key text, p_span tstzrange, p_busy jsonb,
  p_release uuid, p_session uuid, p_call text, p_ttl_s double precision, p_max_s double precision, p_epoch bigint DEFAULT NULL)
RETURNS SETOF holds LANGUAGE plpgsql AS $$
DECLARE placed holds;
BEGIN
  PERFORM callhold_fence(p_tenant, p_session, p_epoch);
  PERFORM callhold_prepare_claim(p_tenant, p_staff, p_lock_key, p_span, p_release);
  INSERT INTO holds (tenant_id, session_id, call_id, staff_id, service_id, start_at, end_at, status, expires_at, max_expires_at)
  VALUES (p_tenant, p_session, p_call, p_staff, p_service, lower(p_span), upper(p_span), 'held',
          now() + make_interval(secs => p_ttl_s), now() + make_interval(secs => p_max_s))
  RETURNING * INTO placed;
  PERFORM callhold_insert_claims(p_tenant, p_staff, p_busy, placed.id, NULL);
  RETURN NEXT placed;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_book_direct(
  p_tenant text, p_staff text, p_service text, p_lock_key text, p_span tstzrange, p_busy jsonb, p_release uuid,
  p_customer text, p_phone text, p_call text, p_session uuid, p_key text, p_source text, p_epoch bigint DEFAULT NULL)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
DECLARE booked appointments;
BEGIN
  PERFORM callhold_fence(p_tenant, p_session, p_epoch);
  PERFORM callhold_prepare_claim(p_tenant, p_staff, p_lock_key, p_span, p_release);
  INSERT INTO appointments (tenant_id, staff_id, service_id, start_at, end_at, customer_name, phone, call_id, session_id, idempotency_key, source)
  VALUES (p_tenant, p_staff, p_service, lower(p_span), upper(p_span), p_customer, p_phone, p_call, p_session, p_key, p_source)
  RETURNING * INTO booked;
  PERFORM callhold_insert_claims(p_tenant, p_staff, p_busy, NULL, booked.id);
  PERFORM callhold_remember_customer(p_tenant, p_phone, p_customer);
  RETURN NEXT booked;
END $$;
--> statement-breakpoint
-- An idempotency key is unique per tenant (0012): the same key in another tenant is another booking.
DROP FUNCTION callhold_convert_hold(uuid, text, text, text, uuid, text, bigint);
--> statement-breakpoint
CREATE FUNCTION callhold_convert_hold(
  p_tenant text, p_hold uuid, p_customer text, p_phone text, p_call text, p_session uuid, p_key text, p_epoch bigint DEFAULT NULL)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
DECLARE held holds; booked appointments;
BEGIN
  PERFORM callhold_fence(p_tenant, p_session, p_epoch);
  IF p_key IS NOT NULL THEN
    SELECT * INTO booked FROM appointments WHERE tenant_id = p_tenant AND idempotency_key = p_key;
    IF FOUND THEN RETURN NEXT booked; RETURN; END IF;
  END IF;
  UPDATE holds SET status = 'booked', ended_at = now()
  WHERE tenant_id = p_tenant AND id = p_hold AND status = 'held' AND expires_at > now()
  RETURNING * INTO held;
  IF NOT FOUND THEN RETURN; END IF;
  INSERT INTO appointments (tenant_id, staff_id, service_id, start_at, end_at, customer_name, phone, call_id, session_id, hold_id, idempotency_key)
  VALUES (held.tenant_id, held.staff_id, held.service_id, held.start_at, held.end_at, p_customer, p_phone, p_call, p_session, held.id, p_key)
  RETURNING * INTO booked;
  UPDATE staff_claims SET hold_id = NULL, appointment_id = booked.id WHERE tenant_id = p_tenant AND hold_id = held.id;
  PERFORM callhold_remember_customer(held.tenant_id, p_phone, p_customer);
  RETURN NEXT booked;
END $$;
--> statement-breakpoint
DROP FUNCTION callhold_extend_hold(uuid, double precision, uuid, bigint);
--> statement-breakpoint
CREATE FUNCTION callhold_extend_hold(p_tenant text, p_hold uuid, p_ttl_s double precision, p_session uuid, p_epoch bigint)
RETURNS SETOF holds LANGUAGE plpgsql AS $$
BEGIN
  PERFORM callhold_fence(p_tenant, p_session, p_epoch);
  RETURN QUERY
    UPDATE holds SET expires_at = least(now() + make_interval(secs => p_ttl_s), max_expires_at), extensions = extensions + 1
    WHERE tenant_id = p_tenant AND id = p_hold AND status = 'held' AND expires_at > now()
    RETURNING *;
END $$;
--> statement-breakpoint
DROP FUNCTION callhold_end_hold(uuid, text, uuid, bigint);
--> statement-breakpoint
CREATE FUNCTION callhold_end_hold(p_tenant text, p_hold uuid, p_status text, p_session uuid, p_epoch bigint)
RETURNS SETOF holds LANGUAGE plpgsql AS $$
DECLARE current holds;
BEGIN
  PERFORM callhold_fence(p_tenant, p_session, p_epoch);
  UPDATE holds SET status = p_status, ended_at = now()
  WHERE tenant_id = p_tenant AND id = p_hold AND status = 'held' AND (p_status <> 'expired' OR expires_at <= now())
  RETURNING * INTO current;
  IF FOUND THEN
    DELETE FROM staff_claims WHERE tenant_id = p_tenant AND hold_id = p_hold;
    RETURN NEXT current;
    RETURN;
  END IF;
  RETURN QUERY SELECT * FROM holds WHERE tenant_id = p_tenant AND id = p_hold;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_cancel_for_caller(p_tenant text, p_appointment uuid, p_phone text, p_session uuid, p_epoch bigint)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
DECLARE cancelled appointments;
BEGIN
  PERFORM callhold_fence(p_tenant, p_session, p_epoch);
  UPDATE appointments SET status = 'cancelled', cancelled_at = now()
  WHERE tenant_id = p_tenant AND id = p_appointment AND phone = p_phone AND status = 'booked'
  RETURNING * INTO cancelled;
  IF NOT FOUND THEN RETURN; END IF;
  DELETE FROM staff_claims WHERE tenant_id = p_tenant AND appointment_id = p_appointment;
  RETURN NEXT cancelled;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_move_appointment(
  p_tenant text, p_appointment uuid, p_staff text, p_lock_keys text[], p_span tstzrange, p_busy jsonb)
RETURNS SETOF appointments LANGUAGE plpgsql AS $$
DECLARE moved appointments;
BEGIN
  PERFORM callhold_lock_claims(p_lock_keys);
  PERFORM callhold_reclaim_expired(p_tenant, p_staff, p_span);
  UPDATE appointments SET staff_id = p_staff, start_at = lower(p_span), end_at = upper(p_span)
  WHERE tenant_id = p_tenant AND id = p_appointment AND status = 'booked'
  RETURNING * INTO moved;
  IF NOT FOUND THEN RETURN; END IF;
  DELETE FROM staff_claims WHERE tenant_id = p_tenant AND appointment_id = p_appointment;
  PERFORM callhold_insert_claims(p_tenant, p_staff, p_busy, NULL, p_appointment);
  RETURN NEXT moved;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_claim_session(p_tenant text, p_call text, p_instance text, p_held_epoch bigint)
RETURNS SETOF sessions LANGUAGE plpgsql AS $$
DECLARE claimed sessions;
BEGIN
  SELECT * INTO claimed FROM sessions WHERE tenant_id = p_tenant AND call_id = p_call FOR UPDATE;
  IF NOT FOUND THEN RETURN; END IF;
  IF claimed.status = 'live' AND (claimed.owner_instance IS DISTINCT FROM p_instance OR claimed.owner_epoch IS DISTINCT FROM p_held_epoch) THEN
    UPDATE sessions SET owner_instance = p_instance, owner_epoch = owner_epoch + 1, updated_at = now()
    WHERE tenant_id = p_tenant AND id = claimed.id RETURNING * INTO claimed;
    PERFORM pg_notify('callhold_session_owner', claimed.id || ' ' || claimed.owner_epoch);
  END IF;
  RETURN NEXT claimed;
END $$;
--> statement-breakpoint
-- The adoption sweep reads every tenant's live sessions by design (it looks for orphans,
-- whoever they belong to); it only names each row by its full key now.
CREATE OR REPLACE FUNCTION callhold_adopt_sessions(p_instance text, p_own boolean, p_limit integer)
RETURNS SETOF sessions LANGUAGE plpgsql AS $$
DECLARE adopted sessions;
BEGIN
  FOR adopted IN
    WITH orphaned AS (
      SELECT s.tenant_id, s.id FROM sessions s
      WHERE s.status = 'live'
        AND (CASE WHEN s.owner_instance = p_instance THEN p_own
             ELSE NOT EXISTS (SELECT 1 FROM broker_instances owner WHERE owner.id = s.owner_instance AND owner.lease_until > now()) END)
      ORDER BY s.started_at
      LIMIT p_limit
      FOR UPDATE OF s SKIP LOCKED)
    UPDATE sessions SET owner_instance = p_instance, owner_epoch = owner_epoch + 1, updated_at = now()
    WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM orphaned)
    RETURNING *
  LOOP
    PERFORM pg_notify('callhold_session_owner', adopted.id || ' ' || adopted.owner_epoch);
    RETURN NEXT adopted;
  END LOOP;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_outbox_hold()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM calendar_integrations WHERE tenant_id = NEW.tenant_id AND kind = 'calcom') THEN RETURN NULL; END IF;
  IF TG_OP = 'UPDATE' THEN
    UPDATE calendar_outbox SET next_attempt_at = now()
    WHERE tenant_id = NEW.tenant_id AND subject_id = NEW.id::text AND delivered_at IS NULL AND discarded_at IS NULL AND next_attempt_at > now();
  END IF;
  INSERT INTO calendar_outbox (tenant_id, subject_id, type, appointment)
  VALUES (NEW.tenant_id, NEW.id::text, CASE WHEN TG_OP = 'INSERT' THEN 'hold.placed' ELSE 'hold.ended' END, to_jsonb(NEW));
  PERFORM pg_notify('callhold_calendar_outbox', NEW.tenant_id);
  RETURN NULL;
END $$;

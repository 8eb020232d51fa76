-- While a caller holds a slot on a Cal.com tenant it is reserved on Cal.com too (PROTOCOL §7).
-- A hold placed and a hold ended write outbox rows in the hold's own statement, like the
-- appointment changes of 0006. An appointment converted from a hold shares the hold's
-- subject (its id), so the reservation is released before the booking is made on Cal.com,
-- and every later change of the appointment still comes after. When a hold ends, a placed
-- row still waiting for a retry is made due at once: it is then discarded, not retried,
-- and the appointment behind it does not wait out a backoff.
CREATE OR REPLACE FUNCTION callhold_outbox_appointment()
RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE change_type text;
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status <> 'booked' THEN RETURN NULL; END IF;
    change_type := 'appointment.booked';
  ELSIF NEW.status = 'cancelled' AND OLD.status <> 'cancelled' THEN
    change_type := 'appointment.cancelled';
  ELSIF NEW.status = 'booked' AND (NEW.start_at, NEW.end_at, NEW.staff_id) IS DISTINCT FROM (OLD.start_at, OLD.end_at, OLD.staff_id) THEN
    change_type := 'appointment.moved';
  ELSE
    RETURN NULL;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM calendar_integrations WHERE tenant_id = NEW.tenant_id) THEN RETURN NULL; END IF;
  INSERT INTO calendar_outbox (tenant_id, subject_id, type, appointment)
  VALUES (NEW.tenant_id, coalesce(NEW.hold_id, NEW.id)::text, change_type, to_jsonb(NEW));
  PERFORM pg_notify('callhold_calendar_outbox', NEW.tenant_id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION callhold_outbox_hold()
RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM calendar_integrations WHERE tenant_id = NEW.tenant_id AND kind = 'calcom') THEN RETURN NULL; END IF;
  IF TG_OP = 'UPDATE' THEN
    UPDATE calendar_outbox SET next_attempt_at = now()
    WHERE subject_id = NEW.id::text AND delivered_at IS NULL AND discarded_at IS NULL AND next_attempt_at > now();
  END IF;
  INSERT INTO calendar_outbox (tenant_id, subject_id, type, appointment)
  VALUES (NEW.tenant_id, NEW.id::text, CASE WHEN TG_OP = 'INSERT' THEN 'hold.placed' ELSE 'hold.ended' END, to_jsonb(NEW));
  PERFORM pg_notify('callhold_calendar_outbox', NEW.tenant_id);
  RETURN NULL;
END $$;
--> statement-breakpoint
-- WHEN keeps the hot path free: extending a hold (expires_at only) never calls the function.
CREATE TRIGGER holds_calendar_outbox_placed
AFTER INSERT ON holds
FOR EACH ROW WHEN (NEW.status = 'held') EXECUTE FUNCTION callhold_outbox_hold();
--> statement-breakpoint
CREATE TRIGGER holds_calendar_outbox_ended
AFTER UPDATE OF status ON holds
FOR EACH ROW WHEN (OLD.status = 'held' AND NEW.status <> 'held') EXECUTE FUNCTION callhold_outbox_hold();

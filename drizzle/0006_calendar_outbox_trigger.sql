-- The calendar outbox (PROTOCOL §7) is written by the database itself, in the statement
-- that changes an appointment: a hold's conversion and a direct booking (callhold_convert_hold,
-- callhold_book_direct), the front desk's cancel and move (callhold_move_appointment), a
-- caller's cancel. A trigger covers every one of those paths and any added later, and it
-- cannot be forgotten or run after the commit: the change and its outbox row commit or
-- roll back together. Only tenants with a calendar configured get rows (nobody to tell
-- otherwise); NOTIFY is delivered at commit and wakes the delivery workers.
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
  VALUES (NEW.tenant_id, NEW.id::text, change_type, to_jsonb(NEW));
  PERFORM pg_notify('callhold_calendar_outbox', NEW.tenant_id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER appointments_calendar_outbox
AFTER INSERT OR UPDATE ON appointments
FOR EACH ROW EXECUTE FUNCTION callhold_outbox_appointment();

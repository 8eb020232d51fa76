-- Every key of a per-tenant table includes tenant_id, the column Citus would distribute by
-- (a unique constraint on a distributed table must include it). Generated from schema.ts
-- by `npm run db:generate -- --name tenant_keys`, then edited where drizzle-kit cannot:
-- it does not know the names of the column-level primary keys it created (`<table>_pkey`),
-- it drops and adds constraints in an order PostgreSQL refuses (a primary key that a
-- foreign key still depends on), and it would add the new NOT NULL `tenant_id` columns of
-- `session_events` and `tool_results` without a value for the rows already there: they are
-- added nullable, filled from their session, then made NOT NULL.
ALTER TABLE "session_events" DROP CONSTRAINT "session_events_session_id_sessions_id_fk";--> statement-breakpoint
ALTER TABLE "tool_results" DROP CONSTRAINT "tool_results_session_id_sessions_id_fk";--> statement-breakpoint
ALTER TABLE "staff_claims" DROP CONSTRAINT "staff_claims_hold_id_holds_id_fk";--> statement-breakpoint
ALTER TABLE "staff_claims" DROP CONSTRAINT "staff_claims_appointment_id_appointments_id_fk";--> statement-breakpoint
ALTER TABLE "appointments" DROP CONSTRAINT "appointments_idempotency_key_unique";--> statement-breakpoint
ALTER TABLE "calendar_outbox" DROP CONSTRAINT "calendar_outbox_seq_unique";--> statement-breakpoint
DROP INDEX "calendar_outbox_subject_idx";--> statement-breakpoint
DROP INDEX "holds_session_idx";--> statement-breakpoint
DROP INDEX "session_events_session_idx";--> statement-breakpoint
DROP INDEX "staff_claims_hold_idx";--> statement-breakpoint
DROP INDEX "staff_claims_appointment_idx";--> statement-breakpoint
ALTER TABLE "session_events" ADD COLUMN "tenant_id" text;--> statement-breakpoint
UPDATE "session_events" e SET "tenant_id" = s."tenant_id" FROM "sessions" s WHERE s."id" = e."session_id";--> statement-breakpoint
ALTER TABLE "session_events" ALTER COLUMN "tenant_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "tool_results" ADD COLUMN "tenant_id" text;--> statement-breakpoint
UPDATE "tool_results" r SET "tenant_id" = s."tenant_id" FROM "sessions" s WHERE s."id" = r."session_id";--> statement-breakpoint
ALTER TABLE "tool_results" ALTER COLUMN "tenant_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "appointments" DROP CONSTRAINT "appointments_pkey";--> statement-breakpoint
ALTER TABLE "calendar_links" DROP CONSTRAINT "calendar_links_pkey";--> statement-breakpoint
ALTER TABLE "calendar_outbox" DROP CONSTRAINT "calendar_outbox_pkey";--> statement-breakpoint
ALTER TABLE "calendar_reservations" DROP CONSTRAINT "calendar_reservations_pkey";--> statement-breakpoint
ALTER TABLE "holds" DROP CONSTRAINT "holds_pkey";--> statement-breakpoint
ALTER TABLE "session_events" DROP CONSTRAINT "session_events_pkey";--> statement-breakpoint
ALTER TABLE "sessions" DROP CONSTRAINT "sessions_pkey";--> statement-breakpoint
ALTER TABLE "staff_claims" DROP CONSTRAINT "staff_claims_pkey";--> statement-breakpoint
ALTER TABLE "tool_results" DROP CONSTRAINT "tool_results_session_id_tool_call_id_pk";--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_tenant_id_id_pk" PRIMARY KEY("tenant_id","id");--> statement-breakpoint
ALTER TABLE "calendar_links" ADD CONSTRAINT "calendar_links_tenant_id_appointment_id_pk" PRIMARY KEY("tenant_id","appointment_id");--> statement-breakpoint
ALTER TABLE "calendar_outbox" ADD CONSTRAINT "calendar_outbox_tenant_id_id_pk" PRIMARY KEY("tenant_id","id");--> statement-breakpoint
ALTER TABLE "calendar_reservations" ADD CONSTRAINT "calendar_reservations_tenant_id_hold_id_pk" PRIMARY KEY("tenant_id","hold_id");--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_tenant_id_id_pk" PRIMARY KEY("tenant_id","id");--> statement-breakpoint
ALTER TABLE "session_events" ADD CONSTRAINT "session_events_tenant_id_id_pk" PRIMARY KEY("tenant_id","id");--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_tenant_id_id_pk" PRIMARY KEY("tenant_id","id");--> statement-breakpoint
ALTER TABLE "staff_claims" ADD CONSTRAINT "staff_claims_tenant_id_id_pk" PRIMARY KEY("tenant_id","id");--> statement-breakpoint
ALTER TABLE "tool_results" ADD CONSTRAINT "tool_results_tenant_id_session_id_tool_call_id_pk" PRIMARY KEY("tenant_id","session_id","tool_call_id");--> statement-breakpoint
ALTER TABLE "appointments" ADD CONSTRAINT "appointments_idempotency_key_unique" UNIQUE("tenant_id","idempotency_key");--> statement-breakpoint
ALTER TABLE "calendar_outbox" ADD CONSTRAINT "calendar_outbox_seq_unique" UNIQUE("tenant_id","seq");--> statement-breakpoint
ALTER TABLE "session_events" ADD CONSTRAINT "session_events_session_fk" FOREIGN KEY ("tenant_id","session_id") REFERENCES "public"."sessions"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "staff_claims" ADD CONSTRAINT "staff_claims_hold_fk" FOREIGN KEY ("tenant_id","hold_id") REFERENCES "public"."holds"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "staff_claims" ADD CONSTRAINT "staff_claims_appointment_fk" FOREIGN KEY ("tenant_id","appointment_id") REFERENCES "public"."appointments"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tool_results" ADD CONSTRAINT "tool_results_session_fk" FOREIGN KEY ("tenant_id","session_id") REFERENCES "public"."sessions"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "calendar_outbox_subject_idx" ON "calendar_outbox" USING btree ("tenant_id","subject_id","seq") WHERE delivered_at IS NULL AND discarded_at IS NULL;--> statement-breakpoint
CREATE INDEX "holds_session_idx" ON "holds" USING btree ("tenant_id","session_id");--> statement-breakpoint
CREATE INDEX "session_events_session_idx" ON "session_events" USING btree ("tenant_id","session_id","id");--> statement-breakpoint
CREATE INDEX "staff_claims_hold_idx" ON "staff_claims" USING btree ("tenant_id","hold_id");--> statement-breakpoint
CREATE INDEX "staff_claims_appointment_idx" ON "staff_claims" USING btree ("tenant_id","appointment_id");

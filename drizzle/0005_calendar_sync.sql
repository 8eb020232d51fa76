CREATE TABLE "calendar_conflicts" (
	"tenant_id" text NOT NULL,
	"external_id" text NOT NULL,
	"staff_id" text,
	"start_at" timestamp with time zone NOT NULL,
	"end_at" timestamp with time zone NOT NULL,
	"appointment_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "calendar_conflicts_tenant_id_external_id_pk" PRIMARY KEY("tenant_id","external_id")
);
--> statement-breakpoint
CREATE TABLE "calendar_integrations" (
	"tenant_id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"settings" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "calendar_links" (
	"tenant_id" text NOT NULL,
	"appointment_id" uuid PRIMARY KEY NOT NULL,
	"external_uid" text NOT NULL,
	"start_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "calendar_links_uid_unique" UNIQUE("tenant_id","external_uid")
);
--> statement-breakpoint
CREATE TABLE "calendar_outbox" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"seq" bigserial NOT NULL,
	"tenant_id" text NOT NULL,
	"subject_id" text NOT NULL,
	"type" text NOT NULL,
	"appointment" jsonb NOT NULL,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp with time zone DEFAULT now() NOT NULL,
	"leased_until" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"discarded_at" timestamp with time zone,
	"last_error" text,
	"last_error_at" timestamp with time zone,
	CONSTRAINT "calendar_outbox_seq_unique" UNIQUE("seq")
);
--> statement-breakpoint
ALTER TABLE "calendar_integrations" ADD CONSTRAINT "calendar_integrations_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "calendar_outbox_due_idx" ON "calendar_outbox" USING btree ("next_attempt_at") WHERE delivered_at IS NULL AND discarded_at IS NULL;--> statement-breakpoint
CREATE INDEX "calendar_outbox_subject_idx" ON "calendar_outbox" USING btree ("subject_id","seq") WHERE delivered_at IS NULL AND discarded_at IS NULL;--> statement-breakpoint
CREATE INDEX "calendar_outbox_tenant_idx" ON "calendar_outbox" USING btree ("tenant_id");
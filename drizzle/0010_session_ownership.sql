CREATE TABLE "broker_instances" (
	"id" text PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"lease_until" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "owner_instance" text;--> statement-breakpoint
ALTER TABLE "sessions" ADD COLUMN "owner_epoch" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "sessions_owner_idx" ON "sessions" USING btree ("owner_instance") WHERE status = 'live';
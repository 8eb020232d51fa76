CREATE TABLE "blocks" (
	"tenant_id" text NOT NULL,
	"id" text NOT NULL,
	"staff_id" text NOT NULL,
	"start_at" timestamp with time zone NOT NULL,
	"end_at" timestamp with time zone NOT NULL,
	"reason" text,
	"source" text DEFAULT 'front_desk' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "blocks_tenant_id_id_pk" PRIMARY KEY("tenant_id","id")
);
--> statement-breakpoint
ALTER TABLE "staff_claims" DROP CONSTRAINT "staff_claims_one_owner";--> statement-breakpoint
ALTER TABLE "appointments" ADD COLUMN "source" text DEFAULT 'call' NOT NULL;--> statement-breakpoint
ALTER TABLE "staff_claims" ADD COLUMN "block_id" text;--> statement-breakpoint
ALTER TABLE "blocks" ADD CONSTRAINT "blocks_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "blocks_day_idx" ON "blocks" USING btree ("tenant_id","start_at");--> statement-breakpoint
ALTER TABLE "staff_claims" ADD CONSTRAINT "staff_claims_block_fk" FOREIGN KEY ("tenant_id","block_id") REFERENCES "public"."blocks"("tenant_id","id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "staff_claims_block_idx" ON "staff_claims" USING btree ("tenant_id","block_id");--> statement-breakpoint
ALTER TABLE "staff_claims" ADD CONSTRAINT "staff_claims_one_owner" CHECK (num_nonnulls(hold_id, appointment_id, block_id) = 1);
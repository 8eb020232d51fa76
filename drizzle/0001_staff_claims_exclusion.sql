-- The guarantee behind "never double-book": no two live claims of one staff member
-- overlap in time, whatever the application does. drizzle has no builder for this.
CREATE EXTENSION IF NOT EXISTS btree_gist;
--> statement-breakpoint
ALTER TABLE "staff_claims" ADD CONSTRAINT "staff_claims_no_overlap"
  EXCLUDE USING gist ("tenant_id" WITH =, "staff_id" WITH =, "during" WITH &&);

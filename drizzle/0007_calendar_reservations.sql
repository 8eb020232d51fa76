CREATE TABLE "calendar_reservations" (
	"hold_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" text NOT NULL,
	"reservation_uid" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);

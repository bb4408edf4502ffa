CREATE TABLE "update_batch_items" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_id" uuid NOT NULL,
	"connector_id" uuid,
	"connector_name" text NOT NULL,
	"from_version_id" uuid NOT NULL,
	"to_version_id" uuid NOT NULL,
	"seen_revision" integer NOT NULL,
	"made_revision" integer,
	"previous_modified_at" timestamp with time zone,
	"previous_modified_by" uuid,
	"state" text DEFAULT 'pending' NOT NULL,
	"reason" text,
	"position" integer NOT NULL,
	CONSTRAINT "update_batch_items_connector_unique" UNIQUE("batch_id","connector_id"),
	CONSTRAINT "update_batch_items_position_unique" UNIQUE("batch_id","position"),
	CONSTRAINT "update_batch_items_state_check" CHECK ("update_batch_items"."state" in ('pending', 'updated', 'skipped', 'undone', 'refused')),
	CONSTRAINT "update_batch_items_revision_check" CHECK ("update_batch_items"."seen_revision" >= 1),
	CONSTRAINT "update_batch_items_made_check" CHECK (("update_batch_items"."state" in ('updated', 'undone', 'refused')) = ("update_batch_items"."made_revision" is not null))
);
--> statement-breakpoint
CREATE TABLE "update_batches" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"company_id" uuid NOT NULL,
	"started_by" uuid NOT NULL,
	"kind" text NOT NULL,
	"state" text DEFAULT 'running' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"undone_at" timestamp with time zone,
	"undone_by" uuid,
	CONSTRAINT "update_batches_kind_check" CHECK ("update_batches"."kind" in ('update', 'keep my changes')),
	CONSTRAINT "update_batches_state_check" CHECK ("update_batches"."state" in ('running', 'done', 'undone')),
	CONSTRAINT "update_batches_undone_check" CHECK (("update_batches"."undone_at" is null) = ("update_batches"."undone_by" is null)),
	CONSTRAINT "update_batches_finished_check" CHECK ("update_batches"."state" = 'running' or "update_batches"."finished_at" is not null)
);
--> statement-breakpoint
ALTER TABLE "update_batch_items" ADD CONSTRAINT "update_batch_items_batch_id_update_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."update_batches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "update_batch_items" ADD CONSTRAINT "update_batch_items_connector_id_connectors_id_fk" FOREIGN KEY ("connector_id") REFERENCES "public"."connectors"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "update_batch_items" ADD CONSTRAINT "update_batch_items_from_version_id_marketplace_versions_id_fk" FOREIGN KEY ("from_version_id") REFERENCES "public"."marketplace_versions"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "update_batch_items" ADD CONSTRAINT "update_batch_items_to_version_id_marketplace_versions_id_fk" FOREIGN KEY ("to_version_id") REFERENCES "public"."marketplace_versions"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "update_batch_items" ADD CONSTRAINT "update_batch_items_previous_modified_by_users_id_fk" FOREIGN KEY ("previous_modified_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "update_batches" ADD CONSTRAINT "update_batches_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "update_batches" ADD CONSTRAINT "update_batches_started_by_users_id_fk" FOREIGN KEY ("started_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "update_batches" ADD CONSTRAINT "update_batches_undone_by_users_id_fk" FOREIGN KEY ("undone_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "update_batch_items_connector_idx" ON "update_batch_items" USING btree ("connector_id");--> statement-breakpoint
CREATE INDEX "update_batches_company_idx" ON "update_batches" USING btree ("company_id","created_at");
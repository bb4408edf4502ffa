CREATE TABLE "migration_batches" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"company_id" uuid NOT NULL,
	"from_connector_id" uuid NOT NULL,
	"to_connector_id" uuid NOT NULL,
	"created_by" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"undone_at" timestamp with time zone,
	"undone_by" uuid,
	CONSTRAINT "migration_batches_connectors_check" CHECK ("migration_batches"."from_connector_id" <> "migration_batches"."to_connector_id"),
	CONSTRAINT "migration_batches_undone_check" CHECK (("migration_batches"."undone_at" is null) = ("migration_batches"."undone_by" is null))
);
--> statement-breakpoint
CREATE TABLE "migration_instances" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_id" uuid NOT NULL,
	"from_instance_id" uuid,
	"created_instance_id" uuid,
	"name" text NOT NULL,
	"created_updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "migration_shapes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"batch_id" uuid NOT NULL,
	"shape_id" uuid,
	"process_flow_name" text NOT NULL,
	"from_instance_id" uuid NOT NULL,
	"from_endpoint_key" text NOT NULL,
	"to_instance_id" uuid NOT NULL,
	"to_endpoint_key" text NOT NULL
);
--> statement-breakpoint
ALTER TABLE "connector_revisions" ADD COLUMN "marketplace_version_id" uuid;--> statement-breakpoint
ALTER TABLE "migration_batches" ADD CONSTRAINT "migration_batches_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "migration_batches" ADD CONSTRAINT "migration_batches_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "migration_batches" ADD CONSTRAINT "migration_batches_undone_by_users_id_fk" FOREIGN KEY ("undone_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "migration_batches" ADD CONSTRAINT "migration_batches_from_fk" FOREIGN KEY ("from_connector_id","company_id") REFERENCES "public"."connectors"("id","company_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "migration_batches" ADD CONSTRAINT "migration_batches_to_fk" FOREIGN KEY ("to_connector_id","company_id") REFERENCES "public"."connectors"("id","company_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "migration_instances" ADD CONSTRAINT "migration_instances_batch_id_migration_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."migration_batches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "migration_instances" ADD CONSTRAINT "migration_instances_from_instance_id_instances_id_fk" FOREIGN KEY ("from_instance_id") REFERENCES "public"."instances"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "migration_instances" ADD CONSTRAINT "migration_instances_created_instance_id_instances_id_fk" FOREIGN KEY ("created_instance_id") REFERENCES "public"."instances"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "migration_shapes" ADD CONSTRAINT "migration_shapes_batch_id_migration_batches_id_fk" FOREIGN KEY ("batch_id") REFERENCES "public"."migration_batches"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "migration_shapes" ADD CONSTRAINT "migration_shapes_shape_id_connection_shapes_id_fk" FOREIGN KEY ("shape_id") REFERENCES "public"."connection_shapes"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "migration_batches_to_idx" ON "migration_batches" USING btree ("to_connector_id","created_at");--> statement-breakpoint
CREATE INDEX "migration_batches_from_idx" ON "migration_batches" USING btree ("from_connector_id");--> statement-breakpoint
CREATE INDEX "migration_instances_batch_idx" ON "migration_instances" USING btree ("batch_id");--> statement-breakpoint
CREATE INDEX "migration_instances_created_idx" ON "migration_instances" USING btree ("created_instance_id");--> statement-breakpoint
CREATE INDEX "migration_instances_from_idx" ON "migration_instances" USING btree ("from_instance_id");--> statement-breakpoint
CREATE INDEX "migration_shapes_batch_idx" ON "migration_shapes" USING btree ("batch_id");--> statement-breakpoint
CREATE INDEX "migration_shapes_shape_idx" ON "migration_shapes" USING btree ("shape_id");--> statement-breakpoint
ALTER TABLE "connector_revisions" ADD CONSTRAINT "connector_revisions_marketplace_version_id_marketplace_versions_id_fk" FOREIGN KEY ("marketplace_version_id") REFERENCES "public"."marketplace_versions"("id") ON DELETE restrict ON UPDATE no action;
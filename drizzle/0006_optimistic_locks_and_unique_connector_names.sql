DROP INDEX "connectors_company_name_idx";--> statement-breakpoint
ALTER TABLE "connector_drafts" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "connector_drafts" ADD COLUMN "updated_by" uuid;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "instances" ADD COLUMN "updated_by" uuid;--> statement-breakpoint
ALTER TABLE "process_flows" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "process_flows" ADD COLUMN "updated_by" uuid;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "connector_drafts" ADD CONSTRAINT "connector_drafts_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "process_flows" ADD CONSTRAINT "process_flows_updated_by_users_id_fk" FOREIGN KEY ("updated_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "connectors_company_name_unique" ON "connectors" USING btree ("company_id",lower("name"));--> statement-breakpoint
ALTER TABLE "connector_drafts" ADD CONSTRAINT "connector_drafts_version_check" CHECK ("connector_drafts"."version" >= 1);--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_version_check" CHECK ("instances"."version" >= 1);--> statement-breakpoint
ALTER TABLE "process_flows" ADD CONSTRAINT "process_flows_version_check" CHECK ("process_flows"."version" >= 1);--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_version_check" CHECK ("users"."version" >= 1);
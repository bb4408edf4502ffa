CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"company_id" uuid NOT NULL,
	"actor_id" uuid,
	"action" text NOT NULL,
	"subject_type" text NOT NULL,
	"subject_id" uuid,
	"summary" text NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "companies" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "connection_shapes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"company_id" uuid NOT NULL,
	"process_flow_id" uuid NOT NULL,
	"instance_id" uuid NOT NULL,
	"endpoint_key" text NOT NULL,
	"position" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "connection_shapes_position_check" CHECK ("connection_shapes"."position" >= 0)
);
--> statement-breakpoint
CREATE TABLE "connector_drafts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"company_id" uuid NOT NULL,
	"created_by" uuid NOT NULL,
	"step" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "connector_revisions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"connector_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"author_id" uuid NOT NULL,
	"summary" text NOT NULL,
	"definition" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "connector_revisions_connector_number_unique" UNIQUE("connector_id","number"),
	CONSTRAINT "connector_revisions_number_check" CHECK ("connector_revisions"."number" >= 1)
);
--> statement-breakpoint
CREATE TABLE "connectors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"company_id" uuid NOT NULL,
	"marketplace_connector_id" uuid NOT NULL,
	"marketplace_version_id" uuid NOT NULL,
	"name" text NOT NULL,
	"definition" jsonb NOT NULL,
	"revision" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"installed_by" uuid NOT NULL,
	"modified_at" timestamp with time zone,
	"modified_by" uuid,
	CONSTRAINT "connectors_id_company_unique" UNIQUE("id","company_id"),
	CONSTRAINT "connectors_modified_check" CHECK (("connectors"."modified_at" is null) = ("connectors"."modified_by" is null)),
	CONSTRAINT "connectors_revision_check" CHECK ("connectors"."revision" >= 1)
);
--> statement-breakpoint
CREATE TABLE "form_submissions" (
	"company_id" uuid NOT NULL,
	"key" uuid NOT NULL,
	"result_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "form_submissions_company_id_key_pk" PRIMARY KEY("company_id","key")
);
--> statement-breakpoint
CREATE TABLE "instances" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"company_id" uuid NOT NULL,
	"connector_id" uuid NOT NULL,
	"name" text NOT NULL,
	"auth_method_key" text NOT NULL,
	"time_zone" text NOT NULL,
	"date_format" text NOT NULL,
	"rate_limit_amount" integer NOT NULL,
	"rate_limit_unit" text NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"secrets" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" uuid NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "instances_id_company_unique" UNIQUE("id","company_id"),
	CONSTRAINT "instances_connector_name_unique" UNIQUE("connector_id","name"),
	CONSTRAINT "instances_rate_limit_check" CHECK ("instances"."rate_limit_amount" >= 1 and "instances"."rate_limit_unit" in ('second', 'minute', 'hour'))
);
--> statement-breakpoint
CREATE TABLE "marketplace_connectors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"key" text NOT NULL,
	"kind" text NOT NULL,
	"company_id" uuid,
	"name" text NOT NULL,
	"description" text NOT NULL,
	"system_type" text NOT NULL,
	"colour" text DEFAULT '#3f51b5' NOT NULL,
	"latest_version_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "marketplace_connectors_kind_check" CHECK (("marketplace_connectors"."kind" = 'prebuilt' and "marketplace_connectors"."company_id" is null) or ("marketplace_connectors"."kind" = 'custom' and "marketplace_connectors"."company_id" is not null)),
	CONSTRAINT "marketplace_connectors_system_type_check" CHECK ("marketplace_connectors"."system_type" in ('Accounting', 'CRM', 'eCommerce', 'ERP', 'Marketplaces', 'Other', 'PIM', 'POS', '3PL', 'WMS', 'Database'))
);
--> statement-breakpoint
CREATE TABLE "marketplace_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"marketplace_connector_id" uuid NOT NULL,
	"version" text NOT NULL,
	"release_notes" text NOT NULL,
	"definition" jsonb NOT NULL,
	"released_on" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "marketplace_versions_connector_version_unique" UNIQUE("marketplace_connector_id","version")
);
--> statement-breakpoint
CREATE TABLE "process_flows" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"company_id" uuid NOT NULL,
	"name" text NOT NULL,
	"enabled" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "process_flows_id_company_unique" UNIQUE("id","company_id"),
	CONSTRAINT "process_flows_company_name_unique" UNIQUE("company_id","name")
);
--> statement-breakpoint
CREATE TABLE "sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"company_id" uuid NOT NULL,
	"email" text NOT NULL,
	"name" text NOT NULL,
	"password_hash" text NOT NULL,
	"role" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "users_id_company_unique" UNIQUE("id","company_id"),
	CONSTRAINT "users_role_check" CHECK ("users"."role" in ('administrator', 'manager', 'user', 'read-only'))
);
--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_actor_id_users_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connection_shapes" ADD CONSTRAINT "connection_shapes_flow_fk" FOREIGN KEY ("process_flow_id","company_id") REFERENCES "public"."process_flows"("id","company_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connection_shapes" ADD CONSTRAINT "connection_shapes_instance_fk" FOREIGN KEY ("instance_id","company_id") REFERENCES "public"."instances"("id","company_id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connector_drafts" ADD CONSTRAINT "connector_drafts_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connector_drafts" ADD CONSTRAINT "connector_drafts_user_fk" FOREIGN KEY ("created_by","company_id") REFERENCES "public"."users"("id","company_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connector_revisions" ADD CONSTRAINT "connector_revisions_connector_id_connectors_id_fk" FOREIGN KEY ("connector_id") REFERENCES "public"."connectors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connector_revisions" ADD CONSTRAINT "connector_revisions_author_id_users_id_fk" FOREIGN KEY ("author_id") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_marketplace_connector_id_marketplace_connectors_id_fk" FOREIGN KEY ("marketplace_connector_id") REFERENCES "public"."marketplace_connectors"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_marketplace_version_id_marketplace_versions_id_fk" FOREIGN KEY ("marketplace_version_id") REFERENCES "public"."marketplace_versions"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_installed_by_users_id_fk" FOREIGN KEY ("installed_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connectors" ADD CONSTRAINT "connectors_modified_by_users_id_fk" FOREIGN KEY ("modified_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "form_submissions" ADD CONSTRAINT "form_submissions_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "instances" ADD CONSTRAINT "instances_connector_fk" FOREIGN KEY ("connector_id","company_id") REFERENCES "public"."connectors"("id","company_id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "marketplace_connectors" ADD CONSTRAINT "marketplace_connectors_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "marketplace_versions" ADD CONSTRAINT "marketplace_versions_marketplace_connector_id_marketplace_connectors_id_fk" FOREIGN KEY ("marketplace_connector_id") REFERENCES "public"."marketplace_connectors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "process_flows" ADD CONSTRAINT "process_flows_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sessions" ADD CONSTRAINT "sessions_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_company_id_companies_id_fk" FOREIGN KEY ("company_id") REFERENCES "public"."companies"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_events_company_created_idx" ON "audit_events" USING btree ("company_id","created_at");--> statement-breakpoint
CREATE INDEX "audit_events_subject_idx" ON "audit_events" USING btree ("subject_id");--> statement-breakpoint
CREATE INDEX "connection_shapes_flow_position_idx" ON "connection_shapes" USING btree ("process_flow_id","position");--> statement-breakpoint
CREATE INDEX "connection_shapes_instance_idx" ON "connection_shapes" USING btree ("instance_id");--> statement-breakpoint
CREATE INDEX "connector_drafts_company_idx" ON "connector_drafts" USING btree ("company_id","updated_at");--> statement-breakpoint
CREATE INDEX "connectors_company_name_idx" ON "connectors" USING btree ("company_id",lower("name"),"id");--> statement-breakpoint
CREATE INDEX "connectors_marketplace_connector_idx" ON "connectors" USING btree ("marketplace_connector_id");--> statement-breakpoint
CREATE INDEX "connectors_marketplace_version_idx" ON "connectors" USING btree ("marketplace_version_id");--> statement-breakpoint
CREATE INDEX "connectors_name_search_idx" ON "connectors" USING gin ("name" gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "instances_company_idx" ON "instances" USING btree ("company_id");--> statement-breakpoint
CREATE UNIQUE INDEX "marketplace_connectors_prebuilt_key_unique" ON "marketplace_connectors" USING btree ("key") WHERE "marketplace_connectors"."kind" = 'prebuilt';--> statement-breakpoint
CREATE UNIQUE INDEX "marketplace_connectors_custom_key_unique" ON "marketplace_connectors" USING btree ("company_id","key") WHERE "marketplace_connectors"."kind" = 'custom';--> statement-breakpoint
CREATE INDEX "marketplace_connectors_type_name_idx" ON "marketplace_connectors" USING btree ("system_type",lower("name"));--> statement-breakpoint
CREATE INDEX "marketplace_connectors_name_idx" ON "marketplace_connectors" USING btree (lower("name"),"id");--> statement-breakpoint
CREATE INDEX "marketplace_connectors_company_idx" ON "marketplace_connectors" USING btree ("company_id");--> statement-breakpoint
CREATE INDEX "marketplace_connectors_search_idx" ON "marketplace_connectors" USING gin (("name" || ' ' || "description") gin_trgm_ops);--> statement-breakpoint
CREATE INDEX "sessions_user_idx" ON "sessions" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "sessions_expires_at_idx" ON "sessions" USING btree ("expires_at");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_unique" ON "users" USING btree (lower("email"));
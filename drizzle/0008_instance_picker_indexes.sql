CREATE INDEX "instances_company_name_idx" ON "instances" USING btree ("company_id",lower("name"),"id","name");--> statement-breakpoint
CREATE INDEX "instances_connector_name_idx" ON "instances" USING btree ("connector_id",lower("name"),"id","name");--> statement-breakpoint
CREATE INDEX "instances_name_search_idx" ON "instances" USING gin (lower("name") gin_trgm_ops);
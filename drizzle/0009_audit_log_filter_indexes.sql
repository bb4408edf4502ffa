DROP INDEX "audit_events_subject_idx";--> statement-breakpoint
DROP INDEX "audit_events_company_created_idx";--> statement-breakpoint
CREATE INDEX "audit_events_company_actor_idx" ON "audit_events" USING btree ("company_id","actor_id","created_at","id");--> statement-breakpoint
CREATE INDEX "audit_events_company_action_idx" ON "audit_events" USING btree ("company_id","action","created_at","id");--> statement-breakpoint
CREATE INDEX "audit_events_company_subject_idx" ON "audit_events" USING btree ("company_id","subject_id","created_at","id");--> statement-breakpoint
CREATE INDEX "audit_events_company_created_idx" ON "audit_events" USING btree ("company_id","created_at","id");
-- data_versions (0015): a counter per company, and one for the marketplace's own connectors (the nil
-- UUID), moved on once by every transaction that changed what a company's pages show (its audit log
-- too). A cached page (src/plugins/page-cache.ts) is keyed by them, so it is never served after such
-- a change, whoever made it, from whichever process, by whatever code: the database keeps them.
--
-- The triggers are deferred: a transaction's counter is moved at its commit, the last lock it takes
-- (the lock order of src/domain/locks.ts is not touched: nothing waits for another lock while holding
-- it). Moved once per transaction and scope: later rows find the transaction's mark and stop.
CREATE FUNCTION data_version_bump(changed uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  mark text := 'data_versions.moved_' || replace(changed::text, '-', '');
BEGIN
  IF current_setting(mark, true) IS DISTINCT FROM 'yes' THEN
    PERFORM set_config(mark, 'yes', true);
    INSERT INTO data_versions (scope, version) VALUES (changed, 1)
      ON CONFLICT (scope) DO UPDATE SET version = data_versions.version + 1;
  END IF;
END
$$;--> statement-breakpoint
-- A row of a company's table: its company (a marketplace connector of no company: the marketplace's scope).
CREATE FUNCTION data_version_company_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    PERFORM data_version_bump(coalesce(OLD.company_id, '00000000-0000-0000-0000-000000000000'));
  END IF;
  IF TG_OP <> 'DELETE' THEN
    PERFORM data_version_bump(coalesce(NEW.company_id, '00000000-0000-0000-0000-000000000000'));
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
-- A connector's revision: the connector's company (a revision removed with its connector: the
-- connector's removal moved it on).
CREATE FUNCTION data_version_revision_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed uuid;
BEGIN
  SELECT company_id INTO changed FROM connectors
    WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.connector_id ELSE NEW.connector_id END;
  IF changed IS NOT NULL THEN PERFORM data_version_bump(changed); END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
-- A marketplace version: its marketplace connector's company, or the marketplace's scope.
CREATE FUNCTION data_version_marketplace_version_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  changed uuid;
  found_it boolean;
BEGIN
  SELECT coalesce(company_id, '00000000-0000-0000-0000-000000000000'), true INTO changed, found_it
    FROM marketplace_connectors
    WHERE id = CASE WHEN TG_OP = 'DELETE' THEN OLD.marketplace_connector_id ELSE NEW.marketplace_connector_id END;
  IF found_it THEN PERFORM data_version_bump(changed); END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
-- Every table of a company's data, but the revisions and marketplace versions (their own functions)
-- and the audit log (inserts only).
DO $$
DECLARE
  company_table text;
BEGIN
  FOREACH company_table IN ARRAY ARRAY['users', 'marketplace_connectors', 'connectors', 'connector_drafts',
    'instances', 'process_flows', 'connection_shapes', 'migration_batches', 'update_batches'] LOOP
    EXECUTE format('CREATE CONSTRAINT TRIGGER data_version AFTER INSERT OR UPDATE OR DELETE ON %I '
      'DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION data_version_company_row()', company_table);
  END LOOP;
END
$$;--> statement-breakpoint
CREATE CONSTRAINT TRIGGER data_version AFTER INSERT OR UPDATE OR DELETE ON connector_revisions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION data_version_revision_row();--> statement-breakpoint
CREATE CONSTRAINT TRIGGER data_version AFTER INSERT OR UPDATE OR DELETE ON marketplace_versions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION data_version_marketplace_version_row();--> statement-breakpoint
CREATE CONSTRAINT TRIGGER data_version AFTER INSERT ON audit_events
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION data_version_company_row();

-- connectors.update_pending (0013) says whether the vendor has a newer version than the connector's:
-- its marketplace connector is prebuilt and its latest version is not the connector's. The database
-- keeps it, whoever writes: on a connector's insert or change of version, and on a marketplace
-- connector's new latest version (publishing), for every connector made from it.
CREATE FUNCTION connectors_set_update_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.update_pending := coalesce((
    SELECT m.kind = 'prebuilt' AND m.latest_version_id IS NOT NULL AND m.latest_version_id <> NEW.marketplace_version_id
    FROM marketplace_connectors m WHERE m.id = NEW.marketplace_connector_id), false);
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER connectors_update_pending BEFORE INSERT OR UPDATE OF marketplace_version_id, marketplace_connector_id, update_pending
  ON connectors FOR EACH ROW EXECUTE FUNCTION connectors_set_update_pending();--> statement-breakpoint
CREATE FUNCTION marketplace_connectors_refresh_update_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- The connectors' trigger works the value out again from this row as it is now.
  UPDATE connectors SET update_pending = NOT update_pending
    WHERE marketplace_connector_id = NEW.id
      AND update_pending IS DISTINCT FROM coalesce(NEW.kind = 'prebuilt' AND NEW.latest_version_id <> marketplace_version_id, false);
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER marketplace_connectors_update_pending AFTER UPDATE OF latest_version_id, kind
  ON marketplace_connectors FOR EACH ROW EXECUTE FUNCTION marketplace_connectors_refresh_update_pending();--> statement-breakpoint
-- Every connector already there: the trigger works each one out.
UPDATE connectors SET update_pending = update_pending;

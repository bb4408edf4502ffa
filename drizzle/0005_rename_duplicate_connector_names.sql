-- Custom SQL migration file, put your code below! --
-- Connector names become unique per company, ignoring case (the next migration adds the index).
-- Where a company already has a name more than once, the first installed keeps it and every other
-- gets the lowest free " (n)", n >= 2, exactly as installing another copy names it; each rename is
-- recorded in the company's audit log (no actor: the upgrade did it).
DO $$
DECLARE
  duplicate record;
  n integer;
  candidate text;
BEGIN
  FOR duplicate IN
    SELECT id, company_id, name FROM (
      SELECT id, company_id, name, row_number() OVER (PARTITION BY company_id, lower(name) ORDER BY created_at, id) AS rank
      FROM connectors
    ) ranked
    WHERE rank > 1
    ORDER BY company_id, lower(name), rank
  LOOP
    n := 2;
    LOOP
      candidate := duplicate.name || ' (' || n || ')';
      EXIT WHEN NOT EXISTS (SELECT 1 FROM connectors WHERE company_id = duplicate.company_id AND lower(name) = lower(candidate));
      n := n + 1;
    END LOOP;
    UPDATE connectors SET name = candidate WHERE id = duplicate.id;
    INSERT INTO audit_events (company_id, actor_id, action, subject_type, subject_id, summary, details)
    VALUES (duplicate.company_id, NULL, 'rename', 'connector', duplicate.id,
      'renamed connector ' || duplicate.name || ' to ' || candidate || ': names of connectors are unique from this version on',
      jsonb_build_object('renamedFrom', duplicate.name, 'renamedTo', candidate));
  END LOOP;
END $$;

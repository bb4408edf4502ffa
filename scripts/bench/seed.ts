// Seeds the benchmark's tenants with bulk SQL (INSERT ... SELECT generate_series): a large company
// that stresses every list, and a small one so that every query must filter by company.
import type { Sql } from 'postgres'
import { readCatalogue } from '../../src/marketplace/manifest.js'
import { hashPassword } from '../../src/domain/passwords.js'
import type { Role } from '../../src/domain/enums.js'

export interface Scale {
  marketplaceConnectors: number
  customPerTenant: { large: number; small: number }
  connectors: number
  instancesPerConnector: number
  processFlows: number
  shapesPerFlow: number
  sessions: number
  /** Entries of the large company's audit log (settings > audit log). */
  auditEntries: number
}

/** The numbers; `fraction` 0.1 gives the same shape at a tenth of the size. */
export function scaleOf(fraction: number): Scale {
  const n = (full: number) => Math.max(1, Math.round(full * fraction))
  return {
    marketplaceConnectors: n(2000),
    customPerTenant: { large: n(40), small: n(10) },
    connectors: n(1000),
    instancesPerConnector: 10,
    processFlows: n(500),
    shapesPerFlow: 10,
    sessions: n(2000),
    auditEntries: n(100_000),
  }
}

/** The small tenant is the same at every scale. */
const SMALL_TENANT = { connectors: 20, instancesPerConnector: 3, processFlows: 5, shapesPerFlow: 4 }
const SMALL_TENANT_AUDIT_ENTRIES = 1000

export const BENCH_PASSWORD = 'bench-password-not-secret'
const VERSIONS_PER_CONNECTOR = 3
const REGIONS = ['UK', 'US', 'EU', 'DE', 'FR', 'AU', 'CA', 'NL', 'IE', 'ES']
const VARIANTS = ['', 'EU', 'US', 'UK', 'APAC', 'Plus', 'B2B', 'Wholesale', 'Legacy', 'Sandbox']

export interface SeededTenant {
  companyId: string
  users: Record<Role, string>
  connectorId: string
  /** A modified connector based on an older version: its update choice has release notes, a merge and the impact list. */
  updatableConnectorId: string
  processFlowId: string
}

export interface Seeded {
  large: SeededTenant
  small: SeededTenant
  counts: Record<string, number>
}

/** Seeds an empty, migrated database. `sql` must be a single-connection client (temp tables). */
export async function seed(sql: Sql, scale: Scale): Promise<Seeded> {
  const templates = (await readCatalogue()).map(({ manifest }) => {
    const definitions = Array.from(
      { length: VERSIONS_PER_CONNECTOR },
      (_, i) => manifest.versions[Math.min(i, manifest.versions.length - 1)]!,
    )
    return {
      name: manifest.name,
      description: manifest.description,
      systemType: manifest.systemType,
      colour: manifest.colour,
      versions: definitions.map((v) => ({ releaseNotes: v.releaseNotes, definition: v.definition })),
    }
  })
  const passwordHash = await hashPassword(BENCH_PASSWORD)

  const [large] = await sql<{ id: string }[]>`insert into companies (name) values ('Bench Retail Group') returning id`
  const [small] = await sql<{ id: string }[]>`insert into companies (name) values ('Small Shop Ltd') returning id`
  const largeUsers = await createUsers(sql, large!.id, 'bench-retail', passwordHash, 20)
  const smallUsers = await createUsers(sql, small!.id, 'small-shop', passwordHash, 0)

  const prebuilt = scale.marketplaceConnectors - scale.customPerTenant.large - scale.customPerTenant.small
  // One row per marketplace connector, its template (a catalogue manifest) and its owner.
  await sql`
    create temporary table bench_marketplace as
    select g, gen_random_uuid() as id, t.template,
      case when g <= ${prebuilt} then null
           when g <= ${prebuilt + scale.customPerTenant.large} then ${large!.id}::uuid
           else ${small!.id}::uuid end as company_id
    from generate_series(1, ${scale.marketplaceConnectors}) g,
      lateral (select (${sql.json(templates)}::jsonb) -> ((g - 1) % ${templates.length}) as template) t`
  await sql`
    insert into marketplace_connectors (id, key, kind, company_id, name, description, system_type, colour, created_at)
    select id, 'bench-' || g, case when company_id is null then 'prebuilt' else 'custom' end, company_id,
      case when company_id is null
        then concat_ws(' ', template ->> 'name', nullif((${VARIANTS}::text[])[1 + (g / ${templates.length}) % ${VARIANTS.length}], ''), g)
        else 'Custom ' || (template ->> 'name') || ' bridge ' || g end,
      template ->> 'description', template ->> 'systemType', template ->> 'colour', now() - make_interval(days => g % 700)
    from bench_marketplace`
  await sql`
    insert into marketplace_versions (marketplace_connector_id, version, release_notes, definition, released_on)
    select m.id,
      case when m.company_id is null then '1.' || (v - 1) || '.0' else 'Version ' || v || ' - ' || v || ' March 2026' end,
      m.template -> 'versions' -> (v - 1) ->> 'releaseNotes', m.template -> 'versions' -> (v - 1) -> 'definition',
      now() - make_interval(days => (${VERSIONS_PER_CONNECTOR} - v) * 90)
    from bench_marketplace m, generate_series(1, ${VERSIONS_PER_CONNECTOR}) v`
  await sql`
    update marketplace_connectors m set latest_version_id = (
      select v.id from marketplace_versions v where v.marketplace_connector_id = m.id order by v.released_on desc limit 1)`

  const largeTenant = await seedTenant(sql, large!.id, largeUsers, {
    connectors: scale.connectors,
    instancesPerConnector: scale.instancesPerConnector,
    processFlows: scale.processFlows,
    shapesPerFlow: scale.shapesPerFlow,
  })
  const smallTenant = await seedTenant(sql, small!.id, smallUsers, SMALL_TENANT)
  await seedAuditLog(sql, large!.id, scale.auditEntries)
  await seedAuditLog(sql, small!.id, SMALL_TENANT_AUDIT_ENTRIES)
  // Other people signed in (hashes of no real token), so the session lookup meets a real table.
  await sql`
    insert into sessions (id, user_id, expires_at)
    select encode(sha256(convert_to('bench-session-' || g, 'UTF8')), 'hex'), u.ids[1 + g % cardinality(u.ids)],
      now() + make_interval(days => 1 + g % 14)
    from generate_series(1, ${scale.sessions}) g, (select array_agg(id) as ids from users) u`
  // As autovacuum leaves a table in service: statistics and the visibility map (index-only scans).
  await sql`vacuum analyze`

  const counts: Record<string, number> = {}
  for (const table of [
    'marketplace_connectors',
    'marketplace_versions',
    'connectors',
    'connector_revisions',
    'instances',
    'process_flows',
    'connection_shapes',
    'users',
    'sessions',
    'audit_events',
  ]) {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from ${sql(table)}`
    counts[table] = row!.n
  }
  return { large: largeTenant, small: smallTenant, counts }
}

async function createUsers(
  sql: Sql,
  companyId: string,
  slug: string,
  passwordHash: string,
  extra: number,
): Promise<Record<Role, string>> {
  const roles: Role[] = ['administrator', 'manager', 'user', 'read-only']
  const names = ['Ana Diaz', 'Ben Okafor', 'Chloe Martin', 'Dev Patel']
  const rows = await sql<{ id: string; role: Role }[]>`
    insert into users (company_id, email, name, role, password_hash)
    select ${companyId}, r.role || '@' || ${slug} || '.example', r.name, r.role, ${passwordHash}
    from unnest(${roles}::text[], ${names}::text[]) as r(role, name)
    returning id, role`
  await sql`
    insert into users (company_id, email, name, role, password_hash)
    select ${companyId}, 'colleague' || g || '@' || ${slug} || '.example', 'Colleague ' || g, 'user', ${passwordHash}
    from generate_series(1, ${extra}) g`
  return Object.fromEntries(rows.map((r) => [r.role, r.id])) as Record<Role, string>
}

interface TenantSize {
  connectors: number
  instancesPerConnector: number
  processFlows: number
  shapesPerFlow: number
}

async function seedTenant(
  sql: Sql,
  companyId: string,
  users: Record<Role, string>,
  size: TenantSize,
): Promise<SeededTenant> {
  await sql`drop table if exists bench_connectors, bench_instances, bench_flows`
  // Installs the company's visible marketplace connectors: its own custom ones first, then prebuilt.
  // Every third is one version behind (update available), every fifth modified after install.
  await sql`
    create temporary table bench_connectors as
    select row_number() over (order by m.company_id is null, m.g) as n, gen_random_uuid() as id, m.id as marketplace_connector_id,
      m.template ->> 'name' as template_name, mc.name
    from bench_marketplace m join marketplace_connectors mc on mc.id = m.id
    where m.company_id is null or m.company_id = ${companyId}
    order by m.company_id is null, m.g
    limit ${size.connectors}`
  await sql`
    insert into connectors (id, company_id, marketplace_connector_id, marketplace_version_id, name, definition, revision,
      created_at, installed_by, modified_at, modified_by)
    select c.id, ${companyId}, c.marketplace_connector_id, v.id, c.name, v.definition, case when c.n % 5 = 0 then 2 else 1 end,
      now() - make_interval(hours => c.n::int), ${users.administrator},
      case when c.n % 5 = 0 then now() - make_interval(mins => c.n::int) end, case when c.n % 5 = 0 then ${users.manager}::uuid end
    from bench_connectors c,
      lateral (select id, definition from marketplace_versions where marketplace_connector_id = c.marketplace_connector_id
               order by released_on desc offset case when c.n % 3 = 0 then 1 else 0 end limit 1) v`
  await sql`
    insert into connector_revisions (connector_id, number, author_id, summary, definition, created_at)
    select c.id, r, case when r = 1 then c.installed_by else c.modified_by end,
      case when r = 1 then 'installed from the marketplace' else 'added an endpoint' end, c.definition,
      case when r = 1 then c.created_at else c.modified_at end
    from connectors c, generate_series(1, 2) r
    where c.company_id = ${companyId} and r <= c.revision`
  await sql`
    create temporary table bench_instances as
    select row_number() over (order by c.n, i) as n, gen_random_uuid() as id, c.id as connector_id, i,
      bc.name || ' - ' || (${REGIONS}::text[])[1 + (i - 1) % ${REGIONS.length}] || case when i > ${REGIONS.length} then ' ' || i else '' end as name
    from bench_connectors c join connectors bc on bc.id = c.id, generate_series(1, ${size.instancesPerConnector}) i`
  await sql`
    insert into instances (id, company_id, connector_id, name, auth_method_key, time_zone, date_format,
      rate_limit_amount, rate_limit_unit, settings, created_by, created_at)
    select i.id, ${companyId}, i.connector_id, i.name, c.definition -> 'authMethods' -> 0 ->> 'key',
      (array['Europe/London', 'America/New_York', 'Europe/Berlin', 'Australia/Sydney'])[1 + i.n % 4],
      c.definition ->> 'dateFormat', (c.definition -> 'rateLimit' ->> 'amount')::int, c.definition -> 'rateLimit' ->> 'unit',
      jsonb_build_object('account', 'account-' || i.n), ${users.user}, now() - make_interval(mins => i.n::int)
    from bench_instances i join connectors c on c.id = i.connector_id`
  await sql`
    create temporary table bench_flows as
    select g as n, gen_random_uuid() as id from generate_series(1, ${size.processFlows}) g`
  await sql`
    insert into process_flows (id, company_id, name, enabled)
    select id, ${companyId}, 'Flow ' || lpad(n::text, 4, '0') || ' - ' || (array['orders to ERP', 'stock levels', 'customers to CRM', 'fulfilments', 'invoices'])[1 + n % 5], n % 3 <> 0
    from bench_flows`
  const instanceCount = size.connectors * size.instancesPerConnector
  // Each shape uses a pseudo-random instance of the company and one of its connector's endpoints.
  await sql`
    insert into connection_shapes (company_id, process_flow_id, instance_id, endpoint_key, position)
    select ${companyId}, f.id, i.id,
      c.definition -> 'endpoints' -> (p % jsonb_array_length(c.definition -> 'endpoints')) ->> 'key', p
    from bench_flows f, generate_series(0, ${size.shapesPerFlow - 1}) p,
      lateral (select * from bench_instances where n = 1 + (f.n * 7919 + p * 104729) % ${instanceCount}) i
      join connectors c on c.id = i.connector_id`
  const [connector] = await sql<{ id: string }[]>`select id from bench_connectors where n = 5`
  const [updatable] = await sql<{ id: string }[]>`select id from bench_connectors where n = 15`
  const [flow] = await sql<{ id: string }[]>`select id from bench_flows order by n limit 1`
  return { companyId, users, connectorId: connector!.id, updatableConnectorId: updatable!.id, processFlowId: flow!.id }
}

/**
 * A company's audit log: `count` entries, one every 30 s going back from now, by each of its people in
 * turn, about its connectors (modify, with the revision), instances and process flows (each of them
 * in turn, so every connector has about 40 entries at full scale); one in fifty
 * about a connector removed since. Inserted before the inserts-only trigger matters (it refuses only
 * updates and deletes).
 */
async function seedAuditLog(sql: Sql, companyId: string, count: number): Promise<void> {
  await sql`
    insert into audit_events (company_id, actor_id, action, subject_type, subject_id, summary, details, created_at)
    select ${companyId}, u.ids[1 + g % cardinality(u.ids)], e.action, e.subject_type, e.subject_id, e.summary, e.details,
      now() - make_interval(secs => g * 30)
    from generate_series(1, ${count}) g,
      (select array_agg(id order by id) as ids from users where company_id = ${companyId}) u,
      (select array_agg(id order by id) as ids from connectors where company_id = ${companyId}) c,
      (select array_agg(id order by id) as ids from instances where company_id = ${companyId}) i,
      (select array_agg(id order by id) as ids from process_flows where company_id = ${companyId}) f,
      lateral (select
        case when g % 50 = 0 then 'remove' when g % 10 < 4 then 'modify'
             when g % 10 < 8 then 'change instance' else 'rename process flow' end as action,
        case when g % 10 < 4 or g % 50 = 0 then 'connector' when g % 10 < 8 then 'instance' else 'process flow' end
          as subject_type,
        case when g % 50 = 0 then gen_random_uuid()
             when g % 10 < 4 then c.ids[1 + (g / 10) % cardinality(c.ids)]
             when g % 10 < 8 then i.ids[1 + (g / 10) % cardinality(i.ids)]
             else f.ids[1 + (g / 10) % cardinality(f.ids)] end as subject_id,
        'bench entry ' || g as summary,
        case when g % 10 < 4 and g % 50 <> 0 then '{"revision": 2}'::jsonb else '{}'::jsonb end as details) e`
}

// Settings > audit log: every recorded change of the company, newest first, filtered by person,
// action, date range and subject (a connector, instance or process flow), paged by keyset so that
// any page costs the same at 100,000 entries. Read-only for everybody: nothing here writes.
import { and, asc, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm'
import { alias, type PgColumn } from 'drizzle-orm/pg-core'
import {
  auditEvents,
  connectionShapes,
  connectorDrafts,
  connectors,
  instances,
  migrationBatches,
  processFlows,
  users,
} from '../db/schema.js'
import type { Queryable } from '../db/client.js'
import type { Actor } from './actor.js'
import { AUDIT_ACTIONS, type AuditAction } from './audit.js'
import { Invalid } from './errors.js'
import { isId } from './ids.js'
import { constantLimit } from './pagination.js'

export { AUDIT_ACTIONS, type AuditAction }

export const AUDIT_PAGE_SIZE = 50

/** What the log can be narrowed to: the things that have a page of their own (`?connector=<id>` …). */
export const AUDIT_SUBJECTS = { connector: 'connector', instance: 'instance', flow: 'process flow' } as const
export type AuditSubjectParam = keyof typeof AUDIT_SUBJECTS

/** The filters as typed in the form or the address (every one optional). */
export interface AuditFilterInput {
  person?: string | undefined
  action?: string | undefined
  from?: string | undefined
  to?: string | undefined
  connector?: string | undefined
  instance?: string | undefined
  flow?: string | undefined
}

/** The filters once checked. `from`/`to` are whole UTC days, both included. */
export interface AuditFilter {
  person?: string
  action?: AuditAction
  from?: string
  to?: string
  subject?: { param: AuditSubjectParam; type: (typeof AUDIT_SUBJECTS)[AuditSubjectParam]; id: string }
}

/** Where a page starts: older than entry `before`, or newer than entry `after` (ids from the page's links). */
export interface AuditCursor {
  before?: number
  after?: number
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/

/** A real calendar day written YYYY-MM-DD (what <input type="date"> sends), or null. */
function dayOf(text: string): string | null {
  const match = DAY.exec(text)
  if (!match) return null
  const date = new Date(`${text}T00:00:00Z`)
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === text ? text : null
}

const nextDay = (day: string) => new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)

/** Checks the filters: a message per field for what cannot be a filter (the form shows it beside the field). */
export function auditFilterOf(input: AuditFilterInput): AuditFilter {
  const errors: Record<string, string> = {}
  const filter: AuditFilter = {}
  const person = input.person?.trim()
  if (person) {
    if (isId(person)) filter.person = person
    else errors.person = 'Choose a person from the list.'
  }
  const action = input.action?.trim()
  if (action) {
    const known = AUDIT_ACTIONS.find((a) => a === action)
    if (known) filter.action = known
    else errors.action = 'Choose an action from the list.'
  }
  for (const field of ['from', 'to'] as const) {
    const typed = input[field]?.trim()
    if (!typed) continue
    const day = dayOf(typed)
    if (day) filter[field] = day
    else errors[field] = 'Enter a date as year-month-day, for example 2026-11-28.'
  }
  if (filter.from && filter.to && filter.to < filter.from) errors.to = 'The end date must not be before the start date.'
  for (const param of Object.keys(AUDIT_SUBJECTS) as AuditSubjectParam[]) {
    const id = input[param]?.trim()
    if (!id) continue
    if (filter.subject || !isId(id)) {
      errors[''] = 'The audit log can be narrowed to one connector, instance or process flow at a time.'
      continue
    }
    filter.subject = { param, type: AUDIT_SUBJECTS[param], id }
  }
  if (Object.keys(errors).length) throw new Invalid(errors)
  return filter
}

/** An entry of the log as a page shows it and the CSV writes it. */
export interface AuditLogEntry {
  id: number
  occurredAt: Date
  actorName: string | null
  actorEmail: string | null
  action: string
  subjectType: string
  subjectId: string | null
  summary: string
  /** The thing's page, while it still exists. */
  subjectHref: string | null
  /** The entry named a thing that is gone since. */
  subjectRemoved: boolean
  /** The revision this entry made (a change to a connector), while the connector exists. */
  revision: number | null
  revisionHref: string | null
}

export interface AuditLogPage {
  entries: AuditLogEntry[]
  /** The id to start the next (older) page before, when there are older entries. */
  olderThan: number | null
  /** The id to start the previous (newer) page after, when this is not the newest page. */
  newerThan: number | null
}

const actor = alias(users, 'actor')
const subjectUser = alias(users, 'subject_user')
const shape = alias(connectionShapes, 'subject_shape')

const subjectIs = (type: string) => sql`${auditEvents.subjectType} = ${type}`

/** An entry's subject: a `type` row of the company with the entry's subject id (joined only while it is there). */
const isSubject = (table: { id: PgColumn; companyId: PgColumn }, type: string, companyId: string) =>
  and(subjectIs(type), eq(table.id, auditEvents.subjectId), eq(table.companyId, companyId))

/** The where clause of a filter: always the actor's company. */
function whereOf(companyId: string, filter: AuditFilter): SQL {
  const conditions: (SQL | undefined)[] = [eq(auditEvents.companyId, companyId)]
  if (filter.person) conditions.push(eq(auditEvents.actorId, filter.person))
  if (filter.action) conditions.push(eq(auditEvents.action, filter.action))
  if (filter.from) conditions.push(gte(auditEvents.createdAt, sql`${`${filter.from}T00:00:00Z`}::timestamptz`))
  if (filter.to) conditions.push(lt(auditEvents.createdAt, sql`${`${nextDay(filter.to)}T00:00:00Z`}::timestamptz`))
  if (filter.subject) conditions.push(eq(auditEvents.subjectId, filter.subject.id), subjectIs(filter.subject.type))
  return and(...conditions)!
}

/** (occurred at, id) compared with those of entry `id` of the same company: the keyset of the log's order. */
function beyond(companyId: string, id: number, direction: '<' | '>'): SQL {
  return sql`(${auditEvents.createdAt}, ${auditEvents.id}) ${sql.raw(direction)} (select cursor.created_at, cursor.id
    from audit_events cursor where cursor.id = ${id} and cursor.company_id = ${companyId})`
}

/** One statement: the entries with who did them and whether (and where) their subject and revision still are. */
async function selectEntries(db: Queryable, companyId: string, where: SQL, order: 'newest' | 'oldest', limit: number) {
  const sort = order === 'newest' ? desc : asc
  const rows = await db
    .select({
      id: auditEvents.id,
      occurredAt: auditEvents.createdAt,
      actorName: actor.name,
      actorEmail: actor.email,
      action: auditEvents.action,
      subjectType: auditEvents.subjectType,
      subjectId: auditEvents.subjectId,
      summary: auditEvents.summary,
      detailsRevision: sql<
        number | null
      >`case when jsonb_typeof(${auditEvents.details} -> 'revision') = 'number' then (${auditEvents.details} ->> 'revision')::integer end`,
      connectorId: connectors.id,
      instanceId: instances.id,
      flowId: processFlows.id,
      shapeFlowId: shape.processFlowId,
      userId: subjectUser.id,
      draftId: connectorDrafts.id,
      batchConnectorId: migrationBatches.toConnectorId,
    })
    .from(auditEvents)
    .leftJoin(actor, eq(actor.id, auditEvents.actorId))
    .leftJoin(connectors, isSubject(connectors, 'connector', companyId))
    .leftJoin(instances, isSubject(instances, 'instance', companyId))
    .leftJoin(processFlows, isSubject(processFlows, 'process flow', companyId))
    .leftJoin(shape, isSubject(shape, 'connection shape', companyId))
    .leftJoin(subjectUser, isSubject(subjectUser, 'user', companyId))
    .leftJoin(connectorDrafts, isSubject(connectorDrafts, 'draft', companyId))
    .leftJoin(migrationBatches, isSubject(migrationBatches, 'migration batch', companyId))
    .where(where)
    .orderBy(sort(auditEvents.createdAt), sort(auditEvents.id))
    .limit(constantLimit(limit))
  return rows.map(entryOf)
}

/** Installing makes revision 1; every other change to a connector names its revision in the entry. */
const INSTALLS: readonly string[] = ['install', 'install alongside'] satisfies AuditAction[]

function entryOf(
  row: Pick<
    AuditLogEntry,
    'id' | 'occurredAt' | 'actorName' | 'actorEmail' | 'action' | 'subjectType' | 'subjectId' | 'summary'
  > & {
    detailsRevision: number | null
    connectorId: string | null
    instanceId: string | null
    flowId: string | null
    shapeFlowId: string | null
    userId: string | null
    draftId: string | null
    batchConnectorId: string | null
  },
): AuditLogEntry {
  const id = row.subjectId
  const subjectHref =
    row.connectorId !== null
      ? `/connectors/${id}/settings`
      : row.instanceId !== null
        ? `/instances/${id}/settings`
        : row.flowId !== null
          ? `/process-flows/${id}`
          : row.shapeFlowId !== null
            ? `/process-flows/${row.shapeFlowId}`
            : row.userId !== null
              ? '/settings/users'
              : row.draftId !== null
                ? `/builder/drafts/${id}/basic-details`
                : row.batchConnectorId !== null
                  ? `/connectors/${row.batchConnectorId}/migrations/${id}`
                  : null
  // A marketplace connector stays in the marketplace; anything else not found is gone.
  const subjectRemoved = id !== null && subjectHref === null && row.subjectType !== 'marketplace connector'
  const revision =
    row.subjectType === 'connector' ? (row.detailsRevision ?? (INSTALLS.includes(row.action) ? 1 : null)) : null
  return {
    id: row.id,
    occurredAt: row.occurredAt,
    actorName: row.actorName,
    actorEmail: row.actorEmail,
    action: row.action,
    subjectType: row.subjectType,
    subjectId: row.subjectId,
    summary: row.summary,
    subjectHref,
    subjectRemoved,
    revision,
    revisionHref: revision !== null && row.connectorId !== null ? `/connectors/${id}/revisions/${revision}` : null,
  }
}

/**
 * One page of the log, newest first: the newest entries, those older than `cursor.before`, or those
 * just newer than `cursor.after`. One statement, however large the log.
 */
export async function readAuditLog(
  db: Queryable,
  actor: Pick<Actor, 'companyId'>,
  filter: AuditFilter,
  cursor: AuditCursor = {},
  pageSize = AUDIT_PAGE_SIZE,
): Promise<AuditLogPage> {
  const where = whereOf(actor.companyId, filter)
  if (cursor.after !== undefined) {
    const rows = await selectEntries(
      db,
      actor.companyId,
      and(where, beyond(actor.companyId, cursor.after, '>'))!,
      'oldest',
      pageSize + 1,
    )
    const newer = rows.length > pageSize
    const entries = rows.slice(0, pageSize).reverse()
    return {
      entries,
      olderThan: entries.at(-1)?.id ?? null,
      newerThan: newer ? (entries[0]?.id ?? null) : null,
    }
  }
  const rows = await selectEntries(
    db,
    actor.companyId,
    cursor.before === undefined ? where : and(where, beyond(actor.companyId, cursor.before, '<'))!,
    'newest',
    pageSize + 1,
  )
  const entries = rows.slice(0, pageSize)
  return {
    entries,
    olderThan: rows.length > pageSize ? (entries.at(-1)?.id ?? null) : null,
    newerThan: cursor.before !== undefined && entries.length ? entries[0]!.id : null,
  }
}

/** Every entry of a filter, newest first, in batches (a keyset each): the CSV export streams them. */
export async function* allAuditEntries(
  db: Queryable,
  actor: Pick<Actor, 'companyId'>,
  filter: AuditFilter,
  batchSize = 1000,
): AsyncGenerator<AuditLogEntry[]> {
  let before: number | undefined
  for (;;) {
    const page = await readAuditLog(db, actor, filter, before === undefined ? {} : { before }, batchSize)
    if (page.entries.length) yield page.entries
    if (page.olderThan === null) return
    before = page.olderThan
  }
}

/** What the filter form offers and names: the company's people, and the subject the log is narrowed to. */
export interface AuditFilterChoices {
  people: { id: string; name: string; active: boolean }[]
  /** The subject's name while it exists (null: removed, or never this company's). */
  subjectName: string | null
}

/** One statement: the people to choose from and, when narrowed to one, the subject's current name. */
export async function auditFilterChoices(
  db: Queryable,
  actor: Pick<Actor, 'companyId'>,
  filter: AuditFilter,
): Promise<AuditFilterChoices> {
  const subject = filter.subject
  const table = subject ? { connector: connectors, instance: instances, flow: processFlows }[subject.param] : null
  const subjectName = table
    ? sql<
        string | null
      >`(select ${table.name} from ${table} where ${table.id} = ${subject!.id} and ${table.companyId} = ${actor.companyId})`
    : sql<null>`null`
  const rows = await db
    .select({ id: users.id, name: users.name, active: sql<boolean>`${users.deactivatedAt} is null`, subjectName })
    .from(users)
    .where(eq(users.companyId, actor.companyId))
    .orderBy(asc(sql`lower(${users.name})`), asc(users.id))
  return {
    people: rows.map(({ id, name, active }) => ({ id, name, active })),
    subjectName: rows[0]?.subjectName ?? null,
  }
}

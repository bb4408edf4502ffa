// settings > audit log: every recorded change, newest first, filtered by person, action, date range
// and subject (`?connector=`, `?instance=`, `?flow=`); and the same filtered log as a CSV download.
// Read by every role; there is no route that changes or removes an entry (help: reading the audit log).
//
//   /settings/audit-log       the log (GET form: htmx swaps the filters and results, without JavaScript a whole page)
//   /settings/audit-log.csv   the filtered log, streamed as CSV
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { actorOf } from '../plugins/auth.js'
import {
  AUDIT_ACTIONS,
  allAuditEntries,
  auditFilterChoices,
  auditFilterOf,
  readAuditLog,
  type AuditCursor,
  type AuditFilter,
  type AuditLogEntry,
} from '../domain/audit-log.js'
import { Invalid } from '../domain/errors.js'
import type { Actor } from '../domain/actor.js'
import { QueryText } from './schemas.js'
import { withQuery } from '../views/format.js'

const AuditLogQuery = Type.Object({
  person: QueryText,
  action: QueryText,
  from: QueryText,
  to: QueryText,
  connector: QueryText,
  instance: QueryText,
  flow: QueryText,
  before: QueryText,
  after: QueryText,
})
type AuditLogQuery = Static<typeof AuditLogQuery>

const FILTER_FIELDS = ['person', 'action', 'from', 'to', 'connector', 'instance', 'flow'] as const
type FilterValues = Record<(typeof FILTER_FIELDS)[number], string>

const firstOf = (raw: string | string[] | undefined) => (Array.isArray(raw) ? raw[0] : raw) ?? ''

/** The filters as typed, trimmed: what the form shows again and every link of the page keeps. */
const valuesOf = (query: AuditLogQuery): FilterValues =>
  Object.fromEntries(FILTER_FIELDS.map((field) => [field, firstOf(query[field]).trim()])) as FilterValues

/** `?before=` / `?after=`: an entry id from the page's own links; anything else is the newest page. */
function cursorOf(query: AuditLogQuery): AuditCursor {
  const id = (raw: string | string[] | undefined) => {
    const text = firstOf(raw)
    return /^\d{1,15}$/.test(text) ? Number(text) : undefined
  }
  const before = id(query.before)
  if (before !== undefined) return { before }
  const after = id(query.after)
  return after !== undefined ? { after } : {}
}

export const AUDIT_LOG = '/settings/audit-log'
const config = { help: 'reading-the-audit-log' } as const

export default async function auditLogRoutes(fastify: FastifyInstance) {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  const pageData = async (actor: Actor, values: FilterValues, filter: AuditFilter, cursor: AuditCursor) => {
    const [log, choices] = await Promise.all([
      readAuditLog(app.db, actor, filter, cursor),
      auditFilterChoices(app.db, actor, filter),
    ])
    return { log, choices, values, filter, errors: {}, actions: AUDIT_ACTIONS, base: AUDIT_LOG }
  }

  app.get(AUDIT_LOG, { config, schema: { querystring: AuditLogQuery } }, async (request, reply) => {
    const actor = actorOf(request)
    const values = valuesOf(request.query)
    let filter: AuditFilter
    try {
      filter = auditFilterOf(values)
    } catch (error) {
      if (!(error instanceof Invalid)) throw error
      // The form again with what was typed and the message beside the field; no entries until it is right.
      const choices = await auditFilterChoices(app.db, actor, {})
      return reply
        .code(422)
        .page(
          'audit-log/page',
          { log: null, choices, values, filter: {}, errors: error.fields, actions: AUDIT_ACTIONS, base: AUDIT_LOG },
          'audit-log/audit-log-results',
        )
    }
    // Made once per version of the company's data (every entry recorded moves it on): plugins/page-cache.ts.
    const cached = await reply.cached(() => pageData(actor, values, filter, cursorOf(request.query)))
    return reply.page('audit-log/page', cached.value, 'audit-log/audit-log-results', cached)
  })

  // No help link of its own: it is a download, not a screen.
  app.get(`${AUDIT_LOG}.csv`, { schema: { querystring: AuditLogQuery } }, async (request, reply) => {
    const actor = actorOf(request)
    // A filter that cannot be one is refused before anything is sent (the page explains it beside the field).
    const filter = auditFilterOf(valuesOf(request.query))
    const lines = async function* () {
      yield csvLine(CSV_HEADER)
      for await (const batch of allAuditEntries(app.db, actor, filter)) yield batch.map(csvRow).join('')
    }
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="audit-log-${new Date().toISOString().slice(0, 10)}.csv"`)
      .header('cache-control', 'no-store')
      .send(Readable.from(lines()))
  })
}

/** The address of the log with these filters (empty ones dropped), e.g. a connector's own log. */
export const auditLogHref = (filters: Partial<FilterValues> & { before?: number; after?: number } = {}) =>
  withQuery(AUDIT_LOG, filters)

const CSV_HEADER = ['when (UTC)', 'who', 'email', 'action', 'subject', 'subject id', 'what', 'revision', 'removed']

function csvRow(entry: AuditLogEntry): string {
  return csvLine([
    entry.occurredAt.toISOString(),
    entry.actorName ?? 'a removed person',
    entry.actorEmail ?? '',
    entry.action,
    entry.subjectType,
    entry.subjectId ?? '',
    entry.summary,
    entry.revision === null ? '' : String(entry.revision),
    entry.subjectRemoved ? 'yes' : '',
  ])
}

/**
 * One CSV line (RFC 4180): every cell quoted, quotes doubled. A cell a spreadsheet would read as a
 * formula (= + - @, tab, carriage return first) gets a leading apostrophe, so a name typed by a user
 * can never run in the spreadsheet of whoever opens the export.
 */
export function csvLine(cells: string[]): string {
  return `${cells.map((cell) => `"${(/^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell).replace(/"/g, '""')}"`).join(',')}\r\n`
}

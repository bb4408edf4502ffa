// A connector's revision history: a page of its revisions, and one revision with what it changed.
import { and, desc, eq, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import { connectorRevisions, connectors, marketplaceVersions, users } from '../db/schema.js'
import type { Db, Queryable } from '../db/client.js'
import type { Actor } from './actor.js'
import { describeDiff, diffDefinitions } from './definition-diff.js'
import { NotFound } from './errors.js'
import { constantLimit, pageOf, type Page } from './pagination.js'

export interface RevisionSummary {
  number: number
  summary: string
  authorName: string
  createdAt: Date
}

export const REVISIONS_PAGE_SIZE = 50

/** A page of the revisions of a connector of the actor's company, newest first; a page past the end is the last page. */
export async function listRevisions(
  db: Db,
  actor: Actor,
  connectorId: string,
  query: { page: number },
): Promise<Page<RevisionSummary>> {
  const pageAt = (page: number) =>
    db
      .select({
        number: connectorRevisions.number,
        summary: connectorRevisions.summary,
        authorName: users.name,
        createdAt: connectorRevisions.createdAt,
        total: sql<number>`cast(count(*) over () as integer)`,
      })
      .from(connectorRevisions)
      .innerJoin(connectors, eq(connectors.id, connectorRevisions.connectorId))
      .innerJoin(users, eq(users.id, connectorRevisions.authorId))
      .where(and(eq(connectorRevisions.connectorId, connectorId), eq(connectors.companyId, actor.companyId)))
      .orderBy(desc(connectorRevisions.number))
      .limit(constantLimit(REVISIONS_PAGE_SIZE))
      .offset((page - 1) * REVISIONS_PAGE_SIZE)
  const rows = await pageAt(query.page)
  if (rows.length || query.page === 1) return pageOf(rows, query.page, REVISIONS_PAGE_SIZE)
  // Past the end: the count comes from the first page, then the last page is read.
  const first = await pageAt(1)
  const last = Math.max(1, Math.ceil((first[0]?.total ?? 0) / REVISIONS_PAGE_SIZE))
  return pageOf(last === 1 ? first : await pageAt(last), last, REVISIONS_PAGE_SIZE)
}

const previous = alias(connectorRevisions, 'previous')

/**
 * One revision with its whole definition, what changed from the revision before it and the
 * marketplace version it was based on (null for revisions saved before that was recorded).
 */
export async function getRevision(db: Queryable, actor: Actor, connectorId: string, number: number) {
  const [row] = await db
    .select({
      connectorId: connectors.id,
      connectorName: connectors.name,
      currentRevision: connectors.revision,
      number: connectorRevisions.number,
      summary: connectorRevisions.summary,
      authorName: users.name,
      createdAt: connectorRevisions.createdAt,
      definition: connectorRevisions.definition,
      previousDefinition: previous.definition,
      versionId: marketplaceVersions.id,
      version: marketplaceVersions.version,
      versionDefinition: marketplaceVersions.definition,
    })
    .from(connectorRevisions)
    .innerJoin(connectors, eq(connectors.id, connectorRevisions.connectorId))
    .innerJoin(users, eq(users.id, connectorRevisions.authorId))
    .leftJoin(
      previous,
      and(
        eq(previous.connectorId, connectorRevisions.connectorId),
        eq(previous.number, sql`${connectorRevisions.number} - 1`),
      ),
    )
    .leftJoin(marketplaceVersions, eq(marketplaceVersions.id, connectorRevisions.marketplaceVersionId))
    .where(
      and(
        eq(connectorRevisions.connectorId, connectorId),
        eq(connectorRevisions.number, number),
        eq(connectors.companyId, actor.companyId),
      ),
    )
  if (!row) throw new NotFound('That revision')
  const { previousDefinition, versionId, versionDefinition, ...revision } = row
  return {
    ...revision,
    basedOn: versionId && versionDefinition ? { id: versionId, definition: versionDefinition } : null,
    changes: previousDefinition ? describeDiff(diffDefinitions(previousDefinition, row.definition)) : null,
  }
}

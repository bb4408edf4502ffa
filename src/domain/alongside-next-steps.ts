// After installing a new version alongside: what is left to do (help text: "apply your
// modifications to the new version, then create new instances and update connection shapes with
// these in affected process flows").
import { and, eq, inArray } from 'drizzle-orm'
import { connectors, marketplaceVersions } from '../db/schema.js'
import type { Db } from '../db/client.js'
import type { Actor } from './actor.js'
import { describeDiff, diffDefinitions } from './definition-diff.js'
import { NotFound } from './errors.js'
import { impactOf, type Impact } from './impact.js'

export interface NextSteps {
  connector: { id: string; name: string; version: string }
  previous: { id: string; name: string; version: string; customisations: string[] }
  instances: { id: string; name: string }[]
  /** Flows whose connection shapes use the previous connector's instances; `breakingShapes` use an endpoint the new version removes or changes. */
  flows: {
    id: string
    name: string
    enabled: boolean
    shapeCount: number
    breakingShapes: number
    instanceNames: string[]
  }[]
  impact: Impact
}

/**
 * What is left to do after installing a new version alongside (help text: "apply your
 * modifications to the new version, then create new instances and update connection shapes with
 * these in affected process flows"). Two queries.
 */
export async function nextStepsAfterAlongside(
  db: Db,
  actor: Actor,
  connectorId: string,
  previousId: string,
): Promise<NextSteps> {
  const rows = await db
    .select({
      id: connectors.id,
      name: connectors.name,
      version: marketplaceVersions.version,
      definition: connectors.definition,
      baseDefinition: marketplaceVersions.definition,
      modifiedAt: connectors.modifiedAt,
    })
    .from(connectors)
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
    .where(and(eq(connectors.companyId, actor.companyId), inArray(connectors.id, [connectorId, previousId])))
  const connector = rows.find((r) => r.id === connectorId)
  const previous = rows.find((r) => r.id === previousId)
  if (!connector || !previous || connectorId === previousId) throw new NotFound('That connector')
  const impact = await impactOf(db, actor, previousId, previous.definition, connector.definition)
  const flows = new Map<string, NextSteps['flows'][number]>()
  for (const instance of impact.instances) {
    for (const f of instance.flows) {
      const flow = flows.get(f.id) ?? {
        id: f.id,
        name: f.name,
        enabled: f.enabled,
        shapeCount: 0,
        breakingShapes: 0,
        instanceNames: [],
      }
      flow.shapeCount += f.shapes.length
      flow.breakingShapes += f.shapes.filter((s) => s.breaking).length
      flow.instanceNames.push(instance.name)
      flows.set(f.id, flow)
    }
  }
  return {
    connector: { id: connector.id, name: connector.name, version: connector.version },
    previous: {
      id: previous.id,
      name: previous.name,
      version: previous.version,
      customisations: previous.modifiedAt
        ? describeDiff(diffDefinitions(previous.baseDefinition, previous.definition))
        : [],
    },
    instances: impact.instances.map(({ id, name }) => ({ id, name })),
    flows: [...flows.values()].sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase())),
    impact,
  }
}

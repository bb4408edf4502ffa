// What a change to a connector touches (issue "Updates without fear"): its instances, and per
// instance the process flows (enabled and disabled) and connection shapes that use it, with the
// endpoints and authentication methods the change removes or changes flagged as breaking. One query;
// the update choice, overwrite, install alongside, merge, roll back and remove pages all show it.
import { and, asc, eq, sql } from 'drizzle-orm'
import { connectionShapes, instances, processFlows } from '../db/schema.js'
import type { Queryable } from '../db/client.js'
import type { Actor } from './actor.js'
import type { ConnectorDefinition } from './definition.js'
import { diffDefinitions } from './definition-diff.js'

/** Why a shape or an instance may stop working: what it uses is gone, or works differently. */
export type Breaking = { kind: 'removed' } | { kind: 'changed'; properties: string[] }

export interface ImpactShape {
  id: string
  position: number
  endpointKey: string
  endpointName: string
  breaking: Breaking | null
}

export interface ImpactFlow {
  id: string
  name: string
  enabled: boolean
  shapes: ImpactShape[]
}

export interface ImpactInstance {
  id: string
  name: string
  authMethodName: string
  breaking: Breaking | null
  flows: ImpactFlow[]
}

export interface Impact {
  instances: ImpactInstance[]
  flowCount: number
  enabledFlowCount: number
  shapeCount: number
  /** Shapes and instances flagged as breaking. */
  breakingCount: number
  /** Rows beyond IMPACT_ROWS are not listed; the counts above cover only the rows listed. */
  truncated: boolean
}

export const NO_IMPACT: Impact = Object.freeze({
  instances: [],
  flowCount: 0,
  enabledFlowCount: 0,
  shapeCount: 0,
  breakingCount: 0,
  truncated: false,
})

/** At most this many instance × shape rows are listed: enough for any screen a person reads. */
export const IMPACT_ROWS = 2000

export type BreakingKeys = ReturnType<typeof breakingKeys>

/** What becomes of each endpoint and authentication method key when `current` becomes `next`. */
export function breakingKeys(current: ConnectorDefinition, next: ConnectorDefinition) {
  const diff = diffDefinitions(current, next)
  // A new name is not breaking: shapes and instances refer to keys.
  const changed = <T extends { key: string }>(items: { key: string; properties: string[] }[], removed: T[]) =>
    new Map<string, Breaking>([
      ...removed.map((item) => [item.key, { kind: 'removed' }] as const),
      ...items.flatMap((item) => {
        const properties = item.properties.filter((p) => p !== 'name')
        return properties.length ? [[item.key, { kind: 'changed', properties }] as const] : []
      }),
    ])
  return {
    endpoints: changed(diff.endpoints.changed, diff.endpoints.removed),
    authMethods: changed(diff.authMethods.changed, diff.authMethods.removed),
  }
}

/**
 * The instances of a connector of the actor's company with the flows and shapes using them. With
 * `next`, endpoints and authentication methods that it removes or changes compared with `current` (the
 * connector's definition now) are flagged as breaking. One query.
 */
export async function impactOf(
  db: Queryable,
  actor: Actor,
  connectorId: string,
  current: ConnectorDefinition,
  next?: ConnectorDefinition,
): Promise<Impact> {
  const rows = await db
    .select({
      instanceId: instances.id,
      instanceName: instances.name,
      authMethodKey: instances.authMethodKey,
      shapeId: connectionShapes.id,
      position: connectionShapes.position,
      endpointKey: connectionShapes.endpointKey,
      flowId: processFlows.id,
      flowName: processFlows.name,
      enabled: processFlows.enabled,
    })
    .from(instances)
    .leftJoin(
      connectionShapes,
      and(eq(connectionShapes.instanceId, instances.id), eq(connectionShapes.companyId, instances.companyId)),
    )
    .leftJoin(
      processFlows,
      and(eq(processFlows.id, connectionShapes.processFlowId), eq(processFlows.companyId, connectionShapes.companyId)),
    )
    .where(and(eq(instances.companyId, actor.companyId), eq(instances.connectorId, connectorId)))
    .orderBy(
      asc(sql`lower(${instances.name})`),
      asc(instances.id),
      asc(sql`lower(${processFlows.name})`),
      asc(processFlows.id),
      asc(connectionShapes.position),
    )
    .limit(IMPACT_ROWS + 1)
  const truncated = rows.length > IMPACT_ROWS
  const endpointNames = new Map(current.endpoints.map((e) => [e.key, e.name]))
  const authMethodNames = new Map(current.authMethods.map((a) => [a.key, a.name]))
  const breaking = next
    ? breakingKeys(current, next)
    : { endpoints: new Map<string, Breaking>(), authMethods: new Map<string, Breaking>() }

  const byInstance = new Map<string, ImpactInstance>()
  const flowIds = new Set<string>()
  const enabledFlowIds = new Set<string>()
  let shapeCount = 0
  let breakingCount = 0
  for (const row of rows.slice(0, IMPACT_ROWS)) {
    let instance = byInstance.get(row.instanceId)
    if (!instance) {
      instance = {
        id: row.instanceId,
        name: row.instanceName,
        flows: [],
        authMethodName: authMethodNames.get(row.authMethodKey) ?? row.authMethodKey,
        breaking: breaking.authMethods.get(row.authMethodKey) ?? null,
      }
      if (instance.breaking) breakingCount++
      byInstance.set(row.instanceId, instance)
    }
    if (!row.shapeId || !row.flowId) continue
    let flow = instance.flows.at(-1)
    if (flow?.id !== row.flowId) {
      flow = { id: row.flowId, name: row.flowName!, enabled: row.enabled!, shapes: [] }
      instance.flows.push(flow)
    }
    const shape: ImpactShape = {
      id: row.shapeId,
      position: row.position!,
      endpointKey: row.endpointKey!,
      endpointName: endpointNames.get(row.endpointKey!) ?? row.endpointKey!,
      breaking: breaking.endpoints.get(row.endpointKey!) ?? null,
    }
    flow.shapes.push(shape)
    flowIds.add(flow.id)
    if (flow.enabled) enabledFlowIds.add(flow.id)
    shapeCount++
    if (shape.breaking) breakingCount++
  }
  return {
    instances: [...byInstance.values()],
    flowCount: flowIds.size,
    enabledFlowCount: enabledFlowIds.size,
    shapeCount,
    breakingCount,
    truncated,
  }
}

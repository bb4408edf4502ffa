// The connection shapes of a process flow: add, reconfigure, remove (and put back), move. Each is a
// change of its flow (changeFlow): the flow locked at the form's version, once per submission.
import { and, asc, desc, eq, gt, gte, lt, max, sql } from 'drizzle-orm'
import { auditEvents, connectionShapes, instances } from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import { FOREIGN_KEY_VIOLATION, pgErrorCode } from '../db/errors.js'
import type { Actor } from './actor.js'
import { runCommand, type Done } from './command.js'
import type { EditForm } from './edit-form.js'
import { Conflict, Invalid, NotFound } from './errors.js'
import { changeFlow, instanceWithEndpoints, lockFlow, nothingToAnswer, touchFlows } from './flows.js'

async function checkShapeTarget(tx: Tx, actor: Actor, input: { instanceId: string; endpointKey: string }) {
  const instance = input.instanceId ? await instanceWithEndpoints(tx, actor, input.instanceId) : null
  if (!instance) throw new Invalid({ instance: 'Choose one of your instances.' })
  const endpoint = instance.endpoints.find((e) => e.key === input.endpointKey)
  if (!endpoint) throw new Invalid({ endpoint: `Choose one of the endpoints of ${instance.connectorName}.` })
  return { instance, endpoint }
}

function instanceGone(error: unknown): never {
  if (pgErrorCode(error) === FOREIGN_KEY_VIOLATION)
    throw new Invalid({ instance: 'That instance was just removed. Choose another one.' })
  throw error
}

/** Adds a connection shape at the end of the flow; once per form submission. */
export async function addShape(
  db: Db,
  actor: Actor,
  { flowId, ...input }: { flowId: string; instanceId: string; endpointKey: string } & EditForm,
): Promise<{ id: string | null }> {
  return changeFlow(db, actor, flowId, input, {
    // The shape added first, unless it was removed since.
    replay: async (tx, resultId) => {
      const [shape] = resultId
        ? await tx
            .select({ id: connectionShapes.id })
            .from(connectionShapes)
            .where(and(eq(connectionShapes.id, resultId), eq(connectionShapes.processFlowId, flowId)))
        : []
      return { id: shape?.id ?? null }
    },
    change: async (tx, flow) => {
      const { instance, endpoint } = await checkShapeTarget(tx, actor, input)
      const [last] = await tx
        .select({ position: max(connectionShapes.position) })
        .from(connectionShapes)
        .where(eq(connectionShapes.processFlowId, flowId))
      const [shape] = await tx
        .insert(connectionShapes)
        .values({
          companyId: actor.companyId,
          processFlowId: flowId,
          instanceId: instance.id,
          endpointKey: endpoint.key,
          position: (last?.position ?? -1) + 1,
        })
        .returning({ id: connectionShapes.id })
        .catch(instanceGone)
      return {
        result: { id: shape!.id },
        audit: {
          action: 'add connection shape',
          subjectType: 'connection shape',
          subjectId: shape!.id,
          summary: `added a connection shape to ${flow.name}: ${instance.name}, ${endpoint.name}`,
          details: { processFlowId: flowId, instanceId: instance.id },
        },
      }
    },
    resultId: (shape) => shape.id!,
  })
}

/** A shape of the flow (the flow is locked, so its shapes hold still). */
async function shapeOf(tx: Tx, flowId: string, shapeId: string) {
  const [shape] = await tx
    .select()
    .from(connectionShapes)
    .where(and(eq(connectionShapes.id, shapeId), eq(connectionShapes.processFlowId, flowId)))
  if (!shape) throw new NotFound('That connection shape')
  return shape
}

/** Points a shape at another instance (and endpoint). */
export async function reconfigureShape(
  db: Db,
  actor: Actor,
  {
    flowId,
    shapeId,
    ...input
  }: { flowId: string; shapeId: string; instanceId: string; endpointKey: string } & EditForm,
) {
  return changeFlow(db, actor, flowId, input, {
    replay: nothingToAnswer,
    change: async (tx, flow) => {
      await shapeOf(tx, flowId, shapeId)
      const { instance, endpoint } = await checkShapeTarget(tx, actor, input)
      await tx
        .update(connectionShapes)
        .set({ instanceId: instance.id, endpointKey: endpoint.key })
        .where(eq(connectionShapes.id, shapeId))
        .catch(instanceGone)
      return {
        result: undefined,
        audit: {
          action: 'reconfigure connection shape',
          subjectType: 'connection shape',
          subjectId: shapeId,
          summary: `reconfigured a connection shape of ${flow.name} to ${instance.name}, ${endpoint.name}`,
          details: { processFlowId: flowId, instanceId: instance.id },
        },
      }
    },
  })
}

/** What the audit log keeps of a removed connection shape: enough to put it back where it was. */
interface RemovedShape {
  processFlowId: string
  instanceId: string
  instanceName?: string
  endpointKey?: string
  position?: number
}

/** What a removal's audit entry recorded (removals before undo existed lack the endpoint and position). */
function removedShapeOf(details: Record<string, unknown>): RemovedShape {
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined)
  return {
    processFlowId: text(details.processFlowId) ?? '',
    instanceId: text(details.instanceId) ?? '',
    instanceName: text(details.instanceName),
    endpointKey: text(details.endpointKey),
    position: typeof details.position === 'number' ? details.position : undefined,
  }
}

/**
 * Removes a connection shape; the audit entry keeps where it was, so restoreShape can put it back.
 * Answers what was removed, or undefined for a form submitted before.
 */
export async function removeShape(
  db: Db,
  actor: Actor,
  { flowId, shapeId, ...form }: { flowId: string; shapeId: string } & EditForm,
) {
  return changeFlow<{ flowName: string; position: number; instanceName: string } | undefined>(db, actor, flowId, form, {
    replay: nothingToAnswer,
    change: async (tx, flow) => {
      const shape = await shapeOf(tx, flowId, shapeId)
      const [instance] = await tx
        .select({ name: instances.name })
        .from(instances)
        .where(eq(instances.id, shape.instanceId))
      await tx.delete(connectionShapes).where(eq(connectionShapes.id, shapeId))
      await tx
        .update(connectionShapes)
        .set({ position: sql`${connectionShapes.position} - 1` })
        .where(and(eq(connectionShapes.processFlowId, flowId), gt(connectionShapes.position, shape.position)))
      const details: RemovedShape = {
        processFlowId: flowId,
        instanceId: shape.instanceId,
        instanceName: instance?.name ?? '',
        endpointKey: shape.endpointKey,
        position: shape.position,
      }
      return {
        result: { flowName: flow.name, position: shape.position, instanceName: details.instanceName! },
        audit: {
          action: 'remove connection shape',
          subjectType: 'connection shape',
          subjectId: shapeId,
          summary: `removed connection shape ${shape.position + 1} (${details.instanceName}, ${shape.endpointKey}) from ${flow.name}`,
          details: { ...details },
        },
      }
    },
  })
}

/**
 * Puts a removed connection shape back (the undo after removing it): the same shape, instance,
 * endpoint and position (or the end, if the flow has fewer shapes now). Refused with the reason when
 * its instance or endpoint is gone; a shape already back is left as it is.
 */
export async function restoreShape(
  db: Db,
  actor: Actor,
  { flowId, shapeId }: { flowId: string; shapeId: string },
): Promise<{ restored: boolean; position: number }> {
  return runCommand(db, actor, { permission: 'manageInstances', run: (tx) => putShapeBack(tx, actor, flowId, shapeId) })
}

async function putShapeBack(
  tx: Tx,
  actor: Actor,
  flowId: string,
  shapeId: string,
): Promise<Done<{ restored: boolean; position: number }>> {
  const flow = await lockFlow(tx, actor, flowId)
  const [existing] = await tx
    .select({ position: connectionShapes.position })
    .from(connectionShapes)
    .where(and(eq(connectionShapes.id, shapeId), eq(connectionShapes.companyId, actor.companyId)))
  const [removal] = await tx
    .select({ details: auditEvents.details })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.companyId, actor.companyId),
        eq(auditEvents.subjectId, shapeId),
        eq(auditEvents.action, 'remove connection shape'),
        sql`${auditEvents.details}->>'processFlowId' = ${flowId}`,
      ),
    )
    .orderBy(desc(auditEvents.id))
    .limit(1)
  if (!removal) throw new NotFound('That connection shape')
  if (existing) return { result: { restored: false, position: existing.position } }
  const removed = removedShapeOf(removal.details)
  if (removed.endpointKey === undefined || removed.position === undefined) {
    throw new Conflict(
      'This connection shape was removed before removals could be undone, so it cannot be put back. Add it again instead.',
    )
  }
  const instance = await instanceWithEndpoints(tx, actor, removed.instanceId)
  const instanceWord = removed.instanceName ? `its instance ${removed.instanceName}` : 'its instance'
  if (!instance)
    throw new Conflict(
      `The connection shape cannot be put back: ${instanceWord} was removed since. Add a connection shape with another instance instead.`,
    )
  const endpoint = instance.endpoints.find((e) => e.key === removed.endpointKey)
  if (!endpoint)
    throw new Conflict(
      `The connection shape cannot be put back: ${instance.connectorName} no longer has the endpoint ${removed.endpointKey}. Add a connection shape with another endpoint instead.`,
    )
  const [count] = await tx
    .select({ n: sql<number>`cast(count(*) as integer)` })
    .from(connectionShapes)
    .where(eq(connectionShapes.processFlowId, flowId))
  const position = Math.min(removed.position, count!.n)
  await tx
    .update(connectionShapes)
    .set({ position: sql`${connectionShapes.position} + 1` })
    .where(and(eq(connectionShapes.processFlowId, flowId), gte(connectionShapes.position, position)))
  await tx
    .insert(connectionShapes)
    .values({
      id: shapeId,
      companyId: actor.companyId,
      processFlowId: flowId,
      instanceId: instance.id,
      endpointKey: endpoint.key,
      position,
    })
    .catch((error: unknown) => {
      if (pgErrorCode(error) === FOREIGN_KEY_VIOLATION)
        throw new Conflict(`The connection shape cannot be put back: its instance ${instance.name} was just removed.`)
      throw error
    })
  // Forms of the flow shown before the undo are now out of date, as after any change to it.
  await touchFlows(tx, actor, [flowId])
  return {
    result: { restored: true, position },
    audit: {
      action: 'restore connection shape',
      subjectType: 'connection shape',
      subjectId: shapeId,
      summary: `put back connection shape ${position + 1} (${instance.name}, ${endpoint.name}) in ${flow.name}`,
      details: { processFlowId: flowId, instanceId: instance.id, endpointKey: endpoint.key, position },
    },
  }
}

/** Swaps a shape with its neighbour above or below. */
export async function moveShape(
  db: Db,
  actor: Actor,
  { flowId, shapeId, ...input }: { flowId: string; shapeId: string; direction: 'up' | 'down' } & EditForm,
) {
  const { direction } = input
  return changeFlow(db, actor, flowId, input, {
    replay: nothingToAnswer,
    change: async (tx, flow) => {
      const shape = await shapeOf(tx, flowId, shapeId)
      const [neighbour] = await tx
        .select()
        .from(connectionShapes)
        .where(
          and(
            eq(connectionShapes.processFlowId, flowId),
            direction === 'up'
              ? lt(connectionShapes.position, shape.position)
              : gt(connectionShapes.position, shape.position),
          ),
        )
        .orderBy(direction === 'up' ? desc(connectionShapes.position) : asc(connectionShapes.position))
        .limit(1)
      if (!neighbour) return { result: undefined }
      await tx.update(connectionShapes).set({ position: neighbour.position }).where(eq(connectionShapes.id, shape.id))
      await tx.update(connectionShapes).set({ position: shape.position }).where(eq(connectionShapes.id, neighbour.id))
      return {
        result: undefined,
        audit: {
          action: 'move connection shape',
          subjectType: 'connection shape',
          subjectId: shapeId,
          summary: `moved a connection shape of ${flow.name} ${direction}`,
          details: { processFlowId: flowId },
        },
      }
    },
  })
}

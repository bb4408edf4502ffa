// Instances: configured connections to one account of a connector's system: add, read, change, remove.
// What their details must be: instance-details.ts.
import { and, asc, eq, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import { connectionShapes, connectors, instances, processFlows, users } from '../db/schema.js'
import type { Db, Queryable, Tx } from '../db/client.js'
import { FOREIGN_KEY_VIOLATION, pgErrorCode, retryOnceIfViolated, violates } from '../db/errors.js'
import { requirePermission, type Actor } from './actor.js'
import type { AuditEntry } from './audit.js'
import { EditConflict, Invalid, NotFound } from './errors.js'
import { runCommand } from './command.js'
import { fieldsFor } from './instance-fields.js'
import {
  assertValid,
  checkAuthMethod,
  checkName,
  checkSettings,
  checkValues,
  splitValues,
  type InstanceDetails,
} from './instance-details.js'
import type { EditForm } from './edit-form.js'
import { lockInstances } from './locks.js'
import type { SecretBox } from './secrets.js'
import type { RemovalResult } from './removal.js'
import { canonicalTimeZone, offeredTimeZone } from './time-zones.js'

/** A connector of the actor's company with what an instance needs of it. */
export async function connectorForInstances(db: Db, actor: Actor, connectorId: string) {
  const [connector] = await db
    .select({ id: connectors.id, name: connectors.name, definition: connectors.definition })
    .from(connectors)
    .where(and(eq(connectors.id, connectorId), eq(connectors.companyId, actor.companyId)))
  if (!connector) throw new NotFound('That connector')
  return connector
}

export interface NewInstance extends InstanceDetails {
  authMethod: string
  values: Record<string, string | undefined>
}

/**
 * Checks every step again and creates the instance in one statement: nothing half-made is kept.
 * Once per form submission: the wizard's key makes a double submit answer with the instance made first.
 */
export async function createInstance(
  db: Db,
  actor: Actor,
  box: SecretBox,
  { connectorId, ...input }: { connectorId: string; submission?: string | undefined } & NewInstance,
) {
  requirePermission(actor, 'manageInstances')
  const connector = await connectorForInstances(db, actor, connectorId)
  const definition = connector.definition
  const method = definition.authMethods.find((m) => m.key === input.authMethod)
  const fields = fieldsFor(definition, method)
  assertValid({
    ...checkName(input.name),
    ...checkSettings(input),
    ...checkAuthMethod(definition, input.authMethod),
    ...checkValues(fields, input.values),
  })
  const { settings, secrets } = splitValues(fields, input.values, {})
  const name = input.name.trim()
  return runCommand(db, actor, {
    permission: 'manageInstances',
    submission: input.submission,
    replay: async (tx, earlier) => {
      const [done] = earlier.resultId
        ? await tx
            .select({ id: instances.id, name: instances.name })
            .from(instances)
            .where(and(eq(instances.id, earlier.resultId), eq(instances.companyId, actor.companyId)))
        : []
      return done ? { ...done, connectorId: connector.id, connectorName: connector.name } : null
    },
    run: async (tx) => {
      let row
      try {
        ;[row] = await tx
          .insert(instances)
          .values({
            companyId: actor.companyId,
            connectorId: connector.id,
            name,
            authMethodKey: input.authMethod,
            timeZone: offeredTimeZone(input.timeZone)!,
            dateFormat: input.dateFormat.trim(),
            rateLimitAmount: Number(input.rateLimitAmount),
            rateLimitUnit: input.rateLimitUnit,
            settings,
            secrets: Object.keys(secrets).length ? box.seal(secrets) : null,
            createdBy: actor.id,
            updatedBy: actor.id,
          })
          .returning({ id: instances.id })
      } catch (error) {
        if (violates(error, 'instances_connector_name_unique'))
          throw new Invalid({
            name: `${connector.name} already has an instance called "${name}". Choose another name.`,
          })
        if (pgErrorCode(error) === FOREIGN_KEY_VIOLATION) throw new NotFound('That connector')
        throw error
      }
      return {
        result: { id: row!.id, name, connectorId: connector.id, connectorName: connector.name },
        resultId: row!.id,
        audit: {
          action: 'add instance',
          subjectType: 'instance',
          subjectId: row!.id,
          summary: `added instance ${name} of ${connector.name}`,
          details: { connectorId: connector.id, authMethod: input.authMethod },
        },
      }
    },
  })
}

const updater = alias(users, 'updater')

/** An instance with its connector, for the settings page. Secret values are never returned, only which are set. */
export async function getInstance(db: Db, actor: Actor, box: SecretBox, id: string) {
  const [row] = await db
    .select({
      id: instances.id,
      name: instances.name,
      connectorId: instances.connectorId,
      connectorName: connectors.name,
      definition: connectors.definition,
      authMethodKey: instances.authMethodKey,
      timeZone: instances.timeZone,
      dateFormat: instances.dateFormat,
      rateLimitAmount: instances.rateLimitAmount,
      rateLimitUnit: instances.rateLimitUnit,
      settings: instances.settings,
      secrets: instances.secrets,
      updatedAt: instances.updatedAt,
      version: instances.version,
    })
    .from(instances)
    .innerJoin(connectors, eq(connectors.id, instances.connectorId))
    .where(and(eq(instances.id, id), eq(instances.companyId, actor.companyId)))
  if (!row) throw new NotFound('That instance')
  const { secrets, ...instance } = row
  const secretsSet = Object.keys(box.open(secrets))
  // Stored before the list offered current names only (e.g. Asia/Calcutta): shown and saved as Asia/Kolkata.
  return { ...instance, timeZone: canonicalTimeZone(instance.timeZone) ?? instance.timeZone, secretsSet }
}

/**
 * The instance row locked for the rest of the transaction, then read with its connector: locked
 * alone, so that waiting for another change of it never re-checks a join against rows as they were.
 */
async function lockInstance(tx: Tx, actor: Actor, id: string) {
  const [locked] = await lockInstances(tx, actor, eq(instances.id, id))
  if (!locked) throw new NotFound('That instance')
  const [row] = await tx
    .select({
      name: instances.name,
      secrets: instances.secrets,
      authMethodKey: instances.authMethodKey,
      version: instances.version,
      updatedByName: updater.name,
      connectorName: connectors.name,
      definition: connectors.definition,
    })
    .from(instances)
    .innerJoin(connectors, eq(connectors.id, instances.connectorId))
    .leftJoin(updater, eq(updater.id, instances.updatedBy))
    .where(eq(instances.id, locked.id))
  return row!
}

/** Whether the instance is there (a removal sent again finds it gone). */
async function exists(tx: Tx, actor: Actor, id: string): Promise<boolean> {
  const [row] = await tx
    .select({ id: instances.id })
    .from(instances)
    .where(and(eq(instances.id, id), eq(instances.companyId, actor.companyId)))
  return !!row
}

/** Locks the instance for an edit form: a form based on an older version is refused (EditConflict). */
async function lockForEdit(tx: Tx, actor: Actor, id: string, form: EditForm) {
  const current = await lockInstance(tx, actor, id)
  if (current.version !== form.version) throw new EditConflict('instance', current.updatedByName)
  return current
}

/** What every change of an instance sets besides its values: the next version, by whom, when. */
const nextVersion = (actor: Actor) => ({
  version: sql`${instances.version} + 1`,
  updatedBy: actor.id,
  updatedAt: sql`now()`,
})

/** An edit form submitted before (a double click, a resend after a lost answer): what it saved. */
async function earlierEdit(tx: Tx, actor: Actor, id: string) {
  const [row] = await tx
    .select({ name: instances.name })
    .from(instances)
    .where(and(eq(instances.id, id), eq(instances.companyId, actor.companyId)))
  if (!row) throw new NotFound('That instance')
  return { id, name: row.name }
}

export async function updateInstanceDetails(
  db: Db,
  actor: Actor,
  { instanceId: id, ...input }: { instanceId: string } & InstanceDetails & EditForm,
) {
  requirePermission(actor, 'manageInstances')
  assertValid({ ...checkName(input.name), ...checkSettings(input) })
  const name = input.name.trim()
  return runCommand(db, actor, {
    permission: 'manageInstances',
    submission: input.submission,
    replay: (tx) => earlierEdit(tx, actor, id),
    run: async (tx) => {
      await lockForEdit(tx, actor, id, input)
      try {
        await tx
          .update(instances)
          .set({
            name,
            timeZone: offeredTimeZone(input.timeZone)!,
            dateFormat: input.dateFormat.trim(),
            rateLimitAmount: Number(input.rateLimitAmount),
            rateLimitUnit: input.rateLimitUnit,
            ...nextVersion(actor),
          })
          .where(eq(instances.id, id))
      } catch (error) {
        if (violates(error, 'instances_connector_name_unique'))
          throw new Invalid({ name: `This connector already has an instance called "${name}". Choose another name.` })
        throw error
      }
      const audit: AuditEntry = {
        action: 'change instance',
        subjectType: 'instance',
        subjectId: id,
        summary: `changed the details of instance ${name}`,
      }
      return { result: { id, name }, resultId: id, audit }
    },
  })
}

export async function updateInstanceAuthentication(
  db: Db,
  actor: Actor,
  box: SecretBox,
  {
    instanceId: id,
    ...input
  }: { instanceId: string; authMethod: string; values: Record<string, string | undefined> } & EditForm,
) {
  return runCommand(db, actor, {
    permission: 'manageInstances',
    submission: input.submission,
    replay: (tx) => earlierEdit(tx, actor, id),
    run: async (tx) => {
      const current = await lockForEdit(tx, actor, id, input)
      const method = current.definition.authMethods.find((m) => m.key === input.authMethod)
      const fields = fieldsFor(current.definition, method)
      // Stored secrets of another method are not carried over to a newly chosen one.
      const stored = input.authMethod === current.authMethodKey ? box.open(current.secrets) : {}
      const storedVariables = Object.fromEntries(
        Object.entries(box.open(current.secrets)).filter(([k]) => k.startsWith('var.')),
      )
      const kept = { ...storedVariables, ...stored }
      assertValid({
        ...checkAuthMethod(current.definition, input.authMethod),
        ...checkValues(fields, input.values, kept),
      })
      const { settings, secrets } = splitValues(fields, input.values, kept)
      await tx
        .update(instances)
        .set({
          authMethodKey: input.authMethod,
          settings,
          secrets: Object.keys(secrets).length ? box.seal(secrets) : null,
          ...nextVersion(actor),
        })
        .where(eq(instances.id, id))
      const audit: AuditEntry = {
        action: 'change instance',
        subjectType: 'instance',
        subjectId: id,
        summary: `changed the authentication of instance ${current.name}`,
        details: { authMethod: input.authMethod },
      }
      return { result: { id, name: current.name }, resultId: id, audit }
    },
  })
}

/** The process flows and connection shapes that use an instance. */
export async function shapesUsingInstance(db: Queryable, actor: Actor, instanceId: string) {
  return db
    .select({
      flowId: processFlows.id,
      flowName: processFlows.name,
      enabled: processFlows.enabled,
      shapeId: connectionShapes.id,
      position: connectionShapes.position,
      endpointKey: connectionShapes.endpointKey,
    })
    .from(connectionShapes)
    .innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
    .where(and(eq(connectionShapes.companyId, actor.companyId), eq(connectionShapes.instanceId, instanceId)))
    .orderBy(asc(processFlows.name), asc(connectionShapes.position))
}

export type ShapeUse = Awaited<ReturnType<typeof shapesUsingInstance>>[number]

/**
 * Removes an instance unless a connection shape of any process flow uses it. The check and the
 * delete are one transaction, and the foreign key refuses the delete if a shape slipped in between.
 */
export async function removeInstance(
  db: Db,
  actor: Actor,
  id: string,
  form: EditForm,
): Promise<RemovalResult<ShapeUse>> {
  return retryOnceIfViolated('connection_shapes_instance_fk', () =>
    runCommand<RemovalResult<ShapeUse>>(db, actor, {
      permission: 'manageInstances',
      submission: form.submission,
      replay: async (tx) => ((await exists(tx, actor, id)) ? null : { removed: true, name: '' }),
      run: async (tx) => {
        const instance = await lockForEdit(tx, actor, id, form)
        const blockers = await shapesUsingInstance(tx, actor, id)
        if (blockers.length) return { result: { removed: false, name: instance.name, blockers } }
        await tx.delete(instances).where(eq(instances.id, id))
        const audit: AuditEntry = {
          action: 'remove instance',
          subjectType: 'instance',
          subjectId: id,
          summary: `removed instance ${instance.name} of ${instance.connectorName}`,
        }
        return { result: { removed: true, name: instance.name }, resultId: id, audit }
      },
    }),
  )
}

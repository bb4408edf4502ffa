// "Move instances in stages" after installing a version alongside: the admin picks instances of the
// old connector; each gets a copy on the new connector (name + suffix, settings, credentials) and the
// connection shapes of the picked process flows are pointed at the copy. A preview shows exactly what
// will change; applying runs in one transaction, once per form submission; each batch is recorded and
// can be undone while nothing else changed what it created or repointed.
import { createHash } from 'node:crypto'
import { and, asc, desc, eq, inArray, isNotNull, isNull, notInArray, or, sql } from 'drizzle-orm'
import { alias } from 'drizzle-orm/pg-core'
import {
  connectionShapes, connectors, instances, marketplaceConnectors, marketplaceVersions, migrationBatches, migrationInstances,
  migrationShapes, processFlows, users,
} from '../db/schema.js'
import type { Db, Tx } from '../db/client.js'
import { violates } from '../db/errors.js'
import { requirePermission, type Actor } from './actor.js'
import { recordEvents, type AuditEntry } from './audit.js'
import { claimSubmission, completeSubmission } from './connectors.js'
import type { AuthMethodSpec, ConnectorDefinition } from './definition.js'
import { Conflict, Invalid, NotFound } from './errors.js'
import { isId } from './ids.js'
import { fieldsFor } from './instance-fields.js'
import { touchFlows } from './flows.js'
import { groupBy } from './group-by.js'
import type { SecretBox } from './secrets.js'
import { LIMITS } from './limits.js'
import { canonicalTimeZone } from './time-zones.js'

export const MAX_SUFFIX_LENGTH = LIMITS.suffix
const MAX_NAME_LENGTH = LIMITS.instanceName

/** What the admin chose on the migrate page and the preview. Ids come from a form: anything may be in them. */
export interface MigrationChoices {
  /** The old connector the instances are moved from; absent: the first of them by name. */
  fromConnectorId?: string | undefined
  instanceIds: string[]
  /** Per picked instance: the process flows whose connection shapes using it are repointed. */
  flowIds: Record<string, string[]>
  /** Added to each instance's name to name its copy. */
  suffix: string
  /** Per instance whose authentication method the new version does not have: the one chosen instead. */
  authMethods: Record<string, string>
  /** Per connection shape whose endpoint the new version does not have: the one chosen instead. */
  endpoints: Record<string, string>
}

// ---------------------------------------------------------------------------------------------
// The plan: what a migration will change, computed from the rows and the choices (pure).

export interface PlanConnector { id: string; name: string; version: string; revision: number; definition: ConnectorDefinition }

export interface PlanInstance {
  id: string
  name: string
  authMethodKey: string
  timeZone: string
  dateFormat: string
  rateLimitAmount: number
  rateLimitUnit: string
  settings: Record<string, string>
  /** Which secret values it has (`auth.<key>` / `var.<key>`), never the values. */
  secretKeys: string[]
  updatedAt: Date
  /** The copy made by an earlier batch that is not undone, while that copy exists. */
  movedTo: { batchId: string; instanceId: string; name: string } | null
}

export interface PlanShape {
  id: string
  flowId: string
  flowName: string
  enabled: boolean
  position: number
  instanceId: string
  endpointKey: string
}

export interface PlanInput {
  from: PlanConnector
  to: PlanConnector
  /** The picked instances that exist in the old connector (ids not among them are refused). */
  instances: PlanInstance[]
  /** Every connection shape that uses one of those instances. */
  shapes: PlanShape[]
  /** Names the new connector's instances already have. */
  takenNames: string[]
  choices: MigrationChoices
}

export interface PlannedField {
  /** `auth.<key>` or `var.<key>` */
  name: string
  label: string
  secret: boolean
  required: boolean
  /** Where the copied value comes from, or null when nothing is copied into this field. */
  copiedFrom: 'setting' | 'credential' | null
  /** The value a non-secret field gets when it is known before applying (a setting or the default). */
  value: string | null
}

export interface DroppedValue { name: string; label: string; secret: boolean; why: string }

export interface PlannedInstance {
  fromId: string
  fromName: string
  /** The copy's name: the old name and the suffix. */
  name: string
  oldAuthMethod: { key: string; name: string }
  /** The method the copy uses; null while the admin still has to choose one. */
  authMethod: { key: string; name: string } | null
  /** The new version has no method with the old key: the admin chooses one (`authMethod.<fromId>`). */
  authMethodAsked: boolean
  authMethodChoices: { key: string; name: string }[]
  timeZone: string
  dateFormat: string
  rateLimitAmount: number
  rateLimitUnit: string
  fields: PlannedField[]
  dropped: DroppedValue[]
  /** Labels of required fields of the new version that stay empty (to fill in the instance settings). */
  requiredEmpty: string[]
}

export interface PlannedShape {
  id: string
  flowId: string
  flowName: string
  enabled: boolean
  position: number
  fromInstanceId: string
  fromInstanceName: string
  fromEndpoint: { key: string; name: string }
  toInstanceName: string
  /** Null while the admin still has to choose one. */
  toEndpoint: { key: string; name: string } | null
  /** The new version has no endpoint with the old key: the admin chooses one (`endpoint.<id>`). */
  endpointAsked: boolean
}

export interface MigrationPlan {
  from: PlanConnector
  to: PlanConnector
  instances: PlannedInstance[]
  shapes: PlannedShape[]
  /** Messages by form field: `instance`, `suffix`, `flow.<instanceId>`, `authMethod.<instanceId>`, `endpoint.<shapeId>`. */
  errors: Record<string, string>
  /** Fingerprint of what the preview showed: applying refuses a plan that changed since. */
  digest: string
}

/** Fields chosen on the migrate page (the picker); the others are chosen on the preview. */
export function isPickerField(field: string): boolean {
  return field === '' || field === 'instance' || field === 'suffix' || field.startsWith('flow.')
}

const methodRef = (method: AuthMethodSpec) => ({ key: method.key, name: method.name })

/** Computes exactly what moving the chosen instances and process flows will change, and what is still missing. */
export function planMigration(input: PlanInput): MigrationPlan {
  const { from, to, choices } = input
  const errors: Record<string, string> = {}
  const found = new Map(input.instances.map((i) => [i.id, i]))
  const pickedIds = [...new Set(choices.instanceIds)]
  if (pickedIds.length === 0) errors.instance = `Pick at least one instance of ${from.name} to move.`
  else if (pickedIds.some((id) => !found.has(id))) {
    errors.instance = `One of the instances you picked is not an instance of ${from.name} (it may have been removed meanwhile). Pick from the list.`
  } else {
    const moved = pickedIds.map((id) => found.get(id)!).filter((i) => i.movedTo)
    if (moved.length) {
      errors.instance = moved.map((i) => `${i.name} was already moved to ${i.movedTo!.name}.`).join(' ')
        + ' Undo that move or remove the copy first.'
    }
  }
  if (choices.suffix.length > MAX_SUFFIX_LENGTH) errors.suffix = `Use at most ${MAX_SUFFIX_LENGTH} characters.`

  const picked = input.instances.filter((i) => pickedIds.includes(i.id))
  const taken = new Set(input.takenNames)
  const clashes: string[] = []
  const tooLong: string[] = []
  const planned: PlannedInstance[] = picked.map((instance) => {
    const name = `${instance.name}${choices.suffix}`.trim()
    if (name.length > MAX_NAME_LENGTH) tooLong.push(name)
    else if (taken.has(name)) clashes.push(name)
    return planInstance(from, to, instance, name, choices.authMethods[instance.id], errors)
  })
  const nameError = tooLong.length
    ? `The new name "${tooLong[0]}" would be longer than ${MAX_NAME_LENGTH} characters: use a shorter suffix.`
    : clashes.length
      ? `${to.name} already has ${clashes.length === 1 ? 'an instance' : 'instances'} called ${clashes.map((n) => `"${n}"`).join(', ')}: instance names are unique per connector, so choose another suffix.`
      : null
  if (nameError && !errors.suffix) errors.suffix = nameError

  const shapes: PlannedShape[] = []
  for (const [index, instance] of picked.entries()) {
    const uses = input.shapes.filter((s) => s.instanceId === instance.id)
    const using = new Set(uses.map((s) => s.flowId))
    const chosen = new Set(choices.flowIds[instance.id] ?? [])
    if ([...chosen].some((flowId) => !using.has(flowId))) {
      errors[`flow.${instance.id}`] = `A process flow you picked does not use ${instance.name} (any more). Check the process flows again.`
    }
    for (const shape of uses.filter((s) => chosen.has(s.flowId))) {
      shapes.push(planShape(from, to, shape, instance, planned[index]!.name, choices.endpoints[shape.id], errors))
    }
  }
  shapes.sort((a, b) => a.flowName.toLowerCase().localeCompare(b.flowName.toLowerCase()) || a.flowId.localeCompare(b.flowId) || a.position - b.position)

  const digest = createHash('sha256').update(JSON.stringify({
    from: [from.id, from.revision], to: [to.id, to.revision],
    instances: picked.map((i, n) => [i.id, i.updatedAt.toISOString(), planned[n]!.name]),
    shapes: shapes.map((s) => [s.id, s.fromInstanceId, s.fromEndpoint.key, s.endpointAsked]),
  })).digest('base64url')
  return { from, to, instances: planned, shapes, errors, digest }
}

function planInstance(from: PlanConnector, to: PlanConnector, instance: PlanInstance, name: string, chosenMethod: string | undefined, errors: Record<string, string>): PlannedInstance {
  const oldMethod = from.definition.authMethods.find((m) => m.key === instance.authMethodKey)
  const sameMethod = to.definition.authMethods.find((m) => m.key === instance.authMethodKey)
  const method = sameMethod ?? to.definition.authMethods.find((m) => m.key === chosenMethod)
  if (!method) {
    errors[`authMethod.${instance.id}`] = `Choose how ${name} authenticates: ${to.name} has no authentication method ${oldMethod?.name ?? instance.authMethodKey}.`
  }
  // Credentials of one authentication method are never carried over to another.
  const keepsAuth = method?.key === instance.authMethodKey
  const fields: PlannedField[] = fieldsFor(to.definition, method).map((field) => {
    const eligible = field.group === 'variables' || keepsAuth
    const fromSetting = eligible && (instance.settings[field.name] ?? '') !== ''
    // A credential is copied only into a field that keeps it secret: never into a plain setting.
    const fromCredential = eligible && field.secret && !fromSetting && instance.secretKeys.includes(field.name)
    const copiedFrom = fromSetting ? 'setting' as const : fromCredential ? 'credential' as const : null
    const value = field.secret ? null : fromSetting ? instance.settings[field.name]! : fromCredential ? null : (field.default ?? '')
    return { name: field.name, label: field.label, secret: field.secret, required: field.required, copiedFrom, value }
  })
  const copied = new Set(fields.filter((f) => f.copiedFrom).map((f) => f.name))
  const oldFields = new Map(fieldsFor(from.definition, oldMethod).map((f) => [f.name, f]))
  const order = [...oldFields.keys()]
  const rank = (key: string) => (order.includes(key) ? order.indexOf(key) : order.length)
  const oldValues = [...new Set([...Object.entries(instance.settings).filter(([, v]) => v !== '').map(([k]) => k), ...instance.secretKeys])]
    .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  const dropped: DroppedValue[] = oldValues.filter((key) => !copied.has(key)).map((key) => {
    const old = oldFields.get(key)
    const unsealed = fields.some((f) => f.name === key && !f.secret) && instance.secretKeys.includes(key)
    const why = unsealed ? `${to.name} no longer keeps it secret, so it is not copied into a plain setting: enter it again`
      : key.startsWith('var.') ? `${to.name} has no such variable`
      : keepsAuth ? `the authentication method ${method!.name} of ${to.name} has no such field`
        : `it belongs to the authentication method ${oldMethod?.name ?? instance.authMethodKey}, which the copy does not use`
    return { name: key, label: old?.label ?? key.replace(/^(auth|var)\./, ''), secret: old?.secret ?? instance.secretKeys.includes(key), why }
  })
  const requiredEmpty = fields.filter((f) => f.required && !f.copiedFrom && (f.secret || !f.value)).map((f) => f.label)
  return {
    fromId: instance.id, fromName: instance.name, name,
    oldAuthMethod: oldMethod ? methodRef(oldMethod) : { key: instance.authMethodKey, name: instance.authMethodKey },
    authMethod: method ? methodRef(method) : null,
    authMethodAsked: !sameMethod,
    authMethodChoices: to.definition.authMethods.map(methodRef),
    timeZone: canonicalTimeZone(instance.timeZone) ?? instance.timeZone, dateFormat: instance.dateFormat, rateLimitAmount: instance.rateLimitAmount, rateLimitUnit: instance.rateLimitUnit,
    fields, dropped, requiredEmpty,
  }
}

function planShape(from: PlanConnector, to: PlanConnector, shape: PlanShape, instance: PlanInstance, toName: string, chosenEndpoint: string | undefined, errors: Record<string, string>): PlannedShape {
  const old = from.definition.endpoints.find((e) => e.key === shape.endpointKey)
  const fromEndpoint = { key: shape.endpointKey, name: old?.name ?? shape.endpointKey }
  const same = to.definition.endpoints.find((e) => e.key === shape.endpointKey)
  const endpoint = same ?? to.definition.endpoints.find((e) => e.key === chosenEndpoint)
  if (!endpoint) {
    errors[`endpoint.${shape.id}`] = `Choose an endpoint of ${to.name} for this connection shape: it has no endpoint ${fromEndpoint.name}.`
  }
  return {
    id: shape.id, flowId: shape.flowId, flowName: shape.flowName, enabled: shape.enabled, position: shape.position,
    fromInstanceId: instance.id, fromInstanceName: instance.name, fromEndpoint, toInstanceName: toName,
    toEndpoint: endpoint ? { key: endpoint.key, name: endpoint.name } : null, endpointAsked: !same,
  }
}

// ---------------------------------------------------------------------------------------------
// The migrate page: the old connectors' instances, the process flows using them, earlier batches.

export interface PickableInstance {
  id: string
  name: string
  /** Moved by a batch that is not undone, and its copy still exists: not pickable again. */
  movedTo: { batchId: string; instanceId: string; name: string } | null
  flows: { id: string; name: string; enabled: boolean; shapeCount: number }[]
}

export interface BatchSummary {
  id: string
  createdAt: Date
  createdByName: string
  fromName: string
  instanceCount: number
  shapeCount: number
  undoneAt: Date | null
}

export interface MigrationPicker {
  connector: { id: string; name: string; version: string; marketplaceName: string }
  /** The other connectors of the company installed from the same marketplace connector, `from` first. */
  groups: { connector: { id: string; name: string; version: string }; instances: PickableInstance[] }[]
  batches: BatchSummary[]
  defaultSuffix: string
}

const BATCHES_SHOWN = 50

/**
 * The connector and the company's other connectors of the same marketplace connector (by name).
 * With `lock`, all of them are locked (their rows alone, in id order, then read): their definitions
 * and instance names decide the plan.
 */
async function connectorAndSiblings(db: Db | Tx, actor: Actor, connectorId: string, lock = false) {
  if (!isId(connectorId)) throw new NotFound('That connector')
  const sameMarketplaceConnector = and(eq(connectors.companyId, actor.companyId), inArray(connectors.marketplaceConnectorId,
    db.select({ id: connectors.marketplaceConnectorId }).from(connectors).where(and(eq(connectors.id, connectorId), eq(connectors.companyId, actor.companyId)))))
  if (lock) await db.select({ id: connectors.id }).from(connectors).where(sameMarketplaceConnector).orderBy(asc(connectors.id)).for('update')
  const rows = await db.select({
    id: connectors.id, name: connectors.name, version: marketplaceVersions.version, revision: connectors.revision,
    definition: connectors.definition, marketplaceName: marketplaceConnectors.name,
  }).from(connectors)
    .innerJoin(marketplaceConnectors, eq(marketplaceConnectors.id, connectors.marketplaceConnectorId))
    .innerJoin(marketplaceVersions, eq(marketplaceVersions.id, connectors.marketplaceVersionId))
    .where(sameMarketplaceConnector)
    .orderBy(asc(sql`lower(${connectors.name})`), asc(connectors.id))
  const connector = rows.find((r) => r.id === connectorId)
  if (!connector) throw new NotFound('That connector')
  return { connector, siblings: rows.filter((r) => r.id !== connectorId) }
}

const copy = alias(instances, 'copy')

/** The migrate page of the new connector. Five queries, however many instances and flows. */
export async function migrationPicker(db: Db, actor: Actor, connectorId: string, fromId?: string): Promise<MigrationPicker> {
  requirePermission(actor, 'manageInstances')
  const { connector, siblings } = await connectorAndSiblings(db, actor, connectorId)
  const siblingIds = siblings.map((s) => s.id)
  const notUndone = db.select({ id: migrationBatches.id }).from(migrationBatches)
    .where(and(eq(migrationBatches.toConnectorId, connectorId), eq(migrationBatches.companyId, actor.companyId), isNull(migrationBatches.undoneAt)))
  const [rows, uses, batches] = siblingIds.length === 0 ? [[], [], await batchesOf(db, actor, connectorId)] : await Promise.all([
    db.select({
      id: instances.id, name: instances.name, connectorId: instances.connectorId,
      batchId: migrationInstances.batchId, copyId: copy.id, copyName: copy.name,
    }).from(instances)
      .leftJoin(migrationInstances, and(eq(migrationInstances.fromInstanceId, instances.id), inArray(migrationInstances.batchId, notUndone)))
      .leftJoin(copy, eq(copy.id, migrationInstances.createdInstanceId))
      .where(and(eq(instances.companyId, actor.companyId), inArray(instances.connectorId, siblingIds)))
      .orderBy(asc(sql`lower(${instances.name})`), asc(instances.id)),
    db.select({
      instanceId: connectionShapes.instanceId, id: processFlows.id, name: processFlows.name, enabled: processFlows.enabled,
      shapeCount: sql<number>`cast(count(*) as integer)`,
    }).from(connectionShapes)
      .innerJoin(instances, eq(instances.id, connectionShapes.instanceId))
      .innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
      .where(and(eq(connectionShapes.companyId, actor.companyId), inArray(instances.connectorId, siblingIds)))
      .groupBy(connectionShapes.instanceId, processFlows.id)
      .orderBy(asc(sql`lower(${processFlows.name})`), asc(processFlows.id)),
    batchesOf(db, actor, connectorId),
  ])
  const flowsOf = groupBy(uses, (u) => u.instanceId)
  const byInstance = groupBy(rows, (r) => r.id)
  const pickable = [...byInstance.values()].map((group): PickableInstance & { connectorId: string } => {
    const moved = group.find((r) => r.copyId)
    return {
      id: group[0]!.id, name: group[0]!.name, connectorId: group[0]!.connectorId,
      movedTo: moved ? { batchId: moved.batchId!, instanceId: moved.copyId!, name: moved.copyName! } : null,
      flows: (flowsOf.get(group[0]!.id) ?? []).map(({ instanceId, ...flow }) => flow),
    }
  })
  const ordered = [...siblings.filter((s) => s.id === fromId), ...siblings.filter((s) => s.id !== fromId)]
  return {
    connector: { id: connector.id, name: connector.name, version: connector.version, marketplaceName: connector.marketplaceName },
    groups: ordered.map((s) => ({
      connector: { id: s.id, name: s.name, version: s.version },
      instances: pickable.filter((i) => i.connectorId === s.id).map(({ connectorId: _, ...i }) => i),
    })),
    batches,
    defaultSuffix: ` (${connector.version})`,
  }
}

const creator = alias(users, 'creator')
const undoer = alias(users, 'undoer')
const fromConnector = alias(connectors, 'from_connector')
const toConnector = alias(connectors, 'to_connector')

async function batchesOf(db: Db, actor: Actor, connectorId: string): Promise<BatchSummary[]> {
  return db.select({
    id: migrationBatches.id, createdAt: migrationBatches.createdAt, createdByName: creator.name, fromName: fromConnector.name,
    instanceCount: sql<number>`(select cast(count(*) as integer) from ${migrationInstances} where ${migrationInstances.batchId} = ${migrationBatches.id})`,
    shapeCount: sql<number>`(select cast(count(*) as integer) from ${migrationShapes} where ${migrationShapes.batchId} = ${migrationBatches.id})`,
    undoneAt: migrationBatches.undoneAt,
  }).from(migrationBatches)
    .innerJoin(creator, eq(creator.id, migrationBatches.createdBy))
    .innerJoin(fromConnector, eq(fromConnector.id, migrationBatches.fromConnectorId))
    .where(and(eq(migrationBatches.toConnectorId, connectorId), eq(migrationBatches.companyId, actor.companyId)))
    .orderBy(desc(migrationBatches.createdAt), desc(migrationBatches.id))
    .limit(BATCHES_SHOWN)
}

// ---------------------------------------------------------------------------------------------
// Preview and apply.

/** The rows a plan is computed from. With `lock`, rows are locked in the order other changes lock them. */
async function planInputOf(q: Db | Tx, actor: Actor, box: SecretBox, connectorId: string, choices: MigrationChoices, lock: boolean) {
  // Connectors, then flows, instances and shapes: the order flows.ts and instances.ts lock in.
  const { connector: to, siblings } = await connectorAndSiblings(q, actor, connectorId, lock)
  const source = choices.fromConnectorId === undefined ? siblings[0] : siblings.find((s) => s.id === choices.fromConnectorId)
  if (!source) throw new NotFound('That connector')
  const pickedIds = [...new Set(choices.instanceIds)].filter(isId)
  const flowIds = [...new Set(pickedIds.flatMap((id) => choices.flowIds[id] ?? []))].filter(isId)
  if (lock && flowIds.length) {
    await q.select({ id: processFlows.id }).from(processFlows)
      .where(and(eq(processFlows.companyId, actor.companyId), inArray(processFlows.id, flowIds)))
      .orderBy(asc(processFlows.id)).for('update')
  }
  const instanceQuery = q.select({
    id: instances.id, name: instances.name, authMethodKey: instances.authMethodKey, timeZone: instances.timeZone,
    dateFormat: instances.dateFormat, rateLimitAmount: instances.rateLimitAmount, rateLimitUnit: instances.rateLimitUnit,
    settings: instances.settings, secrets: instances.secrets, updatedAt: instances.updatedAt,
  }).from(instances)
    .where(and(eq(instances.companyId, actor.companyId), eq(instances.connectorId, source.id), inArray(instances.id, pickedIds)))
    .orderBy(asc(instances.id))
  const rows = pickedIds.length === 0 ? [] : await (lock ? instanceQuery.for('share') : instanceQuery)
  const ids = rows.map((r) => r.id)
  const usingPicked = and(eq(connectionShapes.companyId, actor.companyId), inArray(connectionShapes.instanceId, ids))
  if (lock && ids.length) await q.select({ id: connectionShapes.id }).from(connectionShapes).where(usingPicked).orderBy(asc(connectionShapes.id)).for('update')
  const shapeQuery = q.select({
    id: connectionShapes.id, flowId: processFlows.id, flowName: processFlows.name, enabled: processFlows.enabled,
    position: connectionShapes.position, instanceId: connectionShapes.instanceId, endpointKey: connectionShapes.endpointKey,
  }).from(connectionShapes)
    .innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
    .where(usingPicked)
    .orderBy(asc(connectionShapes.id))
  const names = rows.map((r) => `${r.name}${choices.suffix}`.trim())
  const [shapes, moved, taken] = ids.length === 0 ? [[], [], []] : [
    await shapeQuery,
    await q.select({ fromId: migrationInstances.fromInstanceId, batchId: migrationInstances.batchId, instanceId: copy.id, name: copy.name })
      .from(migrationInstances)
      .innerJoin(migrationBatches, eq(migrationBatches.id, migrationInstances.batchId))
      .innerJoin(copy, eq(copy.id, migrationInstances.createdInstanceId))
      .where(and(eq(migrationBatches.companyId, actor.companyId), eq(migrationBatches.toConnectorId, to.id), isNull(migrationBatches.undoneAt),
        inArray(migrationInstances.fromInstanceId, ids))),
    await q.select({ name: instances.name }).from(instances).where(and(eq(instances.connectorId, to.id), inArray(instances.name, names))),
  ]
  const movedTo = new Map(moved.map((m) => [m.fromId!, { batchId: m.batchId, instanceId: m.instanceId, name: m.name }]))
  const input: PlanInput = {
    from: pick(source), to: pick(to),
    instances: rows.map(({ secrets, ...row }) => ({ ...row, secretKeys: Object.keys(box.open(secrets)), movedTo: movedTo.get(row.id) ?? null }))
      .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase())),
    shapes, takenNames: taken.map((t) => t.name), choices,
  }
  return { input, secrets: new Map(rows.map((r) => [r.id, r.secrets])), settings: new Map(rows.map((r) => [r.id, r.settings])) }
}

const pick = (c: PlanConnector): PlanConnector => ({ id: c.id, name: c.name, version: c.version, revision: c.revision, definition: c.definition })

/** The preview: exactly what applying these choices will change. Changes nothing. */
export async function previewMigration(db: Db, actor: Actor, box: SecretBox, connectorId: string, choices: MigrationChoices): Promise<MigrationPlan> {
  requirePermission(actor, 'manageInstances')
  const { input } = await planInputOf(db, actor, box, connectorId, choices, false)
  return planMigration(input)
}

/** What was previewed is no longer what would be applied: show the preview again. */
export class PlanChanged extends Conflict {
  override name = 'PlanChanged'
  constructor() {
    super('Something changed since this preview was shown (an instance, a process flow or a connector). Nothing was changed yet: check the preview again, then apply.')
  }
}

export interface AppliedMigration { batchId: string; summary: string }

const count = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`

/** "undid the migration of 2 instances from Shopify to Shopify 2.2.0: 3 connection shapes pointed back, 2 created instances removed" */
const undoneSummary = (instanceCount: number, shapeCount: number, fromName: string, toName: string) =>
  `undid the migration of ${count(instanceCount, 'instance')} from ${fromName} to ${toName}: `
  + `${count(shapeCount, 'connection shape')} pointed back, ${count(instanceCount, 'created instance')} removed`

/** "migrated 2 instances from Shopify to Shopify 2.2.0; 3 connection shapes repointed" */
const migratedSummary = (instanceCount: number, shapeCount: number, fromName: string, toName: string) =>
  `migrated ${count(instanceCount, 'instance')} from ${fromName} to ${toName}; ${count(shapeCount, 'connection shape')} repointed`

/**
 * Applies a migration in one transaction, once per form submission: creates the copies, repoints the
 * chosen process flows' connection shapes, records the batch and the audit events. `plan` is the
 * digest the preview showed; a different one means something changed since (PlanChanged).
 */
export async function applyMigration(db: Db, actor: Actor, box: SecretBox, connectorId: string,
  choices: MigrationChoices & { plan?: string | undefined; submission?: string | undefined }): Promise<AppliedMigration> {
  requirePermission(actor, 'manageInstances')
  return db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, choices.submission)
    if (earlier?.resultId) {
      const done = await loadBatch(tx, actor, connectorId, earlier.resultId).catch(() => null)
      if (done) return { batchId: done.id, summary: migratedSummary(done.instances.length, done.shapes.length, done.from.name, done.to.name) }
    }
    const { input, secrets, settings } = await planInputOf(tx, actor, box, connectorId, choices, true)
    const plan = planMigration(input)
    if (Object.keys(plan.errors).length) throw new Invalid(plan.errors)
    if (choices.plan !== undefined && choices.plan !== plan.digest) throw new PlanChanged()
    const { from, to } = plan

    const [batch] = await tx.insert(migrationBatches).values({
      companyId: actor.companyId, fromConnectorId: from.id, toConnectorId: to.id, createdBy: actor.id,
    }).returning({ id: migrationBatches.id })
    let created
    try {
      created = await tx.insert(instances).values(plan.instances.map((p) => ({
        companyId: actor.companyId, connectorId: to.id, name: p.name, authMethodKey: p.authMethod!.key,
        timeZone: p.timeZone, dateFormat: p.dateFormat, rateLimitAmount: p.rateLimitAmount, rateLimitUnit: p.rateLimitUnit,
        ...valuesOf(p, settings.get(p.fromId) ?? {}, box.open(secrets.get(p.fromId) ?? null), box), createdBy: actor.id,
      }))).returning({ id: instances.id, name: instances.name })
    } catch (error) {
      if (violates(error, 'instances_connector_name_unique')) throw new Invalid({ suffix: `${to.name} already has an instance with one of these names. Choose another suffix.` })
      throw error
    }
    const copyOf = new Map(plan.instances.map((p) => [p.fromId, created.find((c) => c.name === p.name)!.id]))

    const moves = plan.shapes.map((s) => ({ ...s, toInstanceId: copyOf.get(s.fromInstanceId)!, toEndpointKey: s.toEndpoint!.key }))
    for (const group of groupBy(moves, (m) => `${m.toInstanceId} ${m.toEndpointKey}`).values()) {
      await tx.update(connectionShapes).set({ instanceId: group[0]!.toInstanceId, endpointKey: group[0]!.toEndpointKey })
        .where(and(eq(connectionShapes.companyId, actor.companyId), inArray(connectionShapes.id, group.map((m) => m.id))))
    }
    // A form of those flows shown before this (reconfigure a shape, say) is refused now: their shapes changed.
    await touchFlows(tx, actor, [...new Set(moves.map((m) => m.flowId))])
    // Both now(): the copies' updated_at is the transaction's start, so a later change to one shows.
    await tx.insert(migrationInstances).values(plan.instances.map((p) => ({
      batchId: batch!.id, fromInstanceId: p.fromId, createdInstanceId: copyOf.get(p.fromId)!, name: p.name, createdUpdatedAt: sql`now()`,
    })))
    if (moves.length) {
      await tx.insert(migrationShapes).values(moves.map((m) => ({
        batchId: batch!.id, shapeId: m.id, processFlowName: m.flowName, fromInstanceId: m.fromInstanceId, fromEndpointKey: m.fromEndpoint.key,
        toInstanceId: m.toInstanceId, toEndpointKey: m.toEndpointKey,
      })))
    }
    const summary = migratedSummary(plan.instances.length, moves.length, from.name, to.name)
    await recordEvents(tx, actor, [
      {
        action: 'migrate instances', subjectType: 'migration batch', subjectId: batch!.id, summary,
        details: {
          fromConnectorId: from.id, toConnectorId: to.id,
          instances: plan.instances.map((p) => ({ from: p.fromId, fromName: p.fromName, created: copyOf.get(p.fromId), name: p.name, authMethod: p.authMethod!.key, dropped: p.dropped.map((d) => d.name) })),
          shapes: moves.map((m) => ({ id: m.id, processFlowId: m.flowId, from: [m.fromInstanceId, m.fromEndpoint.key], to: [m.toInstanceId, m.toEndpointKey] })),
        },
      },
      ...plan.instances.map((p): AuditEntry => ({
        action: 'add instance', subjectType: 'instance', subjectId: copyOf.get(p.fromId)!,
        summary: `added instance ${p.name} of ${to.name}, copied from ${p.fromName} of ${from.name}`,
        details: { connectorId: to.id, authMethod: p.authMethod!.key, copiedFrom: p.fromId, migrationBatchId: batch!.id },
      })),
      ...moves.map((m): AuditEntry => ({
        action: 'reconfigure connection shape', subjectType: 'connection shape', subjectId: m.id,
        summary: `reconfigured a connection shape of ${m.flowName} from ${m.fromInstanceName}, ${m.fromEndpoint.name} to ${m.toInstanceName}, ${m.toEndpoint!.name}`,
        details: { processFlowId: m.flowId, instanceId: m.toInstanceId, migrationBatchId: batch!.id },
      })),
    ])
    await completeSubmission(tx, actor, choices.submission, batch!.id)
    return { batchId: batch!.id, summary }
  })
}

/** The copy's stored values: settings as planned, credentials re-encrypted for the fields the copy has. */
function valuesOf(p: PlannedInstance, oldSettings: Record<string, string>, oldSecrets: Record<string, string>, box: SecretBox) {
  const settings: Record<string, string> = {}
  const secrets: Record<string, string> = {}
  for (const field of p.fields) {
    const value = field.copiedFrom === 'setting' ? oldSettings[field.name] : field.copiedFrom === 'credential' ? oldSecrets[field.name] : field.value
    if (value === undefined || value === null) continue
    if (field.secret) { if (value !== '') secrets[field.name] = value } else settings[field.name] = value
  }
  return { settings, secrets: Object.keys(secrets).length ? box.seal(secrets) : null }
}

// ---------------------------------------------------------------------------------------------
// A batch: what it did, and undo.

/** Why a batch cannot be undone (any more). */
export type UndoBlocker =
  | { kind: 'undone'; at: Date; byName: string }
  | { kind: 'instance removed'; name: string }
  | { kind: 'instance changed'; name: string; instanceId: string; at: Date }
  | { kind: 'instance used'; name: string; instanceId: string; flowId: string; flowName: string }
  | { kind: 'old instance removed'; name: string }
  | { kind: 'shape removed'; flowName: string }
  | { kind: 'shape repointed'; flowId: string; flowName: string; position: number; instanceName: string; endpointName: string }

export interface MigrationBatchView {
  id: string
  createdAt: Date
  createdByName: string
  undoneAt: Date | null
  undoneByName: string | null
  from: { id: string; name: string }
  to: { id: string; name: string }
  instances: {
    name: string
    /** The copy, while it exists. */
    createdId: string | null
    fromId: string | null
    fromName: string | null
    changedAt: Date | null
  }[]
  shapes: {
    shapeId: string | null
    flowId: string | null
    flowName: string
    enabled: boolean | null
    position: number | null
    from: { instanceId: string; instanceName: string | null; endpointKey: string; endpointName: string }
    to: { instanceId: string; instanceName: string; endpointKey: string; endpointName: string }
    /** Where the shape points now, when not where the batch left it. */
    now: { instanceName: string; endpointName: string } | null
  }[]
  /** Empty when it can be undone. */
  blockers: UndoBlocker[]
}

const fromInstance = alias(instances, 'from_instance')
const current = alias(instances, 'current_instance')
const currentConnector = alias(connectors, 'current_connector')

const endpointName = (definition: ConnectorDefinition | null | undefined, key: string) =>
  definition?.endpoints.find((e) => e.key === key)?.name ?? key

/** A batch of the connector with the current state of what it created and repointed. Four queries. */
async function loadBatch(q: Db | Tx, actor: Actor, connectorId: string, batchId: string): Promise<MigrationBatchView> {
  if (!isId(connectorId) || !isId(batchId)) throw new NotFound('That migration')
  const [batch] = await q.select({
    id: migrationBatches.id, createdAt: migrationBatches.createdAt, createdByName: creator.name, undoneAt: migrationBatches.undoneAt,
    undoneByName: undoer.name, fromId: fromConnector.id, fromName: fromConnector.name, fromDefinition: fromConnector.definition,
    toId: toConnector.id, toName: toConnector.name, toDefinition: toConnector.definition,
  }).from(migrationBatches)
    .innerJoin(creator, eq(creator.id, migrationBatches.createdBy))
    .leftJoin(undoer, eq(undoer.id, migrationBatches.undoneBy))
    .innerJoin(fromConnector, eq(fromConnector.id, migrationBatches.fromConnectorId))
    .innerJoin(toConnector, eq(toConnector.id, migrationBatches.toConnectorId))
    .where(and(eq(migrationBatches.id, batchId), eq(migrationBatches.companyId, actor.companyId), eq(migrationBatches.toConnectorId, connectorId)))
  if (!batch) throw new NotFound('That migration')
  // One after the other: this also runs inside the undo transaction.
  const made = await q.select({
      name: migrationInstances.name, createdId: copy.id, copyName: copy.name, copyUpdatedAt: copy.updatedAt,
      unchanged: sql<boolean>`${copy.updatedAt} = ${migrationInstances.createdUpdatedAt}`,
      fromId: fromInstance.id, fromName: fromInstance.name,
    }).from(migrationInstances)
      .leftJoin(copy, eq(copy.id, migrationInstances.createdInstanceId))
      .leftJoin(fromInstance, eq(fromInstance.id, migrationInstances.fromInstanceId))
      .where(eq(migrationInstances.batchId, batchId))
      .orderBy(asc(sql`lower(${migrationInstances.name})`))
  const moved = await q.select({
      shapeId: connectionShapes.id, flowId: processFlows.id, flowName: sql<string>`coalesce(${processFlows.name}, ${migrationShapes.processFlowName})`,
      enabled: processFlows.enabled, position: connectionShapes.position,
      fromInstanceId: migrationShapes.fromInstanceId, fromInstanceName: fromInstance.name, fromEndpointKey: migrationShapes.fromEndpointKey,
      toInstanceId: migrationShapes.toInstanceId, toEndpointKey: migrationShapes.toEndpointKey,
      nowInstanceId: connectionShapes.instanceId, nowInstanceName: current.name, nowEndpointKey: connectionShapes.endpointKey,
      nowDefinition: currentConnector.definition,
    }).from(migrationShapes)
      .leftJoin(connectionShapes, eq(connectionShapes.id, migrationShapes.shapeId))
      .leftJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
      .leftJoin(fromInstance, eq(fromInstance.id, migrationShapes.fromInstanceId))
      .leftJoin(current, eq(current.id, connectionShapes.instanceId))
      .leftJoin(currentConnector, eq(currentConnector.id, current.connectorId))
      .where(eq(migrationShapes.batchId, batchId))
      .orderBy(asc(sql`lower(coalesce(${processFlows.name}, ${migrationShapes.processFlowName}))`), asc(connectionShapes.position))
  const copies = made.filter((m) => m.createdId).map((m) => m.createdId!)
  const recordedShapes = moved.filter((m) => m.shapeId).map((m) => m.shapeId!)
  const otherUses = copies.length === 0 ? [] : await q.select({ instanceId: connectionShapes.instanceId, flowId: processFlows.id, flowName: processFlows.name })
    .from(connectionShapes).innerJoin(processFlows, eq(processFlows.id, connectionShapes.processFlowId))
    .where(and(eq(connectionShapes.companyId, actor.companyId), inArray(connectionShapes.instanceId, copies), notInArray(connectionShapes.id, recordedShapes)))
    .orderBy(asc(sql`lower(${processFlows.name})`))
  // A copy removed since (by undo, say) is named through the instance it was copied from.
  const copyName = new Map<string, string>()
  for (const m of made) { if (m.createdId) copyName.set(m.createdId, m.name) }
  const copyOfOld = new Map(made.filter((m) => m.fromId).map((m) => [m.fromId!, m.name]))
  const nameOfCopy = (toInstanceId: string, fromInstanceId: string) =>
    copyName.get(toInstanceId) ?? copyOfOld.get(fromInstanceId) ?? (made.length === 1 ? made[0]!.name : 'a copy removed since')

  const view: MigrationBatchView = {
    id: batch.id, createdAt: batch.createdAt, createdByName: batch.createdByName, undoneAt: batch.undoneAt, undoneByName: batch.undoneByName,
    from: { id: batch.fromId, name: batch.fromName }, to: { id: batch.toId, name: batch.toName },
    instances: made.map((m) => ({ name: m.copyName ?? m.name, createdId: m.createdId, fromId: m.fromId, fromName: m.fromName, changedAt: m.createdId && !m.unchanged ? m.copyUpdatedAt : null })),
    shapes: moved.map((m) => {
      const pointsBack = m.nowInstanceId === m.fromInstanceId && m.nowEndpointKey === m.fromEndpointKey
      const unchanged = m.nowInstanceId === m.toInstanceId && m.nowEndpointKey === m.toEndpointKey
      const showNow = m.shapeId && !unchanged && !(batch.undoneAt && pointsBack)
      return {
        shapeId: m.shapeId, flowId: m.flowId, flowName: m.flowName, enabled: m.enabled, position: m.position,
        from: { instanceId: m.fromInstanceId, instanceName: m.fromInstanceName, endpointKey: m.fromEndpointKey, endpointName: endpointName(batch.fromDefinition, m.fromEndpointKey) },
        to: { instanceId: m.toInstanceId, instanceName: nameOfCopy(m.toInstanceId, m.fromInstanceId), endpointKey: m.toEndpointKey, endpointName: endpointName(batch.toDefinition, m.toEndpointKey) },
        now: showNow ? { instanceName: m.nowInstanceName ?? '', endpointName: endpointName(m.nowDefinition, m.nowEndpointKey!) } : null,
      }
    }),
    blockers: [],
  }
  view.blockers = undoBlockers(view, batch.undoneAt ? null : otherUses.map((u) => ({ ...u, name: copyName.get(u.instanceId) ?? '' })))
  return view
}

/** Why the batch cannot be undone: it was, or something else changed what it created or repointed since. */
export function undoBlockers(batch: MigrationBatchView, otherUses: { instanceId: string; name: string; flowId: string; flowName: string }[] | null): UndoBlocker[] {
  if (batch.undoneAt) return [{ kind: 'undone', at: batch.undoneAt, byName: batch.undoneByName ?? 'somebody' }]
  const blockers: UndoBlocker[] = []
  for (const made of batch.instances) {
    if (!made.createdId) blockers.push({ kind: 'instance removed', name: made.name })
    else if (made.changedAt) blockers.push({ kind: 'instance changed', name: made.name, instanceId: made.createdId, at: made.changedAt })
    if (!made.fromId) blockers.push({ kind: 'old instance removed', name: made.name })
  }
  const seen = new Set<string>()
  for (const use of otherUses ?? []) {
    if (seen.has(`${use.instanceId} ${use.flowId}`)) continue
    seen.add(`${use.instanceId} ${use.flowId}`)
    blockers.push({ kind: 'instance used', ...use })
  }
  for (const shape of batch.shapes) {
    if (!shape.shapeId) blockers.push({ kind: 'shape removed', flowName: shape.flowName })
    else if (shape.now) {
      blockers.push({ kind: 'shape repointed', flowId: shape.flowId!, flowName: shape.flowName, position: shape.position!, ...shape.now })
    }
  }
  return blockers
}

/** A migration batch of the connector: what it did and whether it can still be undone. */
export async function getMigrationBatch(db: Db, actor: Actor, connectorId: string, batchId: string): Promise<MigrationBatchView> {
  requirePermission(actor, 'manageInstances')
  return loadBatch(db, actor, connectorId, batchId)
}

export type UndoResult = { undone: true; summary: string } | { undone: false; blockers: UndoBlocker[] }

/**
 * Undo: points the shapes back and removes the copies, in one transaction with the rows locked, if
 * nothing else changed them since. Otherwise nothing changes and the result says why.
 */
export async function undoMigration(db: Db, actor: Actor, connectorId: string, batchId: string, submission?: string): Promise<UndoResult> {
  requirePermission(actor, 'manageInstances')
  if (!isId(connectorId) || !isId(batchId)) throw new NotFound('That migration')
  return db.transaction(async (tx) => {
    const earlier = await claimSubmission(tx, actor, submission)
    if (earlier?.resultId === batchId) {
      const done = await loadBatch(tx, actor, connectorId, batchId)
      return { undone: true, summary: undoneSummary(done.instances.length, done.shapes.length, done.from.name, done.to.name) }
    }
    const [locked] = await tx.select({ id: migrationBatches.id }).from(migrationBatches)
      .where(and(eq(migrationBatches.id, batchId), eq(migrationBatches.companyId, actor.companyId), eq(migrationBatches.toConnectorId, connectorId)))
      .for('update')
    if (!locked) throw new NotFound('That migration')
    // Flows, instances, shapes: the order flows.ts and instances.ts lock in.
    const recordedShapes = tx.select({ id: migrationShapes.shapeId }).from(migrationShapes).where(eq(migrationShapes.batchId, batchId))
    await tx.select({ id: processFlows.id }).from(processFlows)
      .where(inArray(processFlows.id, tx.select({ id: connectionShapes.processFlowId }).from(connectionShapes).where(inArray(connectionShapes.id, recordedShapes))))
      .orderBy(asc(processFlows.id)).for('update')
    await tx.select({ id: instances.id }).from(instances).where(and(eq(instances.companyId, actor.companyId), or(
      inArray(instances.id, tx.select({ id: migrationInstances.createdInstanceId }).from(migrationInstances).where(and(eq(migrationInstances.batchId, batchId), isNotNull(migrationInstances.createdInstanceId)))),
      inArray(instances.id, tx.select({ id: migrationInstances.fromInstanceId }).from(migrationInstances).where(and(eq(migrationInstances.batchId, batchId), isNotNull(migrationInstances.fromInstanceId)))),
      inArray(instances.id, tx.select({ id: migrationShapes.fromInstanceId }).from(migrationShapes).where(eq(migrationShapes.batchId, batchId))),
    ))).orderBy(asc(instances.id)).for('update')
    await tx.select({ id: connectionShapes.id }).from(connectionShapes).where(inArray(connectionShapes.id, recordedShapes))
      .orderBy(asc(connectionShapes.id)).for('update')

    const batch = await loadBatch(tx, actor, connectorId, batchId)
    if (batch.blockers.length) return { undone: false, blockers: batch.blockers }
    for (const group of groupBy(batch.shapes, (s) => `${s.from.instanceId} ${s.from.endpointKey}`).values()) {
      await tx.update(connectionShapes).set({ instanceId: group[0]!.from.instanceId, endpointKey: group[0]!.from.endpointKey })
        .where(and(eq(connectionShapes.companyId, actor.companyId), inArray(connectionShapes.id, group.map((s) => s.shapeId!))))
    }
    await touchFlows(tx, actor, [...new Set(batch.shapes.map((s) => s.flowId!))])
    const copies = batch.instances.map((i) => i.createdId!)
    await tx.delete(instances).where(and(eq(instances.companyId, actor.companyId), inArray(instances.id, copies)))
    await tx.update(migrationBatches).set({ undoneAt: sql`now()`, undoneBy: actor.id }).where(eq(migrationBatches.id, batchId))
    const summary = undoneSummary(batch.instances.length, batch.shapes.length, batch.from.name, batch.to.name)
    await recordEvents(tx, actor, [
      {
        action: 'undo migration', subjectType: 'migration batch', subjectId: batchId, summary,
        details: { fromConnectorId: batch.from.id, toConnectorId: batch.to.id, removedInstances: copies, shapes: batch.shapes.map((s) => s.shapeId) },
      },
      ...batch.instances.map((i): AuditEntry => ({
        action: 'remove instance', subjectType: 'instance', subjectId: i.createdId,
        summary: `removed instance ${i.name} of ${batch.to.name} (undoing a migration)`, details: { migrationBatchId: batchId },
      })),
      ...batch.shapes.map((s): AuditEntry => ({
        action: 'reconfigure connection shape', subjectType: 'connection shape', subjectId: s.shapeId,
        summary: `reconfigured a connection shape of ${s.flowName} back to ${s.from.instanceName ?? s.from.instanceId}, ${s.from.endpointName} (undoing a migration)`,
        details: { processFlowId: s.flowId, instanceId: s.from.instanceId, migrationBatchId: batchId },
      })),
    ])
    await completeSubmission(tx, actor, submission, batchId)
    return { undone: true, summary }
  })
}

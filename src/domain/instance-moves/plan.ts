// The plan of a move: what moving the picked instances and process flows to the new connector will
// change, computed from the rows and the admin's choices. Pure: no database, no actor.
import { createHash } from 'node:crypto'
import type { AuthMethodSpec, ConnectorDefinition } from '../definition.js'
import { fieldsFor } from '../instance-fields.js'
import { LIMITS } from '../limits.js'
import { canonicalTimeZone } from '../time-zones.js'

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

export interface PlanConnector {
  id: string
  name: string
  version: string
  revision: number
  definition: ConnectorDefinition
}

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

export interface DroppedValue {
  name: string
  label: string
  secret: boolean
  why: string
}

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
      errors.instance =
        moved.map((i) => `${i.name} was already moved to ${i.movedTo!.name}.`).join(' ') +
        ' Undo that move or remove the copy first.'
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
      errors[`flow.${instance.id}`] =
        `A process flow you picked does not use ${instance.name} (any more). Check the process flows again.`
    }
    for (const shape of uses.filter((s) => chosen.has(s.flowId))) {
      shapes.push(planShape(from, to, shape, instance, planned[index]!.name, choices.endpoints[shape.id], errors))
    }
  }
  shapes.sort(
    (a, b) =>
      a.flowName.toLowerCase().localeCompare(b.flowName.toLowerCase()) ||
      a.flowId.localeCompare(b.flowId) ||
      a.position - b.position,
  )

  const digest = createHash('sha256')
    .update(
      JSON.stringify({
        from: [from.id, from.revision],
        to: [to.id, to.revision],
        instances: picked.map((i, n) => [i.id, i.updatedAt.toISOString(), planned[n]!.name]),
        shapes: shapes.map((s) => [s.id, s.fromInstanceId, s.fromEndpoint.key, s.endpointAsked]),
      }),
    )
    .digest('base64url')
  return { from, to, instances: planned, shapes, errors, digest }
}

function planInstance(
  from: PlanConnector,
  to: PlanConnector,
  instance: PlanInstance,
  name: string,
  chosenMethod: string | undefined,
  errors: Record<string, string>,
): PlannedInstance {
  const oldMethod = from.definition.authMethods.find((m) => m.key === instance.authMethodKey)
  const sameMethod = to.definition.authMethods.find((m) => m.key === instance.authMethodKey)
  const method = sameMethod ?? to.definition.authMethods.find((m) => m.key === chosenMethod)
  if (!method) {
    errors[`authMethod.${instance.id}`] =
      `Choose how ${name} authenticates: ${to.name} has no authentication method ${oldMethod?.name ?? instance.authMethodKey}.`
  }
  // Credentials of one authentication method are never carried over to another.
  const keepsAuth = method?.key === instance.authMethodKey
  const fields: PlannedField[] = fieldsFor(to.definition, method).map((field) => {
    const eligible = field.group === 'variables' || keepsAuth
    const fromSetting = eligible && (instance.settings[field.name] ?? '') !== ''
    // A credential is copied only into a field that keeps it secret: never into a plain setting.
    const fromCredential = eligible && field.secret && !fromSetting && instance.secretKeys.includes(field.name)
    const copiedFrom = fromSetting ? ('setting' as const) : fromCredential ? ('credential' as const) : null
    const value = field.secret
      ? null
      : fromSetting
        ? instance.settings[field.name]!
        : fromCredential
          ? null
          : (field.default ?? '')
    return { name: field.name, label: field.label, secret: field.secret, required: field.required, copiedFrom, value }
  })
  const copied = new Set(fields.filter((f) => f.copiedFrom).map((f) => f.name))
  const oldFields = new Map(fieldsFor(from.definition, oldMethod).map((f) => [f.name, f]))
  const order = [...oldFields.keys()]
  const rank = (key: string) => (order.includes(key) ? order.indexOf(key) : order.length)
  const oldValues = [
    ...new Set([
      ...Object.entries(instance.settings)
        .filter(([, v]) => v !== '')
        .map(([k]) => k),
      ...instance.secretKeys,
    ]),
  ].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b))
  const dropped: DroppedValue[] = oldValues
    .filter((key) => !copied.has(key))
    .map((key) => {
      const old = oldFields.get(key)
      const unsealed = fields.some((f) => f.name === key && !f.secret) && instance.secretKeys.includes(key)
      const why = unsealed
        ? `${to.name} no longer keeps it secret, so it is not copied into a plain setting: enter it again`
        : key.startsWith('var.')
          ? `${to.name} has no such variable`
          : keepsAuth
            ? `the authentication method ${method!.name} of ${to.name} has no such field`
            : `it belongs to the authentication method ${oldMethod?.name ?? instance.authMethodKey}, which the copy does not use`
      return {
        name: key,
        label: old?.label ?? key.replace(/^(auth|var)\./, ''),
        secret: old?.secret ?? instance.secretKeys.includes(key),
        why,
      }
    })
  const requiredEmpty = fields.filter((f) => f.required && !f.copiedFrom && (f.secret || !f.value)).map((f) => f.label)
  return {
    fromId: instance.id,
    fromName: instance.name,
    name,
    oldAuthMethod: oldMethod ? methodRef(oldMethod) : { key: instance.authMethodKey, name: instance.authMethodKey },
    authMethod: method ? methodRef(method) : null,
    authMethodAsked: !sameMethod,
    authMethodChoices: to.definition.authMethods.map(methodRef),
    timeZone: canonicalTimeZone(instance.timeZone) ?? instance.timeZone,
    dateFormat: instance.dateFormat,
    rateLimitAmount: instance.rateLimitAmount,
    rateLimitUnit: instance.rateLimitUnit,
    fields,
    dropped,
    requiredEmpty,
  }
}

function planShape(
  from: PlanConnector,
  to: PlanConnector,
  shape: PlanShape,
  instance: PlanInstance,
  toName: string,
  chosenEndpoint: string | undefined,
  errors: Record<string, string>,
): PlannedShape {
  const old = from.definition.endpoints.find((e) => e.key === shape.endpointKey)
  const fromEndpoint = { key: shape.endpointKey, name: old?.name ?? shape.endpointKey }
  const same = to.definition.endpoints.find((e) => e.key === shape.endpointKey)
  const endpoint = same ?? to.definition.endpoints.find((e) => e.key === chosenEndpoint)
  if (!endpoint) {
    errors[`endpoint.${shape.id}`] =
      `Choose an endpoint of ${to.name} for this connection shape: it has no endpoint ${fromEndpoint.name}.`
  }
  return {
    id: shape.id,
    flowId: shape.flowId,
    flowName: shape.flowName,
    enabled: shape.enabled,
    position: shape.position,
    fromInstanceId: instance.id,
    fromInstanceName: instance.name,
    fromEndpoint,
    toInstanceName: toName,
    toEndpoint: endpoint ? { key: endpoint.key, name: endpoint.name } : null,
    endpointAsked: !same,
  }
}

// "Update and keep my changes": a three-way merge of connector definitions. `base` is the
// marketplace version a connector was installed from, `mine` the company's customised definition,
// `theirs` the vendor's new version. Items are matched by key, property by property, the way
// definition-diff.ts compares them. Pure: no database, no HTTP, inputs never changed.
import {
  AUTH_TYPES,
  type AuthMethodSpec,
  type ConnectorDefinition,
  type EndpointSpec,
  type FieldSpec,
} from './definition.js'

export type MergeSide = 'mine' | 'theirs'

export interface MergeConflict {
  /** Stable, form-safe id: dot-joined path of keys/prop names, e.g. "baseUrl", "rateLimit.amount",
   *  "endpoints.get_orders" (whole item: delete/modify or add/add), "endpoints.get_orders.url",
   *  "authMethods.api_key.fields.token.label", "endpoints.get_orders.variables.page" (whole nested item). Only [a-z0-9_.A-Z] chars. */
  id: string
  /** Where, in words for an admin: e.g. 'endpoint “Get orders”: URL', 'connector: base URL', 'authentication method “API key”: field “Token”'. */
  where: string
  kind: 'both-changed' | 'both-added' | 'removed-by-mine' | 'removed-by-theirs'
  /** The value on each side, in words for the side-by-side view: a scalar as text (booleans as yes/no), a whole item summarised in one line (e.g. endpoint: 'Get orders: GET {{baseUrl}}/orders (receive Order)'; field: 'Token (secret, required)'), or null when that side removed it. */
  base: string | null
  mine: string | null
  theirs: string | null
}

export interface MergeResult {
  /** The merged definition, with every conflict resolved by `choices[id]`, or by 'theirs' where no choice is given. */
  definition: ConnectorDefinition
  /** Every conflict, in definition order (connector props, variables, auth methods, endpoints). */
  conflicts: MergeConflict[]
  /** Ids of conflicts that `choices` does not answer. */
  unresolved: string[]
  /** What of mine was kept on top of theirs, in words (one line each, like describeDiff lines), for the revision summary and the preview: e.g. 'kept your endpoint “Get refunds”', 'kept your change to endpoint “Get orders”: URL'. */
  keptFromMine: string[]
}

type Scalar = string | number | boolean | undefined
type Item = { key: string }
type ScalarKey<T> = { [K in keyof T]-?: T[K] extends Scalar ? (K extends 'key' ? never : K) : never }[keyof T]
type ListKey<T> = { [K in keyof T]-?: T[K] extends FieldSpec[] ? K : never }[keyof T]

/** How to merge and describe one kind of item: its scalar properties and its nested list, if any. */
interface ItemShape<T extends Item> {
  /** The word the screens use: "endpoint", "field". */
  word: string
  nameOf: (item: T) => string
  /** The whole item in one line, for a delete/modify conflict. */
  summarise: (item: T) => string
  /** Scalar properties in definition order, with their words and, where the raw value is not what an admin reads, their text. */
  properties: { key: ScalarKey<T>; word: string; text?: (value: Scalar) => string }[]
  list?: { key: ListKey<T>; shape: ItemShape<FieldSpec> }
}

function fieldShape(word: string): ItemShape<FieldSpec> {
  return {
    word,
    nameOf: (field) => field.label,
    summarise: (field) => {
      const traits = [
        field.secret ? 'secret' : null,
        field.required ? 'required' : 'optional',
        field.default === undefined ? null : `default “${field.default}”`,
      ]
      return `${field.label} (${traits.filter((trait) => trait !== null).join(', ')})`
    },
    properties: [
      { key: 'label', word: 'label' },
      { key: 'secret', word: 'secret' },
      { key: 'required', word: 'required' },
      { key: 'default', word: 'default value' },
    ],
  }
}

const labels = (fields: FieldSpec[]) => fields.map((field) => field.label).join(', ')

const VARIABLE_SHAPE = fieldShape('variable')

const AUTH_METHOD_SHAPE: ItemShape<AuthMethodSpec> = {
  word: 'authentication method',
  nameOf: (method) => method.name,
  summarise: (method) =>
    `${method.name}: ${AUTH_TYPES[method.type]} (${method.fields.length ? `fields ${labels(method.fields)}` : 'no fields'})`,
  properties: [
    { key: 'name', word: 'name' },
    { key: 'type', word: 'type', text: (type) => AUTH_TYPES[type as AuthMethodSpec['type']] },
  ],
  list: { key: 'fields', shape: fieldShape('field') },
}

const ENDPOINT_SHAPE: ItemShape<EndpointSpec> = {
  word: 'endpoint',
  nameOf: (endpoint) => endpoint.name,
  summarise: (endpoint) =>
    `${endpoint.name}: ${endpoint.method} ${endpoint.url} (${endpoint.direction} ${endpoint.entity}${endpoint.variables.length ? `; variables ${labels(endpoint.variables)}` : ''})`,
  properties: [
    { key: 'name', word: 'name' },
    { key: 'entity', word: 'entity' },
    { key: 'direction', word: 'direction' },
    { key: 'method', word: 'HTTP method' },
    { key: 'url', word: 'URL' },
  ],
  list: { key: 'variables', shape: VARIABLE_SHAPE },
}

/** The conflicts found so far, the lines of what was kept from mine, and the admin's choices. */
interface Merging {
  choices: Record<string, MergeSide>
  conflicts: MergeConflict[]
  keptFromMine: string[]
}

/** Records a conflict and returns the side that wins it: the admin's choice, else theirs. */
function decide(merging: Merging, conflict: MergeConflict): MergeSide {
  merging.conflicts.push(conflict)
  return merging.choices[conflict.id] === 'mine' ? 'mine' : 'theirs'
}

function scalarText(value: Scalar, text?: (value: Scalar) => string): string | null {
  if (value === undefined) return null
  if (typeof value === 'boolean') return value ? 'yes' : 'no'
  return text ? text(value) : String(value)
}

interface Place {
  id: string
  where: string
  /** How a line of keptFromMine names it: "endpoint “Get orders”: URL", "the base URL". */
  subject: string
}

/**
 * One property. `base` is null when the item was added on both sides: then any difference between
 * mine and theirs is a conflict, even a `default` one side has and the other has not.
 */
function mergeScalar<V extends Scalar>(
  merging: Merging,
  place: Place,
  base: { value: V } | null,
  mine: V,
  theirs: V,
  text?: (value: Scalar) => string,
): V {
  if (mine === theirs) return theirs
  if (base && mine === base.value) return theirs
  if (base && theirs === base.value) {
    merging.keptFromMine.push(`kept your change to ${place.subject}`)
    return mine
  }
  const side = decide(merging, {
    id: place.id,
    where: place.where,
    kind: base ? 'both-changed' : 'both-added',
    base: base ? scalarText(base.value, text) : null,
    mine: scalarText(mine, text),
    theirs: scalarText(theirs, text),
  })
  if (side === 'theirs') return theirs
  merging.keptFromMine.push(`kept your ${base ? 'change to' : 'version of'} ${place.subject}`)
  return mine
}

/** Same item, ignoring the order of its nested list (reordering alone is never a change worth a conflict). */
function sameItem<T extends Item>(shape: ItemShape<T>, a: T, b: T): boolean {
  if (!shape.properties.every((property) => a[property.key] === b[property.key])) return false
  if (!shape.list) return true
  const listA = a[shape.list.key] as FieldSpec[]
  const listB = new Map((b[shape.list.key] as FieldSpec[]).map((item) => [item.key, item]))
  return (
    listA.length === listB.size &&
    listA.every((item) => {
      const other = listB.get(item.key)
      return other !== undefined && sameItem(shape.list!.shape, item, other)
    })
  )
}

const sameOrder = (a: string[], b: string[]) => a.length === b.length && a.every((key, i) => key === b[i])

/**
 * The order of every key of mine and theirs. The items all three keep follow the side that alone
 * reordered them, else theirs; then theirs' other items, then mine's, each right after the item
 * before it on its side (or first when none is).
 */
function mergeOrder(base: string[], mine: string[], theirs: string[]): string[] {
  const inMine = new Set(mine)
  const inTheirs = new Set(theirs)
  const kept = new Set(base.filter((key) => inMine.has(key) && inTheirs.has(key)))
  const keptIn = (keys: string[]) => keys.filter((key) => kept.has(key))
  const [baseOrder, mineOrder, theirsOrder] = [keptIn(base), keptIn(mine), keptIn(theirs)]
  const order = !sameOrder(mineOrder, baseOrder) && sameOrder(theirsOrder, baseOrder) ? mineOrder : theirsOrder
  for (const side of [theirs, mine]) {
    // Every key before this one on its side is placed by now, so "right after it" is always found.
    side.forEach((key, i) => {
      if (!order.includes(key)) order.splice(i === 0 ? 0 : order.indexOf(side[i - 1]!) + 1, 0, key)
    })
  }
  return order
}

/** A list of items, by key. `parent` is the item the list belongs to (an endpoint's variables), if any. */
function mergeList<T extends Item>(
  merging: Merging,
  shape: ItemShape<T>,
  id: string,
  parent: string | null,
  base: T[],
  mine: T[],
  theirs: T[],
): T[] {
  const byKey = (items: T[]) => new Map(items.map((item) => [item.key, item]))
  const [baseItems, mineItems, theirsItems] = [byKey(base), byKey(mine), byKey(theirs)]
  const keys = (items: T[]) => items.map((item) => item.key)
  const merged: T[] = []
  for (const key of mergeOrder(keys(base), keys(mine), keys(theirs))) {
    const [b, m, t] = [baseItems.get(key), mineItems.get(key), theirsItems.get(key)]
    // Named as in base where it was there: the name both sides started from, whatever is chosen.
    const named = `${shape.word} “${shape.nameOf((b ?? m ?? t)!)}”`
    const place = { id: `${id}.${key}`, where: parent ? `${parent}: ${named}` : named }
    const inParent = parent ? ` in ${parent}` : ''
    const summary = (item: T | undefined) => (item ? shape.summarise(item) : null)
    if (m && t) {
      merged.push(mergeItem(merging, shape, place, b, m, t))
    } else if (m) {
      if (!b) {
        merging.keptFromMine.push(`kept your ${named}${inParent}`)
        merged.push(structuredClone(m))
      } else if (!sameItem(shape, b, m)) {
        const side = decide(merging, {
          ...place,
          kind: 'removed-by-theirs',
          base: summary(b),
          mine: summary(m),
          theirs: null,
        })
        if (side === 'mine') {
          merging.keptFromMine.push(`kept your ${named}${inParent}, which the new version removes`)
          merged.push(structuredClone(m))
        }
      }
    } else if (t) {
      if (!b) {
        merged.push(structuredClone(t))
      } else if (sameItem(shape, b, t)) {
        merging.keptFromMine.push(`kept your removal of ${named}${inParent}`)
      } else {
        const side = decide(merging, {
          ...place,
          kind: 'removed-by-mine',
          base: summary(b),
          mine: null,
          theirs: summary(t),
        })
        if (side === 'mine')
          merging.keptFromMine.push(`kept your removal of ${named}${inParent}, which the new version changes`)
        else merged.push(structuredClone(t))
      }
    }
  }
  return merged
}

/** An item both sides have, property by property; `base` is absent when both added it. */
function mergeItem<T extends Item>(
  merging: Merging,
  shape: ItemShape<T>,
  place: { id: string; where: string },
  base: T | undefined,
  mine: T,
  theirs: T,
): T {
  const merged: Record<string, unknown> = { key: theirs.key }
  for (const property of shape.properties) {
    const key = property.key as string
    const read = (item: T) => item[property.key] as Scalar
    const where = `${place.where}: ${property.word}`
    const value = mergeScalar(
      merging,
      { id: `${place.id}.${key}`, where, subject: where },
      base ? { value: read(base) } : null,
      read(mine),
      read(theirs),
      property.text,
    )
    if (value !== undefined) merged[key] = value
  }
  if (shape.list) {
    const key = shape.list.key as string
    const list = (item: T | undefined) => (item ? (item[shape.list!.key] as FieldSpec[]) : [])
    merged[key] = mergeList(
      merging,
      shape.list.shape,
      `${place.id}.${key}`,
      place.where,
      list(base),
      list(mine),
      list(theirs),
    )
  }
  return merged as T
}

/**
 * Merges the vendor's new version (`theirs`) into a customised connector (`mine`), both descended
 * from `base`. Conflicts go to `choices[id]`, or to theirs when unanswered. The result may need
 * checking with checkDefinition: a merge of two valid definitions is not always valid.
 */
export function mergeDefinitions(
  base: ConnectorDefinition,
  mine: ConnectorDefinition,
  theirs: ConnectorDefinition,
  choices: Record<string, MergeSide> = {},
): MergeResult {
  const merging: Merging = { choices, conflicts: [], keptFromMine: [] }
  const setting = <V extends Scalar>(id: string, word: string, read: (definition: ConnectorDefinition) => V) =>
    mergeScalar(
      merging,
      { id, where: `connector: ${word}`, subject: `the ${word}` },
      { value: read(base) },
      read(mine),
      read(theirs),
    )
  const definition: ConnectorDefinition = {
    protocol: setting('protocol', 'protocol', (d) => d.protocol),
    baseUrl: setting('baseUrl', 'base URL', (d) => d.baseUrl),
    dateFormat: setting('dateFormat', 'date format', (d) => d.dateFormat),
    rateLimit: {
      amount: setting('rateLimit.amount', 'rate limit (requests)', (d) => d.rateLimit.amount),
      unit: setting('rateLimit.unit', 'rate limit (per)', (d) => d.rateLimit.unit),
    },
    variables: mergeList(merging, VARIABLE_SHAPE, 'variables', null, base.variables, mine.variables, theirs.variables),
    authMethods: mergeList(
      merging,
      AUTH_METHOD_SHAPE,
      'authMethods',
      null,
      base.authMethods,
      mine.authMethods,
      theirs.authMethods,
    ),
    endpoints: mergeList(merging, ENDPOINT_SHAPE, 'endpoints', null, base.endpoints, mine.endpoints, theirs.endpoints),
  }
  const answered = (id: string) => choices[id] === 'mine' || choices[id] === 'theirs'
  return {
    definition,
    conflicts: merging.conflicts,
    unresolved: merging.conflicts.map((conflict) => conflict.id).filter((id) => !answered(id)),
    keptFromMine: merging.keptFromMine,
  }
}

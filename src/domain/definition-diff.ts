// What differs between two connector definitions, item by item (by key): the customisations of a
// modified connector against the marketplace version it is based on, a revision's changes, or what
// a vendor update changes. Pure functions: no database, no HTTP.
import type { AuthMethodSpec, ConnectorDefinition, EndpointSpec, FieldSpec } from './definition.js'
import { plural } from './words.js'

export interface ItemChange<T> {
  key: string
  /** The item's name (a variable's label), as it is after the change. */
  name: string
  before: T
  after: T
  /** The properties that differ, in the words of the screens ("URL", "endpoint variables"). */
  properties: string[]
}

export interface KindDiff<T> {
  added: T[]
  changed: ItemChange<T>[]
  removed: T[]
}

export const SETTINGS = ['protocol', 'baseUrl', 'dateFormat', 'rateLimit'] as const
export type Setting = (typeof SETTINGS)[number]

export interface SettingChange {
  setting: Setting
  before: string
  after: string
}

export interface DefinitionDiff {
  variables: KindDiff<FieldSpec>
  authMethods: KindDiff<AuthMethodSpec>
  endpoints: KindDiff<EndpointSpec>
  settings: SettingChange[]
}

const SETTING_WORDS: Record<Setting, string> = {
  protocol: 'protocol',
  baseUrl: 'base URL',
  dateFormat: 'date format',
  rateLimit: 'rate limit',
}

const VARIABLE_PROPERTIES: Record<keyof FieldSpec, string> = {
  key: 'key',
  label: 'label',
  secret: 'secret',
  required: 'required',
  default: 'default value',
}
const AUTH_METHOD_PROPERTIES: Record<keyof AuthMethodSpec, string> = {
  key: 'key',
  name: 'name',
  type: 'type',
  fields: 'fields',
}
const ENDPOINT_PROPERTIES: Record<keyof EndpointSpec, string> = {
  key: 'key',
  name: 'name',
  entity: 'entity',
  direction: 'direction',
  method: 'HTTP method',
  url: 'URL',
  variables: 'endpoint variables',
}

/** JSON with object keys sorted: jsonb stores keys in its own order, so key order means nothing. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined)
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`
  }
  return JSON.stringify(value)
}

/** Two values (items, definitions) that mean the same, whatever the order of their object keys. */
export const same = (a: unknown, b: unknown) => canonical(a) === canonical(b)

function diffItems<T extends { key: string }>(
  base: T[],
  current: T[],
  nameOf: (item: T) => string,
  properties: Record<string, string>,
): KindDiff<T> {
  const before = new Map(base.map((item) => [item.key, item]))
  const after = new Map(current.map((item) => [item.key, item]))
  const diff: KindDiff<T> = { added: [], changed: [], removed: [] }
  for (const item of current) {
    const old = before.get(item.key)
    if (!old) {
      diff.added.push(item)
      continue
    }
    const differing = Object.entries(properties)
      .filter(
        ([property]) => !same((old as Record<string, unknown>)[property], (item as Record<string, unknown>)[property]),
      )
      .map(([, word]) => word)
    if (differing.length)
      diff.changed.push({ key: item.key, name: nameOf(item), before: old, after: item, properties: differing })
  }
  for (const item of base) if (!after.has(item.key)) diff.removed.push(item)
  return diff
}

function settingText(definition: ConnectorDefinition, setting: Setting): string {
  if (setting === 'rateLimit') return `${definition.rateLimit.amount} requests per ${definition.rateLimit.unit}`
  return definition[setting]
}

/** The differences from `base` to `current`. Items are matched by key; their order does not matter. */
export function diffDefinitions(base: ConnectorDefinition, current: ConnectorDefinition): DefinitionDiff {
  return {
    variables: diffItems(base.variables, current.variables, (v) => v.label, VARIABLE_PROPERTIES),
    authMethods: diffItems(base.authMethods, current.authMethods, (a) => a.name, AUTH_METHOD_PROPERTIES),
    endpoints: diffItems(base.endpoints, current.endpoints, (e) => e.name, ENDPOINT_PROPERTIES),
    settings: SETTINGS.filter((setting) => !same(base[setting], current[setting])).map((setting) => ({
      setting,
      before: settingText(base, setting),
      after: settingText(current, setting),
    })),
  }
}

export function isUnchanged(diff: DefinitionDiff): boolean {
  return (
    diff.settings.length === 0 &&
    [diff.variables, diff.authMethods, diff.endpoints].every(
      (kind) => kind.added.length === 0 && kind.changed.length === 0 && kind.removed.length === 0,
    )
  )
}

function describeKind<T>(kind: KindDiff<T>, word: string, nameOf: (item: T) => string): string[] {
  return [
    ...kind.added.map((item) => `added ${word} ${nameOf(item)}`),
    ...kind.changed.map((change) => `changed ${word} ${change.name} (${change.properties.join(', ')})`),
    ...kind.removed.map((item) => `removed ${word} ${nameOf(item)}`),
  ]
}

/** One line per difference, e.g. "added endpoint Get refunds", "changed base URL from … to …". */
export function describeDiff(diff: DefinitionDiff): string[] {
  return [
    ...diff.settings.map(
      (s) => `changed ${SETTING_WORDS[s.setting]} from ${s.before || '(none)'} to ${s.after || '(none)'}`,
    ),
    ...describeKind(diff.variables, 'variable', (v) => v.label),
    ...describeKind(diff.authMethods, 'authentication method', (a) => a.name),
    ...describeKind(diff.endpoints, 'endpoint', (e) => e.name),
  ]
}

/** The differences as one line for a revision: the first few, then how many more. */
export function summariseDiff(diff: DefinitionDiff, limit = 3): string {
  const lines = describeDiff(diff)
  if (lines.length <= limit) return lines.join('; ')
  return `${lines.slice(0, limit).join('; ')}; and ${plural(lines.length - limit, 'more change', 'more changes')}`
}

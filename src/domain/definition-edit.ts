// Editing a connector definition: one edit's typed input (src/forms/definition.ts reads it from a
// form) → a definition item, a message per input path (`label`, `fields.0.key`), then the whole
// definition checked with checkDefinition and its problems put at those paths. The connector
// settings (connector wizard) and the connector builder share this module, so both say the same things.
import {
  AUTH_TYPES,
  DIRECTIONS,
  HTTP_METHODS,
  PROTOCOLS,
  checkDefinition,
  isMissingFirst,
  placeholdersIn,
  type AuthMethodSpec,
  type ConnectorDefinition,
  type DefinitionProblem,
  type EndpointSpec,
  type FieldSpec,
} from './definition.js'
import { RATE_LIMIT_UNITS } from './enums.js'
import { Invalid, NotFound } from './errors.js'
import { LIMITS, tooLongMessage } from './limits.js'

export type ItemKind = 'variable' | 'authMethod' | 'endpoint'

interface KindSpec {
  /** The word the screens use. */
  word: string
  list: 'variables' | 'authMethods' | 'endpoints'
  /** Repeated sub-fields: form names `<prefix>_key`, `<prefix>_label`, … ; the definition's list. */
  rows?: { prefix: string; list: 'fields' | 'variables'; word: string }
  example: string
}

export const ITEM_KINDS: Record<ItemKind, KindSpec> = {
  variable: { word: 'variable', list: 'variables', example: 'location_id' },
  authMethod: {
    word: 'authentication method',
    list: 'authMethods',
    rows: { prefix: 'field', list: 'fields', word: 'field' },
    example: 'api_key',
  },
  endpoint: {
    word: 'endpoint',
    list: 'endpoints',
    rows: { prefix: 'variable', list: 'variables', word: 'endpoint variable' },
    example: 'get_refunds',
  },
}

/** A connector variable, endpoint variable or authentication field, as entered (not checked yet). */
export interface FieldInput {
  key: string
  label: string
  secret: boolean
  required: boolean
  default: string
}
export interface AuthMethodInput {
  key: string
  name: string
  type: string
  fields: FieldInput[]
}
export interface EndpointInput {
  key: string
  name: string
  entity: string
  direction: string
  method: string
  url: string
  variables: FieldInput[]
}
/** A variable (FieldInput), authentication method or endpoint, as entered. */
export type ItemInput = FieldInput | AuthMethodInput | EndpointInput
/** A connector's name and basic details, as entered. */
export interface DetailsInput {
  name: string
  protocol: string
  baseUrl: string
  dateFormat: string
  rateLimitAmount: string
  rateLimitUnit: string
}

export type DefinitionEdit =
  | { kind: 'details'; input: DetailsInput }
  | { kind: ItemKind; action: 'add'; input: ItemInput }
  | { kind: ItemKind; action: 'change'; key: string; input: ItemInput }
  | { kind: ItemKind; action: 'remove'; key: string }

const KEY = new RegExp(`^[a-z][a-z0-9_]{0,${LIMITS.key - 1}}$`)

/** The input's top-level properties, which are also the names of the forms' fields. */
export const TOP_FIELDS: Record<ItemKind | 'details', string[]> = {
  variable: ['key', 'label', 'secret', 'required', 'default'],
  authMethod: ['key', 'name', 'type'],
  endpoint: ['key', 'name', 'entity', 'direction', 'method', 'url'],
  details: ['name', 'protocol', 'baseUrl', 'dateFormat', 'rateLimitAmount', 'rateLimitUnit'],
}

type Errors = Record<string, string>

function checkKey(key: string, field: string, example: string, errors: Errors) {
  if (!key) errors[field] = `Enter a key, e.g. ${example}.`
  else if (!KEY.test(key))
    errors[field] = `Use lower-case letters, digits and _, starting with a letter (at most ${LIMITS.key} characters).`
}

function checkText(value: string, field: string, what: string, max: number, errors: Errors) {
  if (!value) errors[field] = `Enter ${what}.`
  else if (value.length > max) errors[field] = tooLongMessage(max)
}

function oneOf<T extends string>(
  value: string,
  allowed: readonly T[],
  field: string,
  message: string,
  errors: Errors,
): T {
  if (!(allowed as readonly string[]).includes(value)) errors[field] = message
  return value as T
}

/** A field (connector variable, endpoint variable or authentication field) from its input. */
function readField(row: FieldInput, path: (property: string) => string, example: string, errors: Errors): FieldSpec {
  const key = row.key.trim()
  const label = row.label.trim()
  const defaultValue = row.default.trim()
  checkKey(key, path('key'), example, errors)
  checkText(label, path('label'), 'a label', LIMITS.label, errors)
  if (defaultValue.length > LIMITS.defaultValue) errors[path('default')] = tooLongMessage(LIMITS.defaultValue)
  return { key, label, secret: row.secret, required: row.required, ...(defaultValue ? { default: defaultValue } : {}) }
}

/** An item's sub-fields (authentication fields, endpoint variables); messages at `<list>.<i>.<property>`. */
function readRows(rows: FieldInput[], list: string, word: string, errors: Errors): FieldSpec[] {
  const seen = new Set<string>()
  return rows.map((row, i) => {
    const field = readField(row, (property) => `${list}.${i}.${property}`, 'api_token', errors)
    if (field.key && seen.has(field.key)) errors[`${list}.${i}.key`] = `Two ${word}s have the key ${field.key}.`
    seen.add(field.key)
    return field
  })
}

function readItem(
  kind: ItemKind,
  input: ItemInput,
  fixedKey: string | undefined,
  errors: Errors,
): FieldSpec | AuthMethodSpec | EndpointSpec {
  const spec = ITEM_KINDS[kind]
  const key = fixedKey ?? input.key.trim()
  if (fixedKey === undefined) checkKey(key, 'key', spec.example, errors)
  if (kind === 'variable') {
    const variable = input as FieldInput
    return readField({ ...variable, key }, (property) => property, spec.example, errors)
  }
  const item = input as AuthMethodInput | EndpointInput
  const name = item.name.trim()
  checkText(name, 'name', 'a name', LIMITS.label, errors)
  if (kind === 'authMethod') {
    const method = item as AuthMethodInput
    const fields = readRows(method.fields, 'fields', spec.rows!.word, errors)
    const type = oneOf(
      method.type,
      Object.keys(AUTH_TYPES) as (keyof typeof AUTH_TYPES)[],
      'type',
      'Choose a type of authentication.',
      errors,
    )
    return { key, name, type, fields }
  }
  const endpoint = item as EndpointInput
  const variables = readRows(endpoint.variables, 'variables', spec.rows!.word, errors)
  const entity = endpoint.entity.trim()
  checkText(entity, 'entity', 'the entity, e.g. Orders', LIMITS.entity, errors)
  const direction = oneOf(endpoint.direction, DIRECTIONS, 'direction', 'Choose receive or send.', errors)
  const method = oneOf(endpoint.method, HTTP_METHODS, 'method', 'Choose an HTTP method.', errors)
  const url = endpoint.url.trim()
  checkText(url, 'url', 'the URL, relative to the base URL, e.g. /orders', LIMITS.url, errors)
  return { key, name, entity, direction, method, url, variables }
}

function readDetails(input: DetailsInput, errors: Errors) {
  const name = input.name.trim()
  checkText(name, 'name', 'a name', LIMITS.label, errors)
  const protocol = oneOf(input.protocol, PROTOCOLS, 'protocol', 'Choose a protocol.', errors)
  const baseUrl = input.baseUrl.trim()
  if (baseUrl.length > LIMITS.url) errors.baseUrl = tooLongMessage(LIMITS.url)
  const dateFormat = input.dateFormat.trim()
  checkText(dateFormat, 'dateFormat', 'a date format, e.g. ISO 8601', LIMITS.dateFormat, errors)
  const amountText = input.rateLimitAmount.trim()
  const amount = Number(amountText)
  if (!/^\d+$/.test(amountText) || amount < 1 || amount > 1_000_000)
    errors.rateLimitAmount = 'Enter a whole number from 1 to 1000000.'
  const unit = oneOf(input.rateLimitUnit, RATE_LIMIT_UNITS, 'rateLimitUnit', 'Choose second, minute or hour.', errors)
  return { name, protocol, baseUrl, dateFormat, rateLimit: { amount, unit } }
}

const FRIENDLY: Record<string, string> = {
  '/endpoints': 'A connector needs at least one endpoint.',
  '/authMethods': 'A connector needs at least one authentication method.',
}

/** Where a problem is, in the words of the screens: "Endpoint “Get orders”: ". */
function placeOf(path: string, definition: ConnectorDefinition): string {
  const [listName, index] = path.split('/').filter(Boolean)
  const i = Number(index)
  if (listName === 'endpoints' && definition.endpoints[i]) return `Endpoint “${definition.endpoints[i]!.name}”: `
  if (listName === 'authMethods' && definition.authMethods[i])
    return `Authentication method “${definition.authMethods[i]!.name}”: `
  if (listName === 'variables' && definition.variables[i]) return `Variable “${definition.variables[i]!.label}”: `
  return ''
}

interface EditedItem {
  kind: ItemKind
  index: number
  rowCount: number
}

/** The form field a definition problem belongs to, and what to say there. */
function locate(
  problem: DefinitionProblem,
  edit: DefinitionEdit,
  edited: EditedItem | null,
  before: ConnectorDefinition,
  after: ConnectorDefinition,
): [string, string] {
  const segments = problem.path.split('/').filter(Boolean)
  const friendly =
    segments.length === 1 && FRIENDLY[problem.path] && /fewer than/.test(problem.message)
      ? FRIENDLY[problem.path]!
      : null
  if (friendly) return ['', friendly]
  const unknownPlaceholder = /^\{\{(\w+)\}\} is not a variable/.exec(problem.message)?.[1]
  if (edit.kind === 'details') {
    if (['protocol', 'baseUrl', 'dateFormat'].includes(segments[0]!)) return [segments[0]!, problem.message]
    if (segments[0] === 'rateLimit')
      return [segments[1] === 'unit' ? 'rateLimitUnit' : 'rateLimitAmount', problem.message]
    if (unknownPlaceholder && placeholdersIn(after.baseUrl).includes(unknownPlaceholder)) {
      return ['baseUrl', `{{${unknownPlaceholder}}} is not a variable of this connector.`]
    }
  } else if (edit.action === 'remove' && edit.kind === 'variable' && unknownPlaceholder === edit.key) {
    const label = before.variables.find((v) => v.key === edit.key)?.label ?? edit.key
    if (placeholdersIn(after.baseUrl).includes(edit.key))
      return ['', `Variable “${label}” is used in the base URL; change that first.`]
    const endpoint = segments[0] === 'endpoints' ? after.endpoints[Number(segments[1])] : undefined
    if (endpoint)
      return ['', `Variable “${label}” is used in the URL of endpoint “${endpoint.name}”; change that URL first.`]
  } else if (edited && segments[0] === ITEM_KINDS[edited.kind].list && Number(segments[1]) === edited.index) {
    const rows = ITEM_KINDS[edited.kind].rows
    if (rows && segments[2] === rows.list && segments[3] !== undefined) {
      const row = Number(segments[3])
      return [row < edited.rowCount ? `${rows.list}.${row}.${segments[4] ?? 'key'}` : '', problem.message]
    }
    if (segments[2] === 'url' && unknownPlaceholder) {
      return [
        'url',
        `{{${unknownPlaceholder}}} is not a variable of this connector or endpoint: add it as an endpoint variable below, or as a connector variable.`,
      ]
    }
    if (segments[2] && TOP_FIELDS[edited.kind].includes(segments[2])) return [segments[2], problem.message]
  }
  return ['', `${placeOf(problem.path, after)}${problem.message}`]
}

/**
 * Applies one form's edit to a connector's name and definition. Throws Invalid with a message per
 * form field, or NotFound for an item key the definition does not have. Changes nothing in place.
 */
export function applyEdit(
  current: { name: string; definition: ConnectorDefinition },
  edit: DefinitionEdit,
  options: { incomplete?: boolean } = {},
): { name: string; definition: ConnectorDefinition } {
  const definition = structuredClone(current.definition)
  let name = current.name
  let edited: EditedItem | null = null
  const errors: Errors = {}
  if (edit.kind === 'details') {
    const details = readDetails(edit.input, errors)
    if (Object.keys(errors).length) throw new Invalid(errors)
    name = details.name
    Object.assign(definition, {
      protocol: details.protocol,
      baseUrl: details.baseUrl,
      dateFormat: details.dateFormat,
      rateLimit: details.rateLimit,
    })
  } else {
    const spec = ITEM_KINDS[edit.kind]
    const items = definition[spec.list] as { key: string }[]
    const index = edit.action === 'add' ? items.length : items.findIndex((item) => item.key === edit.key)
    if (index === -1) throw new NotFound(`That ${spec.word}`)
    if (edit.action === 'remove') {
      items.splice(index, 1)
    } else {
      const item = readItem(edit.kind, edit.input, edit.action === 'change' ? edit.key : undefined, errors)
      if (edit.action === 'add' && !errors.key && items.some((existing) => existing.key === item.key)) {
        errors.key = `This connector already has a ${spec.word} with the key ${item.key}.`
      }
      if (Object.keys(errors).length) throw new Invalid(errors)
      items[index] = item
      edited = {
        kind: edit.kind,
        index,
        rowCount: 'fields' in item ? item.fields.length : 'variables' in item ? item.variables.length : 0,
      }
    }
  }
  // A draft in the connector builder may not have its first endpoint or authentication method yet.
  const problems = checkDefinition(definition).filter((p) => !(options.incomplete && isMissingFirst(p)))
  if (problems.length) {
    const general = new Set<string>()
    for (const problem of problems) {
      const [field, message] = locate(problem, edit, edited, current.definition, definition)
      if (field === '') general.add(message)
      else errors[field] ??= message
    }
    if (general.size) errors[''] = [...general].join(' ')
    throw new Invalid(errors)
  }
  return { name, definition }
}

// Editing a connector definition through forms: form input → definition item, a message per form
// field, then the whole definition checked with checkDefinition and its problems mapped back to the
// form's fields. The connector settings (connector wizard) and the connector builder share this
// module and the partials in views/shared/definition/, so both forms say the same things.
import {
  AUTH_TYPES, DIRECTIONS, HTTP_METHODS, PROTOCOLS, checkDefinition, isMissingFirst, placeholdersIn,
  type AuthMethodSpec, type ConnectorDefinition, type DefinitionProblem, type EndpointSpec, type FieldSpec,
} from './definition.js'
import { RATE_LIMIT_UNITS } from './enums.js'
import { Invalid, NotFound } from './errors.js'
import { LIMITS, tooLongMessage } from './limits.js'

/** A parsed form body: flat names, repeated names as arrays (formbody does not nest). */
export type FormInput = Record<string, string | string[] | undefined>

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
  authMethod: { word: 'authentication method', list: 'authMethods', rows: { prefix: 'field', list: 'fields', word: 'field' }, example: 'api_key' },
  endpoint: { word: 'endpoint', list: 'endpoints', rows: { prefix: 'variable', list: 'variables', word: 'endpoint variable' }, example: 'get_refunds' },
}

/** One sub-field row of a form (an authentication field or an endpoint variable), as typed. */
export interface RowValues { key: string; label: string; secret: boolean; required: boolean; default: string }

/** What a form shows: the values as typed, its sub-field rows, and a message per field ('' for the form). */
export interface FormState { values: Record<string, string>; rows: RowValues[]; errors: Record<string, string> }

export type DefinitionEdit =
  | { kind: 'details'; input: FormInput }
  | { kind: ItemKind; action: 'add'; input: FormInput }
  | { kind: ItemKind; action: 'change'; key: string; input: FormInput }
  | { kind: ItemKind; action: 'remove'; key: string }

/** Blank rows offered after the filled ones, so fields can be added without JavaScript. */
const BLANK_ROWS = 2

/**
 * How a form offers sub-field rows: `blankRows` after the filled ones (the connector builder offers
 * one, and an "add another" button); `addRow` adds one more to the rows as typed.
 */
export interface RowOptions { blankRows?: number; addRow?: boolean }
const KEY = new RegExp(`^[a-z][a-z0-9_]{0,${LIMITS.key - 1}}$`)

const TOP_FIELDS: Record<ItemKind | 'details', string[]> = {
  variable: ['key', 'label', 'secret', 'required', 'default'],
  authMethod: ['key', 'name', 'type'],
  endpoint: ['key', 'name', 'entity', 'direction', 'method', 'url'],
  details: ['name', 'protocol', 'baseUrl', 'dateFormat', 'rateLimitAmount', 'rateLimitUnit'],
}

function first(input: FormInput, name: string): string {
  const value = input[name]
  return (Array.isArray(value) ? value[0] : value) ?? ''
}

function list(input: FormInput, name: string): string[] {
  const value = input[name]
  return value === undefined ? [] : Array.isArray(value) ? value : [value]
}

const isYes = (value: string | undefined) => value === 'yes' || value === 'on' || value === 'true'
const blankRow = (): RowValues => ({ key: '', label: '', secret: false, required: false, default: '' })
const isBlank = (row: RowValues) => !row.key.trim() && !row.label.trim() && !row.default.trim()

function withBlankRows(rows: RowValues[], { blankRows = BLANK_ROWS, addRow = false }: RowOptions = {}): RowValues[] {
  if (addRow) return [...rows, blankRow()]
  let trailing = 0
  while (trailing < rows.length && isBlank(rows[rows.length - 1 - trailing]!)) trailing++
  return [...rows, ...Array.from({ length: Math.max(0, blankRows - trailing) }, blankRow)]
}

function rowsOfFields(fields: FieldSpec[], options?: RowOptions): RowValues[] {
  return withBlankRows(fields.map((f) => ({ key: f.key, label: f.label, secret: f.secret, required: f.required, default: f.default ?? '' })), options)
}

function rowsOfInput(input: FormInput, prefix: string): RowValues[] {
  const keys = list(input, `${prefix}_key`)
  const labels = list(input, `${prefix}_label`)
  const secrets = list(input, `${prefix}_secret`)
  const required = list(input, `${prefix}_required`)
  const defaults = list(input, `${prefix}_default`)
  const count = Math.max(keys.length, labels.length, defaults.length)
  return Array.from({ length: count }, (_, i) => ({
    key: keys[i] ?? '', label: labels[i] ?? '', secret: isYes(secrets[i]), required: isYes(required[i]), default: defaults[i] ?? '',
  }))
}

/** The basic details form, filled from the connector. */
export function detailsForm(name: string, definition: ConnectorDefinition): FormState {
  return {
    values: {
      name, protocol: definition.protocol, baseUrl: definition.baseUrl, dateFormat: definition.dateFormat,
      rateLimitAmount: String(definition.rateLimit.amount), rateLimitUnit: definition.rateLimit.unit,
    },
    rows: [],
    errors: {},
  }
}

/** A variable, authentication method or endpoint form, filled from the item (empty to add one). */
export function itemForm(kind: ItemKind, item?: FieldSpec | AuthMethodSpec | EndpointSpec, rowOptions?: RowOptions): FormState {
  if (kind === 'variable') {
    const v = item as FieldSpec | undefined
    return {
      values: { key: v?.key ?? '', label: v?.label ?? '', secret: v?.secret ? 'yes' : '', required: v?.required ? 'yes' : '', default: v?.default ?? '' },
      rows: [],
      errors: {},
    }
  }
  if (kind === 'authMethod') {
    const a = item as AuthMethodSpec | undefined
    return { values: { key: a?.key ?? '', name: a?.name ?? '', type: a?.type ?? 'basic' }, rows: rowsOfFields(a?.fields ?? [], rowOptions), errors: {} }
  }
  const e = item as EndpointSpec | undefined
  return {
    values: { key: e?.key ?? '', name: e?.name ?? '', entity: e?.entity ?? '', direction: e?.direction ?? 'receive', method: e?.method ?? 'GET', url: e?.url ?? '' },
    rows: rowsOfFields(e?.variables ?? [], rowOptions),
    errors: {},
  }
}

/** A submitted form shown again: the values as typed (rows keep their positions, so messages stay beside them). */
export function formFromInput(kind: ItemKind | 'details', input: FormInput, errors: Record<string, string> = {}, rowOptions?: RowOptions): FormState {
  const values = Object.fromEntries(TOP_FIELDS[kind].map((name) => [name, first(input, name)]))
  const rows = kind === 'details' || kind === 'variable' ? [] : withBlankRows(rowsOfInput(input, ITEM_KINDS[kind].rows!.prefix), rowOptions)
  return { values, rows, errors }
}

/** Texts an item's form asks for (its choices and yes/no answers have defaults, so they say nothing). */
const TYPED_FIELDS: Record<ItemKind, string[]> = {
  variable: ['key', 'label', 'default'],
  authMethod: ['key', 'name'],
  endpoint: ['key', 'name', 'entity', 'url'],
}

/** True when something was typed into an item's form: an item begun but not added. */
export function isItemFilled(kind: ItemKind, input: FormInput): boolean {
  if (TYPED_FIELDS[kind].some((name) => first(input, name).trim())) return true
  const rows = ITEM_KINDS[kind].rows
  return rows ? rowsOfInput(input, rows.prefix).some((row) => !isBlank(row)) : false
}

type Errors = Record<string, string>

function checkKey(key: string, field: string, example: string, errors: Errors) {
  if (!key) errors[field] = `Enter a key, e.g. ${example}.`
  else if (!KEY.test(key)) errors[field] = `Use lower-case letters, digits and _, starting with a letter (at most ${LIMITS.key} characters).`
}

function checkText(value: string, field: string, what: string, max: number, errors: Errors) {
  if (!value) errors[field] = `Enter ${what}.`
  else if (value.length > max) errors[field] = tooLongMessage(max)
}

function oneOf<T extends string>(value: string, allowed: readonly T[], field: string, message: string, errors: Errors): T {
  if (!(allowed as readonly string[]).includes(value)) errors[field] = message
  return value as T
}

/** A field (connector variable, endpoint variable or authentication field) from its form values. */
function readField(row: RowValues, name: (property: string) => string, example: string, errors: Errors): FieldSpec {
  const key = row.key.trim()
  const label = row.label.trim()
  const defaultValue = row.default.trim()
  checkKey(key, name('key'), example, errors)
  checkText(label, name('label'), 'a label', LIMITS.label, errors)
  if (defaultValue.length > LIMITS.defaultValue) errors[name('default')] = tooLongMessage(LIMITS.defaultValue)
  return { key, label, secret: row.secret, required: row.required, ...(defaultValue ? { default: defaultValue } : {}) }
}

/** The filled rows of a form as fields; `rowIndex[i]` is the form row of field i. */
function readRows(input: FormInput, prefix: string, word: string, errors: Errors): { fields: FieldSpec[]; rowIndex: number[] } {
  const fields: FieldSpec[] = []
  const rowIndex: number[] = []
  const seen = new Set<string>()
  rowsOfInput(input, prefix).forEach((row, i) => {
    if (isBlank(row)) return
    const field = readField(row, (property) => `${prefix}_${property}.${i}`, 'api_token', errors)
    if (field.key && seen.has(field.key)) errors[`${prefix}_key.${i}`] = `Two ${word}s have the key ${field.key}.`
    seen.add(field.key)
    fields.push(field)
    rowIndex.push(i)
  })
  return { fields, rowIndex }
}

function readItem(kind: ItemKind, input: FormInput, fixedKey: string | undefined, errors: Errors) {
  const spec = ITEM_KINDS[kind]
  const key = fixedKey ?? first(input, 'key').trim()
  if (fixedKey === undefined) checkKey(key, 'key', spec.example, errors)
  if (kind === 'variable') {
    const field = readField({
      key, label: first(input, 'label'), secret: isYes(first(input, 'secret')), required: isYes(first(input, 'required')), default: first(input, 'default'),
    }, (property) => property, spec.example, errors)
    return { item: field as FieldSpec | AuthMethodSpec | EndpointSpec, rowIndex: [] as number[] }
  }
  const name = first(input, 'name').trim()
  checkText(name, 'name', 'a name', LIMITS.label, errors)
  const { fields, rowIndex } = readRows(input, spec.rows!.prefix, spec.rows!.word, errors)
  if (kind === 'authMethod') {
    const type = oneOf(first(input, 'type'), Object.keys(AUTH_TYPES) as (keyof typeof AUTH_TYPES)[], 'type', 'Choose a type of authentication.', errors)
    return { item: { key, name, type, fields } as AuthMethodSpec, rowIndex }
  }
  const entity = first(input, 'entity').trim()
  checkText(entity, 'entity', 'the entity, e.g. Orders', LIMITS.entity, errors)
  const direction = oneOf(first(input, 'direction'), DIRECTIONS, 'direction', 'Choose receive or send.', errors)
  const method = oneOf(first(input, 'method'), HTTP_METHODS, 'method', 'Choose an HTTP method.', errors)
  const url = first(input, 'url').trim()
  checkText(url, 'url', 'the URL, relative to the base URL, e.g. /orders', LIMITS.url, errors)
  return { item: { key, name, entity, direction, method, url, variables: fields } as EndpointSpec, rowIndex }
}

function readDetails(input: FormInput, errors: Errors) {
  const name = first(input, 'name').trim()
  checkText(name, 'name', 'a name', LIMITS.label, errors)
  const protocol = oneOf(first(input, 'protocol'), PROTOCOLS, 'protocol', 'Choose a protocol.', errors)
  const baseUrl = first(input, 'baseUrl').trim()
  if (baseUrl.length > LIMITS.url) errors.baseUrl = tooLongMessage(LIMITS.url)
  const dateFormat = first(input, 'dateFormat').trim()
  checkText(dateFormat, 'dateFormat', 'a date format, e.g. ISO 8601', LIMITS.dateFormat, errors)
  const amountText = first(input, 'rateLimitAmount').trim()
  const amount = Number(amountText)
  if (!/^\d+$/.test(amountText) || amount < 1 || amount > 1_000_000) errors.rateLimitAmount = 'Enter a whole number from 1 to 1000000.'
  const unit = oneOf(first(input, 'rateLimitUnit'), RATE_LIMIT_UNITS, 'rateLimitUnit', 'Choose second, minute or hour.', errors)
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
  if (listName === 'authMethods' && definition.authMethods[i]) return `Authentication method “${definition.authMethods[i]!.name}”: `
  if (listName === 'variables' && definition.variables[i]) return `Variable “${definition.variables[i]!.label}”: `
  return ''
}

/** The choices the definition forms offer. */
export const DEFINITION_CHOICES = { protocols: PROTOCOLS, rateLimitUnits: RATE_LIMIT_UNITS, directions: DIRECTIONS, httpMethods: HTTP_METHODS, authTypes: AUTH_TYPES }

/** URL segment → the kind of definition item it edits (connector settings and the builder alike). */
export const ITEM_SEGMENTS: Record<string, ItemKind> = { variables: 'variable', 'auth-methods': 'authMethod', endpoints: 'endpoint' }

interface EditedItem { kind: ItemKind; index: number; rowIndex: number[] }

/** The form field a definition problem belongs to, and what to say there. */
function locate(problem: DefinitionProblem, edit: DefinitionEdit, edited: EditedItem | null, before: ConnectorDefinition, after: ConnectorDefinition): [string, string] {
  const segments = problem.path.split('/').filter(Boolean)
  const friendly = segments.length === 1 && FRIENDLY[problem.path] && /fewer than/.test(problem.message) ? FRIENDLY[problem.path]! : null
  if (friendly) return ['', friendly]
  const unknownPlaceholder = /^\{\{(\w+)\}\} is not a variable/.exec(problem.message)?.[1]
  if (edit.kind === 'details') {
    if (['protocol', 'baseUrl', 'dateFormat'].includes(segments[0]!)) return [segments[0]!, problem.message]
    if (segments[0] === 'rateLimit') return [segments[1] === 'unit' ? 'rateLimitUnit' : 'rateLimitAmount', problem.message]
    if (unknownPlaceholder && placeholdersIn(after.baseUrl).includes(unknownPlaceholder)) {
      return ['baseUrl', `{{${unknownPlaceholder}}} is not a variable of this connector.`]
    }
  } else if (edit.action === 'remove' && edit.kind === 'variable' && unknownPlaceholder === edit.key) {
    const label = before.variables.find((v) => v.key === edit.key)?.label ?? edit.key
    if (placeholdersIn(after.baseUrl).includes(edit.key)) return ['', `Variable “${label}” is used in the base URL; change that first.`]
    const endpoint = segments[0] === 'endpoints' ? after.endpoints[Number(segments[1])] : undefined
    if (endpoint) return ['', `Variable “${label}” is used in the URL of endpoint “${endpoint.name}”; change that URL first.`]
  } else if (edited && segments[0] === ITEM_KINDS[edited.kind].list && Number(segments[1]) === edited.index) {
    const rows = ITEM_KINDS[edited.kind].rows
    if (rows && segments[2] === rows.list && segments[3] !== undefined) {
      const row = edited.rowIndex[Number(segments[3])]
      return [row === undefined ? '' : `${rows.prefix}_${segments[4] ?? 'key'}.${row}`, problem.message]
    }
    if (segments[2] === 'url' && unknownPlaceholder) {
      return ['url', `{{${unknownPlaceholder}}} is not a variable of this connector or endpoint: add it as an endpoint variable below, or as a connector variable.`]
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
    Object.assign(definition, { protocol: details.protocol, baseUrl: details.baseUrl, dateFormat: details.dateFormat, rateLimit: details.rateLimit })
  } else {
    const spec = ITEM_KINDS[edit.kind]
    const items = definition[spec.list] as { key: string }[]
    const index = edit.action === 'add' ? items.length : items.findIndex((item) => item.key === edit.key)
    if (index === -1) throw new NotFound(`That ${spec.word}`)
    if (edit.action === 'remove') {
      items.splice(index, 1)
    } else {
      const { item, rowIndex } = readItem(edit.kind, edit.input, edit.action === 'change' ? edit.key : undefined, errors)
      if (edit.action === 'add' && !errors.key && items.some((existing) => existing.key === item.key)) {
        errors.key = `This connector already has a ${spec.word} with the key ${item.key}.`
      }
      if (Object.keys(errors).length) throw new Invalid(errors)
      items[index] = item
      edited = { kind: edit.kind, index, rowIndex }
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

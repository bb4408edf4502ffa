// The connector definition's forms (connector settings and the connector builder share them and the
// partials in views/partials/definition/): a form body → the typed input of one definition edit
// (blank sub-field rows dropped), the edit's error paths → the form's field names, and what a form
// shows (its values as typed, its rows, its messages).
import {
  AUTH_TYPES,
  DIRECTIONS,
  HTTP_METHODS,
  PROTOCOLS,
  type AuthMethodSpec,
  type ConnectorDefinition,
  type EndpointSpec,
  type FieldSpec,
} from '../domain/definition.js'
import { RATE_LIMIT_UNITS } from '../domain/enums.js'
import {
  ITEM_KINDS,
  TOP_FIELDS,
  type AuthMethodInput,
  type DefinitionEdit,
  type DetailsInput,
  type EndpointInput,
  type FieldInput,
  type ItemInput,
  type ItemKind,
} from '../domain/definition-edit.js'
import type { FieldMessages } from './submit.js'

/** A parsed form body: flat names, repeated names as arrays (formbody does not nest). */
export type FormInput = Record<string, string | string[] | undefined>

/** One sub-field row of a form (an authentication field or an endpoint variable), as typed. */
export type RowValues = FieldInput

/** What a form shows: the values as typed, its sub-field rows, and a message per field ('' for the form). */
export interface FormState {
  values: Record<string, string>
  rows: RowValues[]
  errors: Record<string, string>
}

/** The choices the definition forms offer. */
export const DEFINITION_CHOICES = {
  protocols: PROTOCOLS,
  rateLimitUnits: RATE_LIMIT_UNITS,
  directions: DIRECTIONS,
  httpMethods: HTTP_METHODS,
  authTypes: AUTH_TYPES,
}

/** URL segment → the kind of definition item its forms edit (connector settings and the builder alike). */
export const ITEM_SEGMENTS: Record<string, ItemKind> = {
  variables: 'variable',
  'auth-methods': 'authMethod',
  endpoints: 'endpoint',
}

/** Blank rows offered after the filled ones, so fields can be added without JavaScript. */
const BLANK_ROWS = 2

/**
 * How a form offers sub-field rows: `blankRows` after the filled ones (the connector builder offers
 * one, and an "add another" button); `addRow` adds one more to the rows as typed.
 */
export interface RowOptions {
  blankRows?: number
  addRow?: boolean
}

export function first(input: FormInput, name: string): string {
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
  return withBlankRows(
    fields.map((f) => ({
      key: f.key,
      label: f.label,
      secret: f.secret,
      required: f.required,
      default: f.default ?? '',
    })),
    options,
  )
}

function rowsOfInput(input: FormInput, prefix: string): RowValues[] {
  const keys = list(input, `${prefix}_key`)
  const labels = list(input, `${prefix}_label`)
  const secrets = list(input, `${prefix}_secret`)
  const required = list(input, `${prefix}_required`)
  const defaults = list(input, `${prefix}_default`)
  const count = Math.max(keys.length, labels.length, defaults.length)
  return Array.from({ length: count }, (_, i) => ({
    key: keys[i] ?? '',
    label: labels[i] ?? '',
    secret: isYes(secrets[i]),
    required: isYes(required[i]),
    default: defaults[i] ?? '',
  }))
}

/** The basic details form, filled from the connector. */
export function detailsForm(name: string, definition: ConnectorDefinition): FormState {
  return {
    values: {
      name,
      protocol: definition.protocol,
      baseUrl: definition.baseUrl,
      dateFormat: definition.dateFormat,
      rateLimitAmount: String(definition.rateLimit.amount),
      rateLimitUnit: definition.rateLimit.unit,
    },
    rows: [],
    errors: {},
  }
}

/** A variable, authentication method or endpoint form, filled from the item (empty to add one). */
export function itemForm(
  kind: ItemKind,
  item?: FieldSpec | AuthMethodSpec | EndpointSpec,
  rowOptions?: RowOptions,
): FormState {
  if (kind === 'variable') {
    const v = item as FieldSpec | undefined
    return {
      values: {
        key: v?.key ?? '',
        label: v?.label ?? '',
        secret: v?.secret ? 'yes' : '',
        required: v?.required ? 'yes' : '',
        default: v?.default ?? '',
      },
      rows: [],
      errors: {},
    }
  }
  if (kind === 'authMethod') {
    const a = item as AuthMethodSpec | undefined
    return {
      values: { key: a?.key ?? '', name: a?.name ?? '', type: a?.type ?? 'basic' },
      rows: rowsOfFields(a?.fields ?? [], rowOptions),
      errors: {},
    }
  }
  const e = item as EndpointSpec | undefined
  return {
    values: {
      key: e?.key ?? '',
      name: e?.name ?? '',
      entity: e?.entity ?? '',
      direction: e?.direction ?? 'receive',
      method: e?.method ?? 'GET',
      url: e?.url ?? '',
    },
    rows: rowsOfFields(e?.variables ?? [], rowOptions),
    errors: {},
  }
}

/** A submitted form shown again: the values as typed (rows keep their positions, so messages stay beside them). */
export function formFromInput(
  kind: ItemKind | 'details',
  input: FormInput,
  errors: Record<string, string> = {},
  rowOptions?: RowOptions,
): FormState {
  const values = Object.fromEntries(TOP_FIELDS[kind].map((name) => [name, first(input, name)]))
  const rows =
    kind === 'details' || kind === 'variable'
      ? []
      : withBlankRows(rowsOfInput(input, ITEM_KINDS[kind].rows!.prefix), rowOptions)
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

/** A form's edit as typed input, and where each of its filled sub-field rows is in the form. */
export interface ReadEdit<Edit> {
  edit: Edit
  rowIndex: number[]
}

function readRows(input: FormInput, kind: ItemKind): { rows: FieldInput[]; rowIndex: number[] } {
  const prefix = ITEM_KINDS[kind].rows?.prefix
  const rows: FieldInput[] = []
  const rowIndex: number[] = []
  if (prefix) {
    rowsOfInput(input, prefix).forEach((row, i) => {
      if (isBlank(row)) return
      rows.push(row)
      rowIndex.push(i)
    })
  }
  return { rows, rowIndex }
}

/** A variable, authentication method or endpoint form → its typed input (blank rows left out). */
export function itemInput(kind: ItemKind, input: FormInput): { input: ItemInput; rowIndex: number[] } {
  const text = (name: string) => first(input, name)
  if (kind === 'variable') {
    const variable = {
      key: text('key'),
      label: text('label'),
      secret: isYes(text('secret')),
      required: isYes(text('required')),
      default: text('default'),
    }
    return { input: variable, rowIndex: [] }
  }
  const { rows, rowIndex } = readRows(input, kind)
  if (kind === 'authMethod')
    return {
      input: { key: text('key'), name: text('name'), type: text('type'), fields: rows } satisfies AuthMethodInput,
      rowIndex,
    }
  const endpoint: EndpointInput = {
    key: text('key'),
    name: text('name'),
    entity: text('entity'),
    direction: text('direction'),
    method: text('method'),
    url: text('url'),
    variables: rows,
  }
  return { input: endpoint, rowIndex }
}

/** The basic details form → its typed input. */
export function detailsInput(input: FormInput): DetailsInput {
  const text = (name: string) => first(input, name)
  return {
    name: text('name'),
    protocol: text('protocol'),
    baseUrl: text('baseUrl'),
    dateFormat: text('dateFormat'),
    rateLimitAmount: text('rateLimitAmount'),
    rateLimitUnit: text('rateLimitUnit'),
  }
}

type FormEdit =
  { kind: 'details' } | { kind: ItemKind; action: 'add' } | { kind: ItemKind; action: 'change'; key: string }

/** One definition form's edit, from its body. */
export function definitionEdit(form: FormEdit, input: FormInput): ReadEdit<DefinitionEdit> {
  if (form.kind === 'details') return { edit: { kind: 'details', input: detailsInput(input) }, rowIndex: [] }
  const item = itemInput(form.kind, input)
  return { edit: { ...form, input: item.input }, rowIndex: item.rowIndex }
}

/**
 * An edit's messages keyed by the form's fields: a sub-field row's path (`fields.0.key`,
 * `variables.1.label`) becomes its form field (`field_key.2`: the form row, blank rows counted).
 */
export function fieldNamesOf(kind: ItemKind | 'details', rowIndex: number[]) {
  const rows = kind === 'details' ? undefined : ITEM_KINDS[kind].rows
  return (errors: FieldMessages): FieldMessages =>
    Object.fromEntries(
      Object.entries(errors).map(([path, message]) => {
        const match = rows ? /^(\w+)\.(\d+)\.(\w+)$/.exec(path) : null
        if (!rows || !match || match[1] !== rows.list) return [path, message]
        return [`${rows.prefix}_${match[3]}.${rowIndex[Number(match[2])]}`, message]
      }),
    )
}

/** A validated form body as the functions above read it: texts, repeated texts, numbers as typed. */
export function formInput(body: object): FormInput {
  return Object.fromEntries(
    Object.entries(body).flatMap(([name, value]): [string, string | string[]][] => {
      if (typeof value === 'string' || typeof value === 'number') return [[name, String(value)]]
      return Array.isArray(value) ? [[name, value.map(String)]] : []
    }),
  )
}

// An instance's details and values: the defaults, the time zones offered, and the check each step of
// the add new instance wizard (and the instance settings) makes before anything is saved.
import type { ConnectorDefinition } from './definition.js'
import { RATE_LIMIT_UNITS } from './enums.js'
import { Invalid } from './errors.js'
import type { InstanceField } from './instance-fields.js'
import { LIMITS, tooLongMessage } from './limits.js'
import { offeredTimeZone } from './time-zones.js'

export { TIME_ZONES } from './time-zones.js'

export interface InstanceDetails {
  name: string
  timeZone: string
  dateFormat: string
  rateLimitAmount: string
  rateLimitUnit: string
}

export function defaultDetails(definition: ConnectorDefinition): InstanceDetails {
  return {
    name: '',
    timeZone: 'UTC',
    dateFormat: definition.dateFormat,
    rateLimitAmount: String(definition.rateLimit.amount),
    rateLimitUnit: definition.rateLimit.unit,
  }
}

/** Step one of the wizard: the name. */
export function checkName(name: string): Record<string, string> {
  const trimmed = name.trim()
  if (!trimmed) return { name: 'Enter a name for this instance, e.g. "Shopify - UK".' }
  if (trimmed.length > LIMITS.instanceName) return { name: tooLongMessage(LIMITS.instanceName) }
  return {}
}

/** Step two: time zone, date format and rate limit. */
export function checkSettings(details: InstanceDetails): Record<string, string> {
  const errors: Record<string, string> = {}
  if (!offeredTimeZone(details.timeZone)) errors.timeZone = 'Choose a time zone from the list.'
  if (!details.dateFormat.trim()) errors.dateFormat = 'Enter a date format, e.g. Y-m-d H:i:s.'
  else if (details.dateFormat.length > LIMITS.dateFormat) errors.dateFormat = tooLongMessage(LIMITS.dateFormat)
  const amount = Number(details.rateLimitAmount)
  if (!/^\d+$/.test(details.rateLimitAmount.trim()) || !Number.isInteger(amount) || amount < 1 || amount > 1_000_000) {
    errors.rateLimitAmount = 'Enter a whole number of requests from 1 to 1,000,000.'
  }
  if (!(RATE_LIMIT_UNITS as readonly string[]).includes(details.rateLimitUnit))
    errors.rateLimitUnit = 'Choose second, minute or hour.'
  return errors
}

export function checkAuthMethod(definition: ConnectorDefinition, key: string): Record<string, string> {
  return definition.authMethods.some((m) => m.key === key)
    ? {}
    : { authMethod: "Choose one of this connector's authentication methods." }
}

/**
 * Step four: the values the method and the connector ask for. A secret left blank keeps the stored
 * one when there is one (instance settings); a required field must have a value.
 */
export function checkValues(
  fields: InstanceField[],
  values: Record<string, string | undefined>,
  storedSecrets: Record<string, string> = {},
) {
  const errors: Record<string, string> = {}
  for (const field of fields) {
    const value = values[field.name] ?? ''
    if (value.length > LIMITS.instanceValue) errors[field.name] = tooLongMessage(LIMITS.instanceValue)
    else if (field.required && !value.trim() && !(field.secret && storedSecrets[field.name]))
      errors[field.name] = `Enter ${field.label}.`
  }
  return errors
}

export function splitValues(
  fields: InstanceField[],
  values: Record<string, string | undefined>,
  storedSecrets: Record<string, string>,
) {
  const settings: Record<string, string> = {}
  const secrets: Record<string, string> = {}
  for (const field of fields) {
    const value = values[field.name] ?? ''
    if (field.secret) {
      if (value) secrets[field.name] = value
      else if (storedSecrets[field.name]) secrets[field.name] = storedSecrets[field.name]!
    } else if (value !== '' || field.default === undefined) {
      settings[field.name] = value
    } else {
      settings[field.name] = field.default
    }
  }
  return { settings, secrets }
}

export function assertValid(errors: Record<string, string>) {
  if (Object.keys(errors).length) throw new Invalid(errors)
}

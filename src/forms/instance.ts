// The instance forms (the add new instance wizard and the instance settings): a form body → the
// typed input of the instance commands, and each of their messages → the wizard step that asks for it.
import type { ConnectorDefinition } from '../domain/definition.js'
import { defaultDetails, type InstanceDetails } from '../domain/instance-details.js'
import type { NewInstance } from '../domain/instances.js'

/** The add new instance wizard's steps, in order. */
export const WIZARD_STEPS = ['name', 'settings', 'authentication', 'credentials'] as const
export type WizardStep = (typeof WIZARD_STEPS)[number]

/** An instance form's body: its known fields and the `auth.<key>` / `var.<key>` values. */
export type InstanceForm = Record<string, string | undefined>

/** The wizard step that asks for a field. */
export function stepOf(field: string): WizardStep {
  if (field === 'name') return 'name'
  if (['timeZone', 'dateFormat', 'rateLimitAmount', 'rateLimitUnit'].includes(field)) return 'settings'
  if (field === 'authMethod') return 'authentication'
  return 'credentials'
}

/** The wizard's input so far: what was entered, the connector's defaults for the steps not reached. */
export function newInstanceInput(body: InstanceForm, definition: ConnectorDefinition): NewInstance {
  const defaults = defaultDetails(definition)
  return {
    name: body.name ?? defaults.name,
    timeZone: body.timeZone ?? defaults.timeZone,
    dateFormat: body.dateFormat ?? defaults.dateFormat,
    rateLimitAmount: body.rateLimitAmount ?? defaults.rateLimitAmount,
    rateLimitUnit: body.rateLimitUnit ?? defaults.rateLimitUnit,
    authMethod: body.authMethod ?? definition.authMethods[0]!.key,
    values: valuesOf(body),
  }
}

/** The settings page's details form. */
export function detailsInput(body: InstanceForm): InstanceDetails {
  return {
    name: body.name ?? '',
    timeZone: body.timeZone ?? '',
    dateFormat: body.dateFormat ?? '',
    rateLimitAmount: body.rateLimitAmount ?? '',
    rateLimitUnit: body.rateLimitUnit ?? '',
  }
}

/** The authentication and variable values entered (`auth.<key>`, `var.<key>`). */
export function valuesOf(body: InstanceForm): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(body).filter(([k]) => k.startsWith('auth.') || k.startsWith('var.')))
}

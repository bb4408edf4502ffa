// The longest text each form field takes. The domain checks refuse more with a message beside the
// field (never a schema error), and every template gives the same number as the field's maxlength
// (views get LIMITS as `it.limits`), so a browser stops typing where the server would refuse.

export const LIMITS = {
  /** A search box (`?q=`): longer searches use their first this many characters. */
  search: 200,
  /** RFC 5321's longest address; sign-in refuses longer ones too (src/domain/users.ts). */
  email: 254,
  password: 1000,
  /** A person's name (settings > users). */
  personName: 120,
  /** The word typed to confirm a removal. */
  confirm: 100,
  processFlowName: 120,
  instanceName: 100,
  /** A value an instance gives an authentication field or a variable. */
  instanceValue: 4000,
  /** Connector name, variable label, authentication method name, endpoint name. */
  label: 120,
  /** Keys of variables, authentication methods, endpoints and their fields. */
  key: 63,
  defaultValue: 500,
  entity: 80,
  url: 2000,
  dateFormat: 40,
  version: 40,
  description: 1000,
  /** What "move instances in stages" appends to the moved instances' names. */
  suffix: 100,
} as const

export type LimitedField = keyof typeof LIMITS

/** "Use at most 1,000 characters." */
export function tooLongMessage(max: number): string {
  return `Use at most ${max.toLocaleString('en-GB')} characters.`
}

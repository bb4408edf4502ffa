// The fields an instance asks for, from its connector's definition and authentication method.
import type { AuthMethodSpec, ConnectorDefinition, FieldSpec } from './definition.js'

/** One field an instance asks for: an authentication field or a connector variable. */
export interface InstanceField extends FieldSpec {
  /** The form and storage name: `auth.<key>` or `var.<key>`. */
  name: string
  group: 'authentication' | 'variables'
}

export function fieldsFor(definition: ConnectorDefinition, method: AuthMethodSpec | undefined): InstanceField[] {
  return [
    ...(method?.fields ?? []).map((f) => ({ ...f, name: `auth.${f.key}`, group: 'authentication' as const })),
    ...definition.variables.map((v) => ({ ...v, name: `var.${v.key}`, group: 'variables' as const })),
  ]
}

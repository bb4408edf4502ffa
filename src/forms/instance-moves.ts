// The forms of moving instances in stages (the picker and the preview): a body → the typed choices
// of the plan, and the plan's messages split between the two forms.
import { isId } from '../domain/ids.js'
import type { MigrationChoices } from '../domain/instance-moves/index.js'

/** The picker's and the preview's body: known fields plus `flow.<instanceId>`, `authMethod.<instanceId>`, `endpoint.<shapeId>`. */
export type MigrationForm = Record<string, string | string[] | undefined>

const listOf = (value: string | string[] | undefined): string[] => (value === undefined ? [] : [value].flat())

/** Values of the fields named `<prefix>.<id>`, by id. */
function byId(body: MigrationForm, prefix: string): Record<string, string[]> {
  return Object.fromEntries(
    Object.entries(body)
      .filter(([key]) => key.startsWith(`${prefix}.`) && isId(key.slice(prefix.length + 1)))
      .map(([key, value]) => [key.slice(prefix.length + 1), listOf(value)]),
  )
}

const firstOf = (lists: Record<string, string[]>) =>
  Object.fromEntries(Object.entries(lists).map(([id, values]) => [id, values[0] ?? '']))

export function migrationChoices(body: MigrationForm): MigrationChoices {
  return {
    fromConnectorId: typeof body.from === 'string' && body.from ? body.from : undefined,
    instanceIds: listOf(body.instance),
    flowIds: byId(body, 'flow'),
    suffix: typeof body.suffix === 'string' ? body.suffix : '',
    authMethods: firstOf(byId(body, 'authMethod')),
    endpoints: firstOf(byId(body, 'endpoint')),
  }
}

/** The messages of the fields `keep` accepts (the picker's, or the preview's). */
export const fieldsWhere = (errors: Record<string, string>, keep: (field: string) => boolean) =>
  Object.fromEntries(Object.entries(errors).filter(([field]) => keep(field)))

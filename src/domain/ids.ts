// Ids are UUIDs: anything else can name nothing, so it is "not found" without asking the database.
export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'
const UUID = new RegExp(UUID_PATTERN)

export function isId(value: string | undefined | null): value is string {
  return typeof value === 'string' && UUID.test(value)
}

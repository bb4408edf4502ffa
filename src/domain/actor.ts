// Who is acting: every domain function takes one and scopes all it reads and writes to its company.
import type { Role } from './enums.js'
import { Forbidden } from './errors.js'

export interface Actor {
  id: string
  companyId: string
  name: string
  email: string
  role: Role
}

/** What each role may do (PRODUCT.md, "Roles"). */
export const PERMISSIONS = {
  /** install, modify, update, remove connectors; build custom connectors */
  manageConnectors: ['administrator', 'manager'],
  /** add, change and remove instances; process flows and their shapes */
  manageInstances: ['administrator', 'manager', 'user'],
  manageUsers: ['administrator'],
} as const satisfies Record<string, readonly Role[]>

export type Permission = keyof typeof PERMISSIONS

export function can(actor: Pick<Actor, 'role'>, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly Role[]).includes(actor.role)
}

export function requirePermission(actor: Actor, permission: Permission): void {
  if (!can(actor, permission)) throw new Forbidden()
}

// The one access policy: every route and every stream path asks here, nothing re-implements it.
// Reads a caller may not make look like missing data (404); actions a role may never take are 403.
import type { Caller } from './types.ts'

export interface FamilyLinks {
  isLinked(parentId: string, childId: string): Promise<boolean>
}

/** Actions decided by role alone. */
export type RoleAction = 'delete_history' | 'manage_animals' | 'manage_families' | 'list_any_user' | 'list_by_animal' | 'read_analytics'

const ROLE_ACTIONS: Record<Caller['role'], ReadonlySet<RoleAction>> = {
  user: new Set(),
  parent: new Set(),
  zookeeper: new Set(['manage_animals', 'list_any_user', 'list_by_animal', 'read_analytics']),
  admin: new Set(['delete_history', 'manage_animals', 'manage_families', 'list_any_user', 'list_by_animal', 'read_analytics']),
}

export function mayDo(caller: Caller, action: RoleAction): boolean {
  return ROLE_ACTIONS[caller.role].has(action)
}

/** May the caller read conversations that belong to `ownerId`? (Families are read from storage each time.) */
export async function mayReadUser(caller: Caller, ownerId: string, families: FamilyLinks): Promise<boolean> {
  if (caller.sub === ownerId || mayDo(caller, 'list_any_user')) return true
  return caller.role === 'parent' && families.isLinked(caller.sub, ownerId)
}

/** Deleting all of a user's data at once: admins, and that child's linked parent. */
export async function mayEraseUser(caller: Caller, userId: string, families: FamilyLinks): Promise<boolean> {
  if (mayDo(caller, 'delete_history')) return true
  return caller.role === 'parent' && families.isLinked(caller.sub, userId)
}

/**
 * Whose safety events the caller may list: everyone's (`'all'`: zookeepers, admins), or a
 * parent's own and linked children's; undefined for users, who may not list them at all.
 */
export async function safetyEventReaders(caller: Caller, families: FamilyLinks & { listChildren(parentId: string): Promise<string[]> }): Promise<'all' | string[] | undefined> {
  if (mayDo(caller, 'list_any_user')) return 'all'
  if (caller.role !== 'parent') return undefined
  return [caller.sub, ...(await families.listChildren(caller.sub))]
}

/** Cancelling changes a turn, so only its owner (or an admin) may; parents and zookeepers read only. */
export function mayCancel(caller: Caller, ownerId: string): boolean {
  return caller.sub === ownerId || caller.role === 'admin'
}

/** A family (a parent's linked children) is visible to admins and to that parent. */
export function mayReadFamily(caller: Caller, parentId: string): boolean {
  return mayDo(caller, 'manage_families') || (caller.role === 'parent' && caller.sub === parentId)
}

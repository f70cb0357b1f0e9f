import type { Database } from 'better-sqlite3';
import type { AuthorizationsView, RoleView } from '../protocol/index.js';
import { AuthorityError } from './errors.js';

/** The owner's side of DESIGN §7: partner grants, space roles with data permissions, members. */
export interface RoleInput {
  name: string;
  canUnbind: boolean;
  allProducts: boolean;
  pids: string[];
}

export interface Authorizations {
  ensureSpace(ownerId: string): string;
  view(ownerId: string): AuthorizationsView;
  grantPartner(ownerId: string, pid: string, accountId: string, now: number): void;
  revokePartner(ownerId: string, pid: string, accountId: string, now: number): void;
  createRole(ownerId: string, role: RoleInput, kind?: RoleView['kind'], id?: string): RoleView;
  setMember(ownerId: string, accountId: string, roleId: string, now: number): void;
  removeMember(ownerId: string, accountId: string): void;
}

// Built-in roles: both carry the unbind permission; Administrator covers every product.
export const builtInRoles = (spaceId: string): RoleView[] => [
  { roleId: `${spaceId}-after-sale`, name: 'After-sale', kind: 'after-sale', canUnbind: true, allProducts: false, pids: [] },
  { roleId: `${spaceId}-admin`, name: 'Administrator', kind: 'administrator', canUnbind: true, allProducts: true, pids: [] },
];
export const spaceIdOf = (ownerId: string): string => `sp-${ownerId}`;

export function createAuthorizations(db: Database): Authorizations {
  const q = {
    space: db.prepare<[string], { id: string }>('SELECT id FROM spaces WHERE owner_id = ?'),
    insertSpace: db.prepare('INSERT INTO spaces (id, owner_id) VALUES (?, ?)'),
    insertRole: db.prepare('INSERT INTO roles (id, space_id, name, kind, can_unbind, all_products) VALUES (?, ?, ?, ?, ?, ?)'),
    productOwner: db.prepare<[string], { owner_id: string }>('SELECT owner_id FROM products WHERE pid = ?'),
    accountExists: db.prepare<[string], { id: string }>('SELECT id FROM accounts WHERE id = ?'),
    activeGrant: db.prepare<[string, string], { id: number }>(
      'SELECT id FROM partner_grants WHERE pid = ? AND account_id = ? AND revoked_at IS NULL',
    ),
    insertGrant: db.prepare('INSERT INTO partner_grants (pid, account_id, granted_at) VALUES (?, ?, ?)'),
    revokeGrant: db.prepare('UPDATE partner_grants SET revoked_at = ? WHERE id = ?'),
    partners: db.prepare<[string], { pid: string; account_id: string; granted_at: number }>(
      `SELECT g.pid, g.account_id, g.granted_at FROM partner_grants g JOIN products p ON p.pid = g.pid
        WHERE p.owner_id = ? AND g.revoked_at IS NULL ORDER BY g.pid, g.account_id`,
    ),
    roles: db.prepare<[string], { id: string; name: string; kind: RoleView['kind']; can_unbind: number; all_products: number; pids: string | null }>(
      `SELECT r.id, r.name, r.kind, r.can_unbind, r.all_products,
              (SELECT json_group_array(pid) FROM (SELECT pid FROM role_products WHERE role_id = r.id ORDER BY pid)) AS pids
         FROM roles r WHERE r.space_id = ? ORDER BY r.id`,
    ),
    role: db.prepare<[string, string], { id: string }>('SELECT id FROM roles WHERE id = ? AND space_id = ?'),
    members: db.prepare<[string], { account_id: string; role_id: string; since: number }>(
      'SELECT account_id, role_id, since FROM space_members WHERE space_id = ? ORDER BY account_id',
    ),
    upsertMember: db.prepare(
      `INSERT INTO space_members (space_id, account_id, role_id, since) VALUES (?, ?, ?, ?)
       ON CONFLICT (space_id, account_id) DO UPDATE SET role_id = excluded.role_id, since = excluded.since`,
    ),
    deleteMember: db.prepare('DELETE FROM space_members WHERE space_id = ? AND account_id = ?'),
  };

  function requireOwnProduct(ownerId: string, pid: string): void {
    const p = q.productOwner.get(pid);
    if (!p) throw new AuthorityError(404, 'PRODUCT_UNKNOWN', `no product ${pid}`);
    if (p.owner_id !== ownerId) throw new AuthorityError(403, 'NOT_OWNER', `only the owner of ${pid} may change who unbinds it`);
  }
  function requireAccount(accountId: string): void {
    if (!q.accountExists.get(accountId)) throw new AuthorityError(404, 'ACCOUNT_UNKNOWN', `no account ${accountId}`);
  }


  /**
   * The owner's space, created on first need. Only writes call it, each inside its own transaction,
   * so a refused write rolls the new space back with everything else; reads never create one.
   */
  function ensureSpace(ownerId: string): string {
    const existing = q.space.get(ownerId);
    if (existing) return existing.id;
    const id = spaceIdOf(ownerId);
    q.insertSpace.run(id, ownerId);
    for (const r of builtInRoles(id)) q.insertRole.run(r.roleId, id, r.name, r.kind, r.canUnbind ? 1 : 0, r.allProducts ? 1 : 0);
    return id;
  }

  function roleViews(spaceId: string): RoleView[] {
    return q.roles.all(spaceId).map((r) => ({
      roleId: r.id,
      name: r.name,
      kind: r.kind,
      canUnbind: r.can_unbind === 1,
      allProducts: r.all_products === 1,
      pids: r.pids ? (JSON.parse(r.pids) as string[]) : [],
    }));
  }

  return {
    ensureSpace: (ownerId) => db.transaction(() => ensureSpace(ownerId))(),
    view(ownerId) {
      const spaceId = q.space.get(ownerId)?.id;
      return {
        partners: q.partners.all(ownerId).map((g) => ({ pid: g.pid, accountId: g.account_id, grantedAt: new Date(g.granted_at).toISOString() })),
        // A space not created yet is shown as it will be: its built-in roles and no members.
        roles: spaceId ? roleViews(spaceId) : builtInRoles(spaceIdOf(ownerId)),
        members: spaceId ? q.members.all(spaceId).map((m) => ({ accountId: m.account_id, roleId: m.role_id, since: new Date(m.since).toISOString() })) : [],
      };
    },
    grantPartner(ownerId, pid, accountId, now) {
      requireOwnProduct(ownerId, pid);
      requireAccount(accountId);
      if (accountId === ownerId) throw new AuthorityError(409, 'ALREADY_OWNER', 'the owner needs no partner grant');
      if (!q.activeGrant.get(pid, accountId)) q.insertGrant.run(pid, accountId, now);
    },
    revokePartner(ownerId, pid, accountId, now) {
      requireOwnProduct(ownerId, pid);
      const g = q.activeGrant.get(pid, accountId);
      if (!g) throw new AuthorityError(404, 'GRANT_UNKNOWN', `${accountId} holds no grant on ${pid}`);
      q.revokeGrant.run(now, g.id);
    },
    createRole(ownerId, role, kind = 'custom', id) {
      return db.transaction(() => {
        const spaceId = ensureSpace(ownerId);
        for (const pid of role.pids) requireOwnProduct(ownerId, pid);
        const roleId = id ?? `${spaceId}-r${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
        q.insertRole.run(roleId, spaceId, role.name, kind, role.canUnbind ? 1 : 0, role.allProducts ? 1 : 0);
        addRoleProducts(db, roleId, role.pids);
        return roleViews(spaceId).find((r) => r.roleId === roleId)!;
      })();
    },
    setMember(ownerId, accountId, roleId, now) {
      db.transaction(() => {
        const spaceId = ensureSpace(ownerId);
        requireAccount(accountId);
        if (!q.role.get(roleId, spaceId)) throw new AuthorityError(404, 'ROLE_UNKNOWN', `no role ${roleId} in this space`);
        q.upsertMember.run(spaceId, accountId, roleId, now);
      })();
    },
    removeMember(ownerId, accountId) {
      // Removing needs no space: without one there is no member to remove.
      const spaceId = q.space.get(ownerId)?.id;
      if (!spaceId || q.deleteMember.run(spaceId, accountId).changes === 0) throw new AuthorityError(404, 'MEMBER_UNKNOWN', `${accountId} is not a member`);
    },
  };
}

/** Adds a product to a role's data permission (used by seeding and by owners through createRole). */
export function addRoleProducts(db: Database, roleId: string, pids: string[]): void {
  const stmt = db.prepare('INSERT OR IGNORE INTO role_products (role_id, pid) VALUES (?, ?)');
  for (const pid of pids) stmt.run(roleId, pid);
}

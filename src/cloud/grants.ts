import type { Database } from 'better-sqlite3';
import type { GrantKind, ProductView } from '../protocol/index.js';

/**
 * Who may unbind a product (DESIGN §7): its owner; an OEM source account; a member of the owner's space
 * whose role can unbind and covers the product; a partner the owner authorized. Evaluated live on every
 * request, so a revoked grant stops tokens already issued.
 */
export interface Grant {
  kind: GrantKind;
  role?: string;
}

/** Owners and space roles see every operation on a product; partners and OEM sources only their own. */
export function seesAllOperations(g: Grant): boolean {
  return g.kind === 'owner' || g.kind === 'space-role';
}

export interface GrantRow {
  pid: string;
  name: string;
  category: string;
  owner_id: string;
  owner_name: string;
  unbind_supported: number;
  min_firmware: string | null;
  oem_source_id: string | null;
  partner: number;
  role: string | null;
}

const GRANT_SELECT = `
  SELECT p.pid, p.name, p.category, p.owner_id, o.name AS owner_name, p.unbind_supported, p.min_firmware, p.oem_source_id,
    EXISTS (SELECT 1 FROM partner_grants g WHERE g.pid = p.pid AND g.account_id = @acc AND g.revoked_at IS NULL) AS partner,
    (SELECT r.name FROM spaces s
       JOIN space_members m ON m.space_id = s.id
       JOIN roles r ON r.id = m.role_id
      WHERE s.owner_id = p.owner_id AND m.account_id = @acc AND r.can_unbind = 1
        AND (r.all_products = 1 OR EXISTS (SELECT 1 FROM role_products rp WHERE rp.role_id = r.id AND rp.pid = p.pid))) AS role
  FROM products p JOIN accounts o ON o.id = p.owner_id`;

export function grantOf(row: GrantRow, accountId: string): Grant | null {
  if (row.owner_id === accountId) return { kind: 'owner' };
  if (row.role !== null) return { kind: 'space-role', role: row.role };
  if (row.partner) return { kind: 'partner' };
  if (row.oem_source_id === accountId) return { kind: 'oem' };
  return null;
}

export interface GrantResolver {
  grantFor(accountId: string, pid: string): Grant | null;
  unbindableProducts(accountId: string): ProductView[];
}

export function createGrantResolver(db: Database): GrantResolver {
  const one = db.prepare<{ acc: string; pid: string }, GrantRow>(`${GRANT_SELECT} WHERE p.pid = @pid`);
  const all = db.prepare<{ acc: string }, GrantRow>(`${GRANT_SELECT} ORDER BY p.pid`);
  return {
    grantFor(accountId, pid) {
      const row = one.get({ acc: accountId, pid });
      return row ? grantOf(row, accountId) : null;
    },
    unbindableProducts(accountId) {
      const out: ProductView[] = [];
      for (const row of all.iterate({ acc: accountId })) {
        const g = grantOf(row, accountId);
        if (!g) continue;
        out.push({
          pid: row.pid,
          name: row.name,
          category: row.category,
          owner: { accountId: row.owner_id, name: row.owner_name },
          unbindSupported: row.unbind_supported === 1,
          minFirmware: row.min_firmware,
          grant: g.kind,
          ...(g.role ? { role: g.role } : {}),
        });
      }
      return out;
    },
  };
}

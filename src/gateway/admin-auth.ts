// Admin API authentication: admin keys from the config (hashed), with role and an optional department scope.
import { CovenantError } from '../core/errors.js';
import { hashSecret, type AdminKey } from '../config/resolve.js';

export interface AdminPrincipal {
  name: string;
  role: 'admin' | 'auditor';
  /** When set, the principal sees only this department's records. */
  department: string | null;
}

export function authenticateAdmin(adminKeys: AdminKey[], authorization: string | undefined): AdminPrincipal {
  const match = authorization ? /^Bearer\s+(.+)$/i.exec(authorization.trim()) : null;
  const secret = match?.[1]?.trim();
  if (!secret) throw new CovenantError('missing_api_key');
  const hash = hashSecret(secret);
  const key = adminKeys.find((candidate) => candidate.secretHash === hash);
  if (!key) throw new CovenantError('invalid_api_key');
  return { name: key.name, role: key.role, department: key.department };
}

/** Writes need an unscoped admin; auditors and department admins only read. */
export function requireWriter(principal: AdminPrincipal): void {
  if (principal.role !== 'admin') throw new CovenantError('forbidden', 'This admin key is read-only (role auditor).');
}

export function requireDepartmentAccess(principal: AdminPrincipal, department: string): void {
  if (principal.department !== null && principal.department !== department) {
    throw new CovenantError('forbidden', `This admin key is scoped to department "${principal.department}".`);
  }
}

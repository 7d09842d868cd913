// Admin API for the evidence ledger under /admin/audit: head, entries, proofs, content, export and verify; department-scoped keys see only their department.
import type { FastifyInstance } from 'fastify';
import { CovenantError } from '../../core/errors.js';
import { exportBundle, LedgerQueryError, verifyLedger, type LedgerStore } from '../../ledger/index.js';
import type { AdminPrincipal } from '../admin-auth.js';

function integer(value: string | undefined, name: string, fallback?: number): number {
  if (value === undefined || value === '') {
    if (fallback !== undefined) return fallback;
    throw new CovenantError('invalid_request', `${name} is required.`, { param: name });
  }
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0) throw new CovenantError('invalid_request', `${name} must be a whole number >= 0.`, { param: name });
  return number;
}

function time(value: string | undefined, name: string): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new CovenantError('invalid_request', `${name} must be an ISO 8601 time.`, { param: name });
  return date;
}

/** Ledger query errors are the caller's: a sequence number past the end, a size larger than the tree. */
async function query<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof LedgerQueryError) throw new CovenantError('invalid_request', error.message);
    throw error;
  }
}

/** Routes relative to the admin plugin's /admin prefix. */
export function registerAuditRoutes(admin: FastifyInstance, ledger: LedgerStore): void {  /** A scoped principal may see an entry only if it is its department's. */
  const visible = (principal: AdminPrincipal, entry: { department?: string }) => principal.department === null || entry.department === principal.department;

  admin.get('/audit/head', { config: { access: 'read' } }, async () => {
    const checkpoint = await ledger.latestCheckpoint();
    const head = await ledger.head();
    return {
      tree_size: head.size,
      root_hash: head.rootHash,
      checkpoint: checkpoint ? { tree_size: checkpoint.size, root_hash: checkpoint.rootHash, time: checkpoint.time, note: checkpoint.note } : null,
      public_key: await ledger.publicKey(),
    };
  });

  admin.get('/audit/public-key', { config: { access: 'read' } }, async (_request, reply) => {
    reply.type('text/plain; charset=utf-8');
    return `${await ledger.publicKey()}\n`;
  });

  admin.get('/audit/entries', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const parameters = request.query as Record<string, string | undefined>;
    const limit = integer(parameters.limit, 'limit', 100);
    if (limit < 1 || limit > 10_000) throw new CovenantError('invalid_request', 'limit must be from 1 to 10000.', { param: 'limit' });
    const entries = await query(() => ledger.entries({
      from: integer(parameters.from, 'from', 0), limit, kind: parameters.kind, since: time(parameters.since, 'since'), department: principal.department ?? parameters.department,
    }));
    return { data: entries.map((stored) => ({ ...stored.entry, leaf_hash: stored.leafHash })) };
  });

  admin.get('/audit/proof', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const parameters = request.query as Record<string, string | undefined>;
    const index = integer(parameters.index, 'index');
    const treeSize = parameters.tree_size === undefined ? undefined : integer(parameters.tree_size, 'tree_size');
    const stored = await ledger.entry(index);
    if (!stored || !visible(principal, stored.entry)) throw new CovenantError('not_found', `There is no entry ${index}.`);
    return query(() => ledger.inclusionProof(index, treeSize));
  });

  admin.get('/audit/consistency', { config: { access: 'read' } }, async (request) => {
    const parameters = request.query as Record<string, string | undefined>;
    return query(() => ledger.consistencyProof(integer(parameters.from, 'from'), integer(parameters.to, 'to')));
  });

  admin.get('/audit/content/:seq', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const seq = integer((request.params as { seq: string }).seq, 'seq');
    const stored = await ledger.entry(seq);
    if (!stored || !visible(principal, stored.entry)) throw new CovenantError('not_found', `There is no entry ${seq}.`);
    const content = await ledger.content(seq);
    if (!content) throw new CovenantError('not_found', `Entry ${seq} has no stored content (its department's retention is "none", or it was purged).`);
    return content;
  });

  admin.get('/audit/export', { config: { access: 'read' } }, async (request) => {
    const principal = request.adminPrincipal;
    const parameters = request.query as Record<string, string | undefined>;
    return query(() => exportBundle(ledger, { since: time(parameters.since, 'since'), department: principal.department ?? parameters.department }));
  });

  // Verifying reads every department's entries.
  admin.get('/audit/verify', { config: { access: 'organisation-read' } }, async () => verifyLedger(ledger));
}

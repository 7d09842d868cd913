// Admin API for the evidence ledger under /admin/audit: head, entries, proofs, content, export and verify; department-scoped keys see only their department.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CovenantError } from '../../core/errors.js';
import { exportBundle, LedgerQueryError, verifyLedger, type LedgerStore } from '../../ledger/index.js';
import { authenticateAdmin, type AdminPrincipal } from '../admin-auth.js';
import type { Gateway } from '../gateway.js';
import { header } from './openai.js';

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

export function registerAuditRoutes(app: FastifyInstance, gateway: Gateway, ledger: LedgerStore): void {
  const admin = (request: FastifyRequest): AdminPrincipal => authenticateAdmin(gateway.config.adminKeys, header(request, 'authorization'));
  /** A scoped principal may see an entry only if it is its department's. */
  const visible = (principal: AdminPrincipal, entry: { department?: string }) => principal.department === null || entry.department === principal.department;

  app.get('/admin/audit/head', async (request) => {
    admin(request);
    const checkpoint = await ledger.latestCheckpoint();
    const head = await ledger.head();
    return {
      tree_size: head.size,
      root_hash: head.rootHash,
      checkpoint: checkpoint ? { tree_size: checkpoint.size, root_hash: checkpoint.rootHash, time: checkpoint.time, note: checkpoint.note } : null,
      public_key: await ledger.publicKey(),
    };
  });

  app.get('/admin/audit/public-key', async (request, reply) => {
    admin(request);
    reply.type('text/plain; charset=utf-8');
    return `${await ledger.publicKey()}\n`;
  });

  app.get('/admin/audit/entries', async (request) => {
    const principal = admin(request);
    const q = request.query as Record<string, string | undefined>;
    const limit = integer(q.limit, 'limit', 100);
    if (limit < 1 || limit > 10_000) throw new CovenantError('invalid_request', 'limit must be from 1 to 10000.', { param: 'limit' });
    const entries = await query(() => ledger.entries({
      from: integer(q.from, 'from', 0), limit, kind: q.kind, since: time(q.since, 'since'), department: principal.department ?? q.department,
    }));
    return { data: entries.map((stored) => ({ ...stored.entry, leaf_hash: stored.leafHash })) };
  });

  app.get('/admin/audit/proof', async (request) => {
    const principal = admin(request);
    const q = request.query as Record<string, string | undefined>;
    const index = integer(q.index, 'index');
    const treeSize = q.tree_size === undefined ? undefined : integer(q.tree_size, 'tree_size');
    const stored = await ledger.entry(index);
    if (!stored || !visible(principal, stored.entry)) throw new CovenantError('not_found', `There is no entry ${index}.`);
    return query(() => ledger.inclusionProof(index, treeSize));
  });

  app.get('/admin/audit/consistency', async (request) => {
    admin(request);
    const q = request.query as Record<string, string | undefined>;
    return query(() => ledger.consistencyProof(integer(q.from, 'from'), integer(q.to, 'to')));
  });

  app.get('/admin/audit/content/:seq', async (request) => {
    const principal = admin(request);
    const seq = integer((request.params as { seq: string }).seq, 'seq');
    const stored = await ledger.entry(seq);
    if (!stored || !visible(principal, stored.entry)) throw new CovenantError('not_found', `There is no entry ${seq}.`);
    const content = await ledger.content(seq);
    if (!content) throw new CovenantError('not_found', `Entry ${seq} has no stored content (its department's retention is "none", or it was purged).`);
    return content;
  });

  app.get('/admin/audit/export', async (request) => {
    const principal = admin(request);
    const q = request.query as Record<string, string | undefined>;
    return query(() => exportBundle(ledger, { since: time(q.since, 'since'), department: principal.department ?? q.department }));
  });

  app.get('/admin/audit/verify', async (request) => {
    const principal = admin(request);
    if (principal.department !== null) throw new CovenantError('forbidden', 'Verifying the whole log needs an unscoped admin or auditor key.');
    return verifyLedger(ledger);
  });
}

// One name per budget scope: the grammar counters, alerts, ledger entries, /admin/spend and the CLI all use.

/**
 * Who a budget applies to. Its string form (formatScope, parseScope):
 * - `org`: the organisation;
 * - `department:<department>`: one department;
 * - `key:<id>`: one API key, by its id (a key's name can be reused after it is revoked; its id never is). Ids hold
 *   no `/`, so the old `key:<department>/<name>` form is refused rather than mistaken for an id;
 * - `user:<department>/<user>`: one end user of a department; the user is everything after the first `/`;
 * - `user:<department>`: every user of a department, each under its own budget (the per-user policy a reload changes).
 * Department names hold no `/` (config names are letters, digits, `_`, `.` and `-`), so the first `/` ends one exactly
 * and a user may hold any character. `user:<department>/*` would have been the obvious policy name, but an end user
 * may be called `*`, and user names cannot be escaped without renaming the counters already stored.
 */
export type Scope =
  | { kind: 'org' }
  | { kind: 'department'; department: string }
  | { kind: 'key'; id: string }
  | { kind: 'user'; department: string; user: string }
  | { kind: 'users'; department: string };

/** The grammar in words, for error messages. */
export const scopeForms = 'org, department:DEPARTMENT, key:ID, user:DEPARTMENT/USER or user:DEPARTMENT (every user)';
/** The forms a counter can have: every one but the per-user policy. */
export const counterScopeForms = 'org, department:DEPARTMENT, key:ID or user:DEPARTMENT/USER';

/** Department names and key ids: non-empty, without `/`. */
function validName(name: string): boolean {
  return name.length > 0 && !name.includes('/');
}

/**
 * A scope's string form: what counters are keyed by and what every entry and report names.
 * @example formatScope({kind: 'user', department: 'claims', user: 'alice/ops'}) // 'user:claims/alice/ops'
 */
export function formatScope(scope: Scope): string {
  if (scope.kind === 'org') return 'org';
  if (scope.kind === 'key') {
    if (!validName(scope.id)) throw new Error(`Not a key id for a scope: "${scope.id}"`);
    return `key:${scope.id}`;
  }
  if (!validName(scope.department)) throw new Error(`Not a department name for a scope: "${scope.department}"`);
  if (scope.kind === 'department') return `department:${scope.department}`;
  if (scope.kind === 'users') return `user:${scope.department}`;
  if (scope.user.length === 0) throw new Error('A user scope needs a user');
  return `user:${scope.department}/${scope.user}`;
}

/**
 * The scope a string names, or undefined when it follows none of the forms. Exact: parseScope(formatScope(s)) equals s.
 * @example parseScope('user:claims/a:b/c') // {kind: 'user', department: 'claims', user: 'a:b/c'}
 */
export function parseScope(text: string): Scope | undefined {
  if (text === 'org') return { kind: 'org' };
  if (text.startsWith('key:')) {
    const id = text.slice('key:'.length);
    return validName(id) ? { kind: 'key', id } : undefined;
  }
  if (text.startsWith('department:')) {
    const department = text.slice('department:'.length);
    return validName(department) ? { kind: 'department', department } : undefined;
  }
  if (text.startsWith('user:')) {
    const rest = text.slice('user:'.length);
    const slash = rest.indexOf('/');
    if (slash < 0) return validName(rest) ? { kind: 'users', department: rest } : undefined;
    const department = rest.slice(0, slash);
    const user = rest.slice(slash + 1);
    return department.length > 0 && user.length > 0 ? { kind: 'user', department, user } : undefined;
  }
  return undefined;
}

/**
 * The department a scope belongs to; a key's comes from `keyDepartment` (the scope holds only its id).
 * Undefined for `org`, and for a key that `keyDepartment` does not know.
 */
export function scopeDepartment(scope: Scope, keyDepartment?: (id: string) => string | undefined): string | undefined {
  if (scope.kind === 'org') return undefined;
  if (scope.kind === 'key') return keyDepartment?.(scope.id);
  return scope.department;
}

/** The start every user scope of `department` shares, for store queries by prefix: `user:<department>/`. */
export function userScopePrefix(department: string): string {
  return `${formatScope({ kind: 'users', department })}/`;
}

/**
 * How people read a scope, carried beside the scope string and never instead of it: a key by its department and
 * name (when `key` is given), the per-user policy as `user:<department>/*`, any other scope as itself.
 * @example scopeLabel({kind: 'key', id: 'key_1f'}, {department: 'claims', name: 'triage-bot'}) // 'key:claims/triage-bot'
 */
export function scopeLabel(scope: Scope, key?: { department: string; name: string }): string {
  if (scope.kind === 'key' && key) return `key:${key.department}/${key.name}`;
  if (scope.kind === 'users') return `user:${scope.department}/*`;
  return formatScope(scope);
}

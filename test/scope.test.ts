// The scope grammar: every form round-trips exactly, users may hold any character, and the stored counter names stay as they were.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { counterKeyFor, parseCounterKey } from '../src/core/budget-math.js';
import { formatScope, parseScope, scopeDepartment, scopeLabel, userScopePrefix, type Scope } from '../src/core/scope.js';

/** Department names as the config allows them. */
const departmentName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,15}$/);
/** Any non-empty user, including '/', ':', '*', '|', spaces and astral characters. */
const userName = fc.string({ unit: 'binary', minLength: 1, maxLength: 40 });
const scopeValue: fc.Arbitrary<Scope> = fc.oneof(
  fc.constant({ kind: 'org' as const }),
  departmentName.map((department) => ({ kind: 'department' as const, department })),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }).filter((id) => !id.includes('/')).map((id) => ({ kind: 'key' as const, id })),
  fc.record({ kind: fc.constant('user' as const), department: departmentName, user: userName }),
  departmentName.map((department) => ({ kind: 'users' as const, department })),
);

describe('scope grammar', () => {
  it('writes each form as the counters already stored it', () => {
    expect(formatScope({ kind: 'org' })).toBe('org');
    expect(formatScope({ kind: 'department', department: 'claims' })).toBe('department:claims');
    expect(formatScope({ kind: 'key', id: 'key_0123456789abcdef0123' })).toBe('key:key_0123456789abcdef0123');
    expect(formatScope({ kind: 'user', department: 'claims', user: 'alice' })).toBe('user:claims/alice');
    expect(formatScope({ kind: 'users', department: 'claims' })).toBe('user:claims');
    expect(userScopePrefix('claims')).toBe('user:claims/');
  });

  it('splits a user scope at the first "/": the user keeps every later "/" and ":"', () => {
    expect(parseScope('user:claims/ops/alice:1')).toEqual({ kind: 'user', department: 'claims', user: 'ops/alice:1' });
    expect(parseScope('user:claims/*')).toEqual({ kind: 'user', department: 'claims', user: '*' });
    expect(parseScope('user:claims/user:hr/bob')).toEqual({ kind: 'user', department: 'claims', user: 'user:hr/bob' });
    expect(parseScope('user:claims')).toEqual({ kind: 'users', department: 'claims' });
    expect(parseScope('key:key_1:2')).toEqual({ kind: 'key', id: 'key_1:2' });
  });

  it('rejects strings that follow no form', () => {
    for (const text of ['', 'orgs', 'Org', 'department:', 'department:a/b', 'key:', 'user:', 'user:/alice', 'user:claims/', 'users:claims', 'key:claims/triage-bot', 'replica', ' org']) {
      expect(parseScope(text), text).toBeUndefined();
    }
    expect(() => formatScope({ kind: 'user', department: 'claims', user: '' })).toThrow();
    expect(() => formatScope({ kind: 'department', department: 'a/b' })).toThrow();
    expect(() => formatScope({ kind: 'key', id: '' })).toThrow();
    expect(() => formatScope({ kind: 'key', id: 'claims/triage-bot' })).toThrow();
  });

  it('round-trips every scope, whatever characters its user holds', () => {
    fc.assert(fc.property(scopeValue, (scope) => {
      expect(parseScope(formatScope(scope))).toEqual(scope);
    }), { numRuns: 2000 });
  });

  it('round-trips every string it accepts, so two scopes never share a name', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), userName.map((user) => `user:${user}`)), (text) => {
      const parsed = parseScope(text);
      if (parsed) expect(formatScope(parsed)).toBe(text);
    }), { numRuns: 2000 });
  });

  it('keeps a user scope whole inside a counter key, "|" included', () => {
    fc.assert(fc.property(departmentName, userName, (department, user) => {
      const scope = formatScope({ kind: 'user', department, user });
      const parts = parseCounterKey(counterKeyFor(scope, 'usd', 'day', '2024-05-01'));
      expect(parseScope(parts.scope)).toEqual({ kind: 'user', department, user });
    }));
  });

  it("names the department a scope belongs to, a key's through its id", () => {
    const keys = new Map([['key_a', 'claims']]);
    const department = (text: string) => scopeDepartment(parseScope(text) as Scope, (id) => keys.get(id));
    expect(department('org')).toBeUndefined();
    expect(department('department:claims')).toBe('claims');
    expect(department('user:claims/hr/bob')).toBe('claims');
    expect(department('user:claims')).toBe('claims');
    expect(department('key:key_a')).toBe('claims');
    expect(department('key:key_unknown')).toBeUndefined();
  });

  it('labels a key by its department and name, the per-user policy as a pattern, anything else as itself', () => {
    expect(scopeLabel({ kind: 'key', id: 'key_a' }, { department: 'claims', name: 'triage-bot' })).toBe('key:claims/triage-bot');
    expect(scopeLabel({ kind: 'key', id: 'key_a' })).toBe('key:key_a');
    expect(scopeLabel({ kind: 'users', department: 'claims' })).toBe('user:claims/*');
    expect(scopeLabel({ kind: 'user', department: 'claims', user: 'alice' })).toBe('user:claims/alice');
  });
});

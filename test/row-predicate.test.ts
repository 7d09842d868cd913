// The bias audit's expression language: what it accepts, what it refuses, how it compares cells.
import { describe, expect, it } from 'vitest';
import { evaluateComparison, parsePredicate, PredicateSyntaxError } from '../src/core/row-predicate.js';

function holds(expression: string, cell: string): boolean {
  const predicate = parsePredicate(expression);
  if (predicate.kind !== 'comparison') throw new Error('not a comparison');
  return evaluateComparison(predicate, cell);
}

describe('row predicates', () => {
  it('parses a bare column and every comparison operator', () => {
    expect(parsePredicate('two_year_recid')).toEqual({ kind: 'column', column: 'two_year_recid' });
    expect(parsePredicate('decile_score>=5')).toEqual({ kind: 'comparison', column: 'decile_score', operator: '>=', literal: 5 });
    expect(parsePredicate("income == '>50K'")).toEqual({ kind: 'comparison', column: 'income', operator: '==', literal: '>50K' });
    expect(parsePredicate('sex = Female')).toEqual({ kind: 'comparison', column: 'sex', operator: '==', literal: 'Female' });
    expect(parsePredicate('`hours per week` < 40')).toMatchObject({ column: 'hours per week', operator: '<', literal: 40 });
    expect(parsePredicate('"age-group" != "25 - 45"')).toMatchObject({ column: 'age-group', operator: '!=', literal: '25 - 45' });
    expect(parsePredicate('days > -30')).toMatchObject({ literal: -30 });
  });

  it('refuses anything beyond COLUMN OP LITERAL', () => {
    for (const bad of ['', '>= 5', 'score >=', 'score >= high', 'a == b == c', "x == 'open", 'score > 0.5 || process.exit(1)', 'f() == 1']) {
      expect(() => parsePredicate(bad), bad).toThrow(PredicateSyntaxError);
    }
  });

  it('compares numbers as numbers and text as text', () => {
    expect(holds('decile_score >= 5', '10')).toBe(true); // not '10' < '5' as text
    expect(holds('decile_score >= 5', '4')).toBe(false);
    expect(holds('score > 0.5', ' 0.51 ')).toBe(true);
    expect(holds('days >= -30', '')).toBe(false); // a missing number never passes an ordering
    expect(holds('is_recid != -1', '-1')).toBe(false);
    expect(holds('is_recid != -1', '0')).toBe(true);
    expect(holds('is_recid == 1', '1.0')).toBe(true);
    expect(holds("c_charge_degree != 'O'", 'F')).toBe(true);
    expect(holds("income == '>50K'", '>50K')).toBe(true);
    expect(holds("income == '>50K'", '<=50K')).toBe(false);
  });
});

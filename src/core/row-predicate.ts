// A tiny, safe comparison language over a table's columns: `COLUMN OP LITERAL` (e.g. decile_score>=5, income == '>50K').

export type ComparisonOperator = '==' | '!=' | '>=' | '<=' | '>' | '<';

/** A parsed predicate: a bare column (its value is tested against the favorable value) or a comparison. */
export type RowPredicate =
  | { kind: 'column'; column: string }
  | { kind: 'comparison'; column: string; operator: ComparisonOperator; literal: string | number };

/** A problem in an expression; `position` is the 0-based offset where parsing stopped. */
export class PredicateSyntaxError extends Error {
  constructor(message: string, readonly position: number) {
    super(message);
  }
}

const columnPattern = /^\s*(?:`([^`]+)`|"([^"]+)"|([A-Za-z_][\w.-]*))\s*/;
const operatorPattern = /^(==|!=|>=|<=|=|>|<)\s*/;
const numberPattern = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

/**
 * Parse `COLUMN`, or `COLUMN OP LITERAL` with OP one of == != >= <= > < (a single = means ==). A column with unusual
 * characters can be quoted in backticks or double quotes; a literal is a number, a 'single'- or "double"-quoted
 * string, or a bare word. Nothing is ever evaluated as code.
 * @example parsePredicate("income == '>50K'") // { kind: 'comparison', column: 'income', operator: '==', literal: '>50K' }
 */
export function parsePredicate(expression: string): RowPredicate {
  const columnMatch = columnPattern.exec(expression);
  if (!columnMatch) throw new PredicateSyntaxError(`expected a column name at the start of "${expression}"`, 0);
  const column = columnMatch[1] ?? columnMatch[2] ?? columnMatch[3];
  let rest = expression.slice(columnMatch[0].length);
  let position = columnMatch[0].length;
  if (rest.length === 0) return { kind: 'column', column };
  const operatorMatch = operatorPattern.exec(rest);
  if (!operatorMatch) throw new PredicateSyntaxError(`expected one of == != >= <= > < after "${column}" in "${expression}"`, position);
  const operator = (operatorMatch[1] === '=' ? '==' : operatorMatch[1]) as ComparisonOperator;
  rest = rest.slice(operatorMatch[0].length);
  position += operatorMatch[0].length;
  const text = rest.trimEnd();
  if (text.length === 0) throw new PredicateSyntaxError(`expected a value after "${operator}" in "${expression}"`, position);
  let literal: string | number;
  const quote = text[0];
  if (quote === "'" || quote === '"') {
    if (text.length < 2 || text[text.length - 1] !== quote || text.slice(1, -1).includes(quote)) {
      throw new PredicateSyntaxError(`unterminated or malformed quoted value in "${expression}"`, position);
    }
    literal = text.slice(1, -1);
  } else if (numberPattern.test(text)) {
    literal = Number(text);
  } else if (/^[^\s'"]+$/.test(text)) {
    literal = text;
  } else {
    throw new PredicateSyntaxError(`expected one value after "${operator}" in "${expression}" (quote a value with spaces)`, position);
  }
  if (typeof literal === 'string' && operator !== '==' && operator !== '!=') {
    throw new PredicateSyntaxError(`"${operator}" compares numbers; "${literal}" is not a number in "${expression}"`, position);
  }
  return { kind: 'comparison', column, operator, literal };
}

/** The columns a predicate reads. */
export function predicateColumns(predicate: RowPredicate): string[] {
  return [predicate.column];
}

function numeric(value: string): number | undefined {
  const trimmed = value.trim();
  return numberPattern.test(trimmed) ? Number(trimmed) : undefined;
}

/**
 * Evaluate a comparison on a row of text cells. Ordering compares numbers (a cell that is not a number is false);
 * == and != compare numbers when both sides are numbers, else the trimmed text.
 */
export function evaluateComparison(predicate: Extract<RowPredicate, { kind: 'comparison' }>, cell: string | undefined): boolean {
  const value = (cell ?? '').trim();
  const { operator, literal } = predicate;
  if (typeof literal === 'number') {
    const number = numeric(value);
    if (number === undefined) return operator === '!=' ;
    switch (operator) {
      case '==': return number === literal;
      case '!=': return number !== literal;
      case '>=': return number >= literal;
      case '<=': return number <= literal;
      case '>': return number > literal;
      case '<': return number < literal;
    }
  }
  return operator === '==' ? value === literal : value !== literal;
}

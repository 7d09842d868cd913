// Equal values of many records read at once, kept once: a hundred thousand keys name a few departments and budget lists.

/**
 * One listing's shared values. A JSON column is parsed once per distinct text (SQLite's text) or kept once per distinct
 * JSON (PostgreSQL's JSONB arrives parsed), so records holding equal values hold the same object: never change one in
 * place.
 */
export class SharedValues {
  private readonly strings = new Map<string, string>();
  private readonly values = new Map<string, unknown>();

  /** The first equal string seen. */
  string(value: string): string {
    const known = this.strings.get(value);
    if (known !== undefined) return known;
    this.strings.set(value, value);
    return value;
  }

  /** The value of a JSON column: the first equal one seen. */
  json<T>(value: string | T): T {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const known = this.values.get(text);
    if (known !== undefined) return known as T;
    const parsed = typeof value === 'string' ? (JSON.parse(value) as T) : value;
    this.values.set(text, parsed);
    return parsed;
  }
}

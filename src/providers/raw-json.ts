// The exact JSON text a parsed provider object came from, so a body passed through unchanged is sent as received, not re-serialised.
const texts = new WeakMap<object, string>();

/** Remember `text` as the wire form of `value` (the result of JSON.parse(text)); returns value. */
export function keepRawJson<T>(value: T, text: string): T {
  if (typeof value === 'object' && value !== null) texts.set(value, text);
  return value;
}

/** The text `value` was parsed from, if it is an unchanged provider object; callers must not have mutated it. */
export function rawJsonOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null ? texts.get(value) : undefined;
}

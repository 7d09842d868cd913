// Content redaction for `retention.content: redacted`: masks e-mail addresses, payment cards (Luhn), IBANs (mod 97),
// US social security numbers, IP addresses and phone numbers. Over-masking is preferred to leaking.

/** What each mask replaced, by kind. */
export type RedactionCounts = Record<RedactionKind, number>;
export type RedactionKind = 'email' | 'card' | 'iban' | 'ssn' | 'ip' | 'phone';

export interface RedactionResult<T> {
  value: T;
  counts: RedactionCounts;
}

const masks: Record<RedactionKind, string> = {
  email: '[EMAIL]',
  card: '[CARD]',
  iban: '[IBAN]',
  ssn: '[SSN]',
  ip: '[IP]',
  phone: '[PHONE]',
};

/** Luhn (ISO/IEC 7812-1) check over a string of digits. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let position = digits.length - 1; position >= 0; position -= 1) {
    let digit = digits.charCodeAt(position) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

/** IBAN check (ISO 13616): move the first four characters to the end, letters to 10..35, the number mod 97 must be 1. */
export function ibanValid(compact: string): boolean {
  if (!/^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/.test(compact)) return false;
  const expected = ibanLengths[compact.slice(0, 2)];
  if (expected !== undefined && expected !== compact.length) return false;
  const rearranged = compact.slice(4) + compact.slice(0, 4);
  let remainder = 0;
  for (const character of rearranged) {
    const code = character.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : character;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

// IBAN lengths by country (SWIFT IBAN registry), so that a valid IBAN followed by more letters is cut at the right place.
const ibanLengths: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, CH: 21, CR: 22, CY: 28, CZ: 24,
  DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27,
  GT: 28, HR: 21, HU: 28, IE: 22, IL: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LI: 21, LT: 20, LU: 20,
  LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25,
  QA: 29, RO: 24, RS: 22, SA: 24, SE: 24, SI: 19, SK: 24, SM: 27, TN: 24, TR: 26, UA: 29, VG: 24, XK: 20,
};

/** The shortest prefix of `text` holding `count` letters or digits (separators do not count). */
function prefixWithCharacters(text: string, count: number): string {
  let seen = 0;
  for (let position = 0; position < text.length; position += 1) {
    if (/[A-Za-z0-9]/.test(text[position])) seen += 1;
    if (seen === count) return text.slice(0, position + 1);
  }
  return text;
}

interface Rule {
  kind: RedactionKind;
  pattern: RegExp;
  /** Returns the part of the match to mask ('' to keep the match), for checks a regular expression cannot do. */
  accept?: (match: string) => string;
}

const rules: Rule[] = [
  // Bounded as RFC 5321 bounds addresses (local part 64, labels 63): an unbounded `+` before the @ rescans the rest of
  // the text from every start position, so a long run of letters cost time quadratic in its length.
  { kind: 'email', pattern: /[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,63}/g },
  {
    kind: 'iban',
    pattern: /\b[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]){11,30}\b/gi,
    accept: (match) => {
      // Greedy matching may swallow following words: cut at the country's length, or try the longest valid prefix.
      const known = ibanLengths[match.slice(0, 2).toUpperCase()];
      const compactLength = match.replace(/[ -]/g, '').length;
      for (let length = known ?? compactLength; length >= 15 && length <= compactLength; length -= 1) {
        const candidate = prefixWithCharacters(match, length);
        if (ibanValid(candidate.replace(/[ -]/g, '').toUpperCase())) return candidate;
        if (known !== undefined) break;
      }
      return '';
    },
  },
  {
    kind: 'card',
    pattern: /\b[0-9](?:[ -]?[0-9]){12,18}\b/g,
    accept: (match) => {
      const digits = match.replace(/[ -]/g, '');
      return digits.length >= 13 && digits.length <= 19 && luhnValid(digits) ? match : '';
    },
  },
  { kind: 'ssn', pattern: /\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b/g },
  { kind: 'ip', pattern: /\b(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\b/g },
  {
    kind: 'phone',
    // International (+ and 7–15 digits), North American (555) 123-4567, and national numbers with a trunk 0.
    pattern: /\+[0-9](?:[ .()-]{0,2}[0-9]){6,14}|\(?\b[0-9]{3}\)?[ .-][0-9]{3}[ .-][0-9]{4}\b|\b0[0-9]{1,4}[ .-]?[0-9]{3,4}[ .-]?[0-9]{3,4}\b/g,
  },
];

function emptyCounts(): RedactionCounts {
  return { email: 0, card: 0, iban: 0, ssn: 0, ip: 0, phone: 0 };
}

function redactInto(text: string, counts: RedactionCounts): string {
  let result = text;
  for (const rule of rules) {
    if (rule.kind === 'email' && !result.includes('@')) continue;
    result = result.replace(rule.pattern, (match) => {
      const masked = rule.accept === undefined ? match : rule.accept(match);
      if (masked === '') return match;
      counts[rule.kind] += 1;
      return masks[rule.kind] + match.slice(masked.length);
    });
  }
  return result;
}

/** Mask identifiers in a text. Example: redactText('mail a@b.io') -> { value: 'mail [EMAIL]', counts: {email: 1, …} }. */
export function redactText(text: string): RedactionResult<string> {
  const counts = emptyCounts();
  return { value: redactInto(text, counts), counts };
}

/** Mask identifiers in every string (values, not keys) of a JSON value; returns a new value. */
export function redactJson<T>(value: T): RedactionResult<T> {
  const counts = emptyCounts();
  const walk = (node: unknown): unknown => {
    if (typeof node === 'string') return redactInto(node, counts);
    if (Array.isArray(node)) return node.map(walk);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node as Record<string, unknown>).map(([key, child]) => [key, walk(child)]));
    }
    return node;
  };
  return { value: walk(value) as T, counts };
}

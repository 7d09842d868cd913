// Numbers and durations as contracts write them: "ten (10) business days", "twenty-four months", "95%", "0.95".

const units: Record<string, number> = {
  zero: 0, one: 1, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
  thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19,
};
const tens: Record<string, number> = { twenty: 20, thirty: 30, forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90 };

/** A number written in words up to 999 ("forty-five", "one hundred and twenty"); undefined when it is not one. */
export function parseNumberWords(text: string): number | undefined {
  const words = text.toLowerCase().replace(/-/g, ' ').split(/\s+/).filter((word) => word !== '' && word !== 'and');
  if (words.length === 0) return undefined;
  let total = 0;
  let current = 0;
  for (const word of words) {
    if (word in units) current += units[word]!;
    else if (word in tens) current += tens[word]!;
    else if (word === 'hundred') current = (current || 1) * 100;
    else if (word === 'a' && words.length > 1) current += 0;
    else return undefined;
  }
  total += current;
  return total;
}

const wordPattern = '(?:(?:zero|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred)(?:[\\s-]+(?:and\\s+)?(?:one|two|three|four|five|six|seven|eight|nine|hundred|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety))*)';
/** A number as contracts write it: digits, words, or words with the digits in parentheses ("ten (10)"). */
export const numberPattern = `(?:${wordPattern}\\s*\\(\\s*\\d+(?:\\.\\d+)?\\s*%?\\s*\\)|\\d+(?:,\\d{3})*(?:\\.\\d+)?|${wordPattern})`;

/** The value of a `numberPattern` match: the digits in parentheses win over the words, as in legal drafting. */
export function numberValue(text: string): number | undefined {
  const digits = /\(\s*(\d+(?:\.\d+)?)\s*%?\s*\)/.exec(text) ?? /^(\d+(?:,\d{3})*(?:\.\d+)?)$/.exec(text.trim());
  if (digits) return Number(digits[1]!.replace(/,/g, ''));
  return parseNumberWords(text);
}

export type DurationUnit = 'business_days' | 'days' | 'weeks' | 'months' | 'years' | 'hours' | 'minutes';

export interface Quantity {
  value: number;
  unit: DurationUnit | 'percent' | 'ratio';
  /** The words as written, e.g. "ten (10) business days". */
  text: string;
  /** Where it starts in the searched text. */
  index: number;
}

const durationPattern = new RegExp(
  `(${numberPattern})\\s*(?:\\(\\s*\\d+\\s*\\)\\s*)?(business|working|calendar)?[\\s-]*(days?|weeks?|months?|years?|hours?|minutes?)\\b`, 'gi');

function durationUnit(qualifier: string | undefined, unit: string): DurationUnit {
  const base = unit.toLowerCase().replace(/s$/, '');
  if (base === 'day') return qualifier && /business|working/i.test(qualifier) ? 'business_days' : 'days';
  return `${base}s` as DurationUnit;
}

/** Every duration in a passage, in order. */
export function findDurations(text: string): Quantity[] {
  const found: Quantity[] = [];
  for (const match of text.matchAll(durationPattern)) {
    const value = numberValue(match[1]!);
    if (value === undefined) continue;
    found.push({ value, unit: durationUnit(match[2], match[3]!), text: match[0].trim(), index: match.index });
  }
  return found;
}

const percentPattern = new RegExp(`(${numberPattern})\\s*(?:%|per\\s*cent|percent)(?:\\s*\\(\\s*\\d+(?:\\.\\d+)?\\s*%\\s*\\))?`, 'gi');
const ratioPattern = /(?<![\d.])(0?\.\d+|1\.0+)(?![\d%])/g;

/** Every percentage ("fifteen percent (15%)", "95%") and bare ratio ("0.95") in a passage, in order. */
export function findFractions(text: string): Quantity[] {
  const found: Quantity[] = [];
  for (const match of text.matchAll(percentPattern)) {
    const inner = /\(\s*(\d+(?:\.\d+)?)\s*%\s*\)/.exec(match[0]);
    const value = inner ? Number(inner[1]) : numberValue(match[1]!);
    if (value === undefined) continue;
    found.push({ value, unit: 'percent', text: match[0].trim(), index: match.index });
  }
  for (const match of text.matchAll(ratioPattern)) {
    if (found.some((each) => match.index >= each.index && match.index < each.index + each.text.length)) continue;
    found.push({ value: Number(match[1]), unit: 'ratio', text: match[0], index: match.index });
  }
  return found.sort((left, right) => left.index - right.index);
}

const perUnit: Record<string, { days?: number; hours?: number; months?: number }> = {
  minutes: { hours: 1 / 60, days: 1 / 1440 }, hours: { hours: 1, days: 1 / 24 }, days: { days: 1, hours: 24, months: 1 / 30 },
  weeks: { days: 7, hours: 168, months: 7 / 30 }, months: { months: 1, days: 30 }, years: { months: 12, days: 365 },
};

/**
 * A duration in the unit a requirement counts in; undefined when they cannot be compared.
 * Calendar and business days convert by the working week (5 business days in 7 calendar days), the conservative way
 * round is the caller's: `round` picks it.
 */
export function convertDuration(quantity: Quantity, to: 'business_days' | 'days' | 'months' | 'hours'): number | undefined {
  const unit = quantity.unit;
  if (unit === 'percent' || unit === 'ratio') return undefined;
  if (unit === to) return quantity.value;
  if (unit === 'business_days') {
    const days = (quantity.value * 7) / 5;
    return to === 'days' ? days : to === 'hours' ? days * 24 : to === 'months' ? days / 30 : undefined;
  }
  if (to === 'business_days') {
    const days = unit === 'days' ? quantity.value : (perUnit[unit]?.days ?? NaN) * quantity.value;
    return Number.isNaN(days) ? undefined : (days * 5) / 7;
  }
  const factor = perUnit[unit]?.[to];
  return factor === undefined ? undefined : factor * quantity.value;
}

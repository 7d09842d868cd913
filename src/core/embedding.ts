// A deterministic offline text embedding: hashed word and character n-grams, L2-normalised (lexical similarity, no model).

export const defaultEmbeddingDimensions = 256;

/** FNV-1a, 32-bit, over UTF-16 code units: fast, stable across runs and platforms. */
function fnv1a(text: string, seed: number): number {
  let hash = (0x811c9dc5 ^ seed) >>> 0;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Lower-case words of letters and digits (any script); punctuation separates. */
export function words(text: string): string[] {
  return text.normalize('NFKC').toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * The features of a text with their weights: each word (1), each pair of neighbouring words (1) and each character
 * trigram of each word padded with boundary marks (0.5), so inflections and shared stems still overlap.
 */
export function textFeatures(text: string): Map<string, number> {
  const features = new Map<string, number>();
  const add = (feature: string, weight: number) => features.set(feature, (features.get(feature) ?? 0) + weight);
  const tokens = words(text);
  for (let index = 0; index < tokens.length; index++) {
    const word = tokens[index]!;
    add(`w:${word}`, 1);
    if (index > 0) add(`b:${tokens[index - 1]} ${word}`, 1);
    const padded = `^${word}$`;
    for (let start = 0; start + 3 <= padded.length; start++) add(`c:${padded.slice(start, start + 3)}`, 0.5);
  }
  return features;
}

/**
 * Embed a text in `dimensions` numbers by the hashing trick (Weinberger et al., 2009): each feature adds its weight,
 * with a sign from a second hash, to one coordinate; counts are damped (1 + ln tf) and the vector scaled to unit
 * length. The same text always gives the same vector; an empty text gives zeros.
 * @example cosineSimilarity(embedText('the cat sat'), embedText('a cat sat down')) > cosineSimilarity(embedText('the cat sat'), embedText('revenue grew'))
 */
export function embedText(text: string, dimensions = defaultEmbeddingDimensions): number[] {
  const vector = new Array<number>(dimensions).fill(0);
  for (const [feature, count] of textFeatures(text)) {
    const slot = fnv1a(feature, 0) % dimensions;
    const sign = fnv1a(feature, 0x9e3779b9) & 1 ? 1 : -1;
    vector[slot]! += sign * (1 + Math.log(count));
  }
  const norm = Math.sqrt(vector.reduce((sum, value) => sum + value * value, 0));
  return norm === 0 ? vector : vector.map((value) => value / norm);
}

// How alike two answers are, for shadow traffic: the built-in embedding's cosine (the gateway's), or a lexical cosine.
import { cosineSimilarity } from '../core/divergence.js';
import { embedText } from '../core/embedding.js';

/** 0 (nothing shared) to 1 (the same); `method` names it in the evidence. */
export interface TextSimilarity {
  method: string;
  compare(a: string, b: string): number;
}

function termCounts(text: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const word of text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}

/** Cosine of the two texts' word-count vectors; two empty texts are the same. */
export function lexicalCosine(a: string, b: string): number {
  const left = termCounts(a);
  const right = termCounts(b);
  if (left.size === 0 && right.size === 0) return 1;
  let dot = 0;
  for (const [word, count] of left) dot += count * (right.get(word) ?? 0);
  const norm = (counts: Map<string, number>) => Math.sqrt([...counts.values()].reduce((sum, count) => sum + count * count, 0));
  const denominator = norm(left) * norm(right);
  return denominator === 0 ? 0 : dot / denominator;
}

export const lexicalSimilarity: TextSimilarity = { method: 'lexical', compare: lexicalCosine };

/** Cosine of the two texts' built-in n-gram embeddings (the drift tools' and the mock's); two empty texts are the same. */
export function embeddingCosine(a: string, b: string): number {
  if (a.trim() === '' && b.trim() === '') return 1;
  return cosineSimilarity(embedText(a), embedText(b));
}

export const embeddingSimilarity: TextSimilarity = { method: 'embedding', compare: embeddingCosine };

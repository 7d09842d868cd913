// Shadow answers are compared by the built-in embedding's cosine: inflections overlap, where a word-count cosine sees nothing shared.
import { describe, expect, it } from 'vitest';
import { cosineSimilarity } from '../src/core/divergence.js';
import { embedText } from '../src/core/embedding.js';
import { embeddingCosine, embeddingSimilarity, lexicalCosine } from '../src/models/similarity.js';

describe('shadow similarity', () => {
  it('is the cosine of the built-in embeddings, 1 for the same answer', () => {
    expect(embeddingSimilarity.method).toBe('embedding');
    const a = 'Your parcel was delivered on Monday.';
    const b = 'The parcels are delivered on Mondays.';
    expect(embeddingCosine(a, b)).toBeCloseTo(cosineSimilarity(embedText(a), embedText(b)), 12);
    expect(embeddingCosine(a, 'your parcel WAS delivered on monday')).toBeCloseTo(1, 12);
    expect(embeddingCosine('', '  ')).toBe(1);
    expect(embeddingCosine(a, '')).toBe(0);
  });

  it('scores inflected rewordings above unrelated answers, where the lexical cosine sees nothing shared', () => {
    const answer = 'deliveries delayed';
    const reworded = 'delivery delays';
    expect(lexicalCosine(answer, reworded)).toBe(0);
    expect(embeddingCosine(answer, reworded)).toBeGreaterThan(0.2);
    expect(embeddingCosine(answer, reworded)).toBeGreaterThan(embeddingCosine(answer, 'quarterly revenue grew'));
  });
});

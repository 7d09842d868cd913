// CPU per request input is bounded: the redaction patterns (core/redact.ts, `retention.content: redacted`) and the
// secret scrubber (core/secrets.ts) take time linear in the text on the inputs that make a backtracking pattern
// quadratic, and a deeply nested body is refused by one scan before it is parsed (gateway/input-limits.ts).
// Guards: the bounded quantifiers of the email rule (an unbounded `[…]+@` took 31 s on 100 kB of letters) and
// jsonDepthOverflow; removing either makes this file fail.
import { describe, expect, it } from 'vitest';
import { redactJson, redactText } from '../src/core/redact.js';
import { createScrubber } from '../src/core/secrets.js';
import { jsonDepthOverflow } from '../src/gateway/input-limits.js';

const size = 1_000_000;
const adversarial: Record<string, string> = {
  'letters': 'a'.repeat(size),
  'letters then @': `${'a'.repeat(size)}@`,
  'dotted words': 'a.'.repeat(size / 2),
  'an @ without a domain end': `a@${'a-'.repeat(size / 2)}`,
  'a domain without a top level': `a@${'a.'.repeat(size / 2)}1`,
  'digits': '1'.repeat(size),
  'digits and dashes': `0${'1-'.repeat(size / 2)}`,
  'dotted digits': '1.'.repeat(size / 2),
  'spaced digits': '1 '.repeat(size / 2),
  'iban-like': `DE12${'A '.repeat(size / 2)}`,
  'phone-like': `+1${' 1'.repeat(size / 2)}`,
};

const elapsed = (work: () => unknown) => {
  const start = performance.now();
  work();
  return performance.now() - start;
};

describe('redaction and scrubbing take linear time on adversarial text', () => {
  const scrub = createScrubber(['sk-proj-Zq81xLmP0vWc4Rt7YbN2kH5s', 'AIzaSyD-0123456789abcdefghij']);
  for (const [name, text] of Object.entries(adversarial)) {
    it(`${name} (1 MB)`, () => {
      // A quadratic pattern takes minutes here; linear ones well under a second on a busy 2-core machine.
      expect(elapsed(() => redactText(text))).toBeLessThan(4000);
      expect(elapsed(() => scrub(text))).toBeLessThan(4000);
    });
  }

  it('still masks what it should', () => {
    expect(redactText('write to jane.doe@example.co.uk or 4111 1111 1111 1111').value).toBe('write to [EMAIL] or [CARD]');
    expect(redactJson({ a: ['x@y.io'] }).value).toEqual({ a: ['[EMAIL]'] });
  });
});

describe('JSON depth is checked in one scan before parsing', () => {
  it('finds where a body nests too deep, ignoring brackets inside strings', () => {
    expect(jsonDepthOverflow('{"a":[[1]]}', 3)).toBe(-1);
    expect(jsonDepthOverflow('{"a":[[[1]]]}', 3)).toBe(7);
    expect(jsonDepthOverflow(JSON.stringify({ text: '[[[[[[[[{{{{{{\\"' }), 2)).toBe(-1);
  });

  it('scans 10 MB of brackets quickly', () => {
    const text = '['.repeat(10_000_000);
    let at = 0;
    expect(elapsed(() => { at = jsonDepthOverflow(text, 64); })).toBeLessThan(1000);
    expect(at).toBe(64);
  });
});

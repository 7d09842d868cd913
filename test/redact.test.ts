// Content redaction: identifiers are masked, check digits decide for cards and IBANs, ordinary text and numbers stay.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ibanValid, luhnValid, redactJson, redactText } from '../src/core/redact.js';

describe('redactText', () => {
  it('masks e-mail addresses', () => {
    const result = redactText('Write to jane.doe+ai@example.co.uk or ops@corp.example today.');
    expect(result.value).toBe('Write to [EMAIL] or [EMAIL] today.');
    expect(result.counts.email).toBe(2);
  });

  it('masks Luhn-valid card numbers with or without separators, and keeps numbers that fail the check', () => {
    expect(redactText('card 4111 1111 1111 1111 exp 12/29').value).toBe('card [CARD] exp 12/29');
    expect(redactText('amex 378282246310005.').value).toBe('amex [CARD].');
    expect(redactText('visa 4111-1111-1111-1111').value).toBe('visa [CARD]');
    expect(redactText('order 4111111111111112 shipped').value).toBe('order 4111111111111112 shipped');
  });

  it('masks IBANs that pass mod 97, printed or compact, and keeps ones that fail', () => {
    expect(redactText('Pay GB82 WEST 1234 5698 7654 32 NOW').value).toBe('Pay [IBAN] NOW');
    expect(redactText('IBAN: DE89370400440532013000.').value).toBe('IBAN: [IBAN].');
    expect(redactText('iban fr1420041010050500013m02606').value).toBe('iban [IBAN]');
    expect(redactText('bad GB82 WEST 1234 5698 7654 33').value).toBe('bad GB82 WEST 1234 5698 7654 33');
  });

  it('masks phone numbers, SSNs and IP addresses', () => {
    const text = 'Call +1 (555) 123-4567, +44 20 7946 0958, (555) 123-4567, 0412 345 678. SSN 123-45-6789 from 10.0.12.7';
    const result = redactText(text);
    expect(result.value).toBe('Call [PHONE], [PHONE], [PHONE], [PHONE]. SSN [SSN] from [IP]');
    expect(result.counts).toEqual({ email: 0, card: 0, iban: 0, ssn: 1, ip: 1, phone: 4 });
  });

  it('leaves ordinary text, dates, amounts and counts alone', () => {
    const text = 'On 2025-03-14T10:00:00Z we used 12345 tokens costing $1,234.56 in 2 calls (model gpt-4o-2024-08-06).';
    expect(redactText(text).value).toBe(text);
  });

  it('never leaves a Luhn-valid 16-digit card number in the output (property)', () => {
    const cardNumber = fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 15, maxLength: 15 }).map((digits) => {
      const body = digits.join('');
      const check = [...'0123456789'].find((digit) => luhnValid(body + digit)) as string;
      return body + check;
    });
    fc.assert(
      fc.property(cardNumber, fc.constantFrom(' ', '-', ''), fc.string({ maxLength: 20 }), (number, separator, prefix) => {
        const printed = number.match(/.{4}/g)!.join(separator);
        const output = redactText(`${prefix.replace(/[0-9]/g, 'x')} ${printed} end`).value;
        expect(output).not.toContain(printed);
        expect(output).toContain('[CARD]');
      }),
    );
  });
});

describe('check digits', () => {
  it('validates Luhn and IBAN numbers', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(ibanValid('GB82WEST12345698765432')).toBe(true);
    expect(ibanValid('GB82WEST12345698765433')).toBe(false);
    expect(ibanValid('NL91ABNA0417164300')).toBe(true);
    expect(ibanValid('NL91ABNA041716430')).toBe(false);
  });
});

describe('redactJson', () => {
  it('masks string values anywhere in a JSON value and keeps keys, numbers and structure', () => {
    const request = { model: 'gpt-4o', messages: [{ role: 'user', content: 'my mail is bob@example.com' }], max_tokens: 4111111111111111 };
    const result = redactJson(request);
    expect(result.value).toEqual({ model: 'gpt-4o', messages: [{ role: 'user', content: 'my mail is [EMAIL]' }], max_tokens: 4111111111111111 });
    expect(result.counts.email).toBe(1);
    expect(request.messages[0].content).toBe('my mail is bob@example.com');
  });
});

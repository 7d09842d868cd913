// Stored forms of key secrets: a salted SHA-256 verifier compared in constant time, and the unsalted form older stores hold.
import { createHash, timingSafeEqual } from 'node:crypto';

const prefix = 's1$';

/**
 * The stored form of a secret: `s1$<salt>$<SHA-256(salt || secret)>`, both base64url. The salt (16 random bytes,
 * passed in so this stays pure) makes equal secrets differ at rest and precomputed tables useless.
 * @example digestSecret('sk-cov-…', randomBytes(16))
 */
export function digestSecret(secret: string, salt: Buffer): string {
  return `${prefix}${salt.toString('base64url')}$${saltedHash(salt, secret).toString('base64url')}`;
}

/** The unsalted SHA-256 (hex) stores made before salting; still accepted until the key is rotated. */
export function legacyDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** Whether `stored` is the unsalted form. */
export function isLegacyDigest(stored: string): boolean {
  return /^[0-9a-f]{64}$/.test(stored);
}

/** Whether `secret` is the one `stored` was made from; compares in constant time. */
export function verifySecret(secret: string, stored: string): boolean {
  if (isLegacyDigest(stored)) return equal(Buffer.from(legacyDigest(secret), 'hex'), Buffer.from(stored, 'hex'));
  if (!stored.startsWith(prefix)) return false;
  const [salt, expected] = stored.slice(prefix.length).split('$');
  if (salt === undefined || expected === undefined) return false;
  return equal(saltedHash(Buffer.from(salt, 'base64url'), secret), Buffer.from(expected, 'base64url'));
}

function saltedHash(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret).digest();
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

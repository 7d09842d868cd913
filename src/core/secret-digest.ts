// Stored forms of key secrets: a salted SHA-256 verifier compared in constant time, and the unsalted form older stores hold.
import { hash, timingSafeEqual } from 'node:crypto';

const prefix = 's1$';

/**
 * The stored form of a secret: `s1$<salt>$<SHA-256(salt ‖ secret)>`, the salt 16 random bytes (passed in so this stays
 * pure) written in base64url, and hashed as that text. It makes equal secrets differ at rest and precomputed tables useless.
 * @example digestSecret('sk-cov-…', randomBytes(16))
 */
export function digestSecret(secret: string, salt: Buffer): string {
  const text = salt.toString('base64url');
  return `${prefix}${text}$${saltedHash(text, secret).toString('base64url')}`;
}

/** The unsalted SHA-256 (hex) stores made before salting; still accepted until the key is rotated. */
export function legacyDigest(secret: string): string {
  return hash('sha256', secret, 'hex');
}

/** Whether `stored` is the unsalted form. */
export function isLegacyDigest(stored: string): boolean {
  return stored.length === 64 && /^[0-9a-f]{64}$/.test(stored);
}

/** A stored digest decoded once, to check many presented secrets against (the hot path keeps these per key). */
export interface ParsedDigest {
  /** The salt as written (base64url); null for the unsalted form. */
  salt: string | null;
  expected: Buffer;
}

/** Decode a stored digest; null when it is neither form (such a record matches no secret). */
export function parseDigest(stored: string): ParsedDigest | null {
  if (isLegacyDigest(stored)) return { salt: null, expected: Buffer.from(stored, 'hex') };
  if (!stored.startsWith(prefix)) return null;
  const [salt, expected] = stored.slice(prefix.length).split('$');
  if (!salt || !expected) return null;
  return { salt, expected: Buffer.from(expected, 'base64url') };
}

/** Whether `secret` is the one the digest was made from; compares in constant time. */
export function matchesDigest(secret: string, digest: ParsedDigest | null): boolean {
  if (digest === null) return false;
  const actual = digest.salt === null ? hash('sha256', secret, 'buffer') : saltedHash(digest.salt, secret);
  return actual.length === digest.expected.length && timingSafeEqual(actual, digest.expected);
}

/** Whether `secret` is the one `stored` was made from; compares in constant time. */
export function verifySecret(secret: string, stored: string): boolean {
  return matchesDigest(secret, parseDigest(stored));
}

function saltedHash(salt: string, secret: string): Buffer {
  return hash('sha256', salt + secret, 'buffer');
}

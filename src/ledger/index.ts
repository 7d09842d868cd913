// The evidence ledger's public API: entries, content, proofs, export and verify (a backend's store opens under stores/).
export type * from './types.js';
export { hashBody, canonicalEntryJson, entryLeafHash } from './entry.js';
export { LedgerEntryError, LedgerQueryError } from './errors.js';
export { verifyLedger, type VerificationResult, type VerifyLedgerOptions } from './verify.js';
export { exportBundle, verifyBundle, BundleFormatError, bundleFormat, type LedgerBundle, type BundleEntry, type BundleVerification, type ExportOptions } from './bundle.js';
export { prepareContent, contentModes } from './content.js';

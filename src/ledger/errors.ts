// Errors of the evidence ledger: a bad entry from a caller, or a query outside the log (the CLI exits 2, HTTP answers 400/404).

/** The caller passed an entry that JSON cannot carry faithfully, or with malformed reserved fields. */
export class LedgerEntryError extends Error {
  override readonly name = 'LedgerEntryError';
}

/** A query names something the log does not have (a sequence number past the end, a size larger than the tree…). */
export class LedgerQueryError extends Error {
  override readonly name = 'LedgerQueryError';
}

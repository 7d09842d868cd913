// The URL a running gateway records beside its embedded store, so CLI commands find it without --url.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { processAlive } from '../stores/sqlite/owner-lock.js';

interface AddressRecord {
  url: string;
  pid: number;
  /** The database it serves: a file for another database in the same folder is not this gateway. */
  store: string;
}

export function addressFilePath(storePath: string): string {
  return join(dirname(storePath), 'gateway.json');
}

function read(path: string): AddressRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as Partial<AddressRecord>;
    if (typeof record.url !== 'string' || typeof record.pid !== 'number' || typeof record.store !== 'string') return undefined;
    return record as AddressRecord;
  } catch {
    return undefined;
  }
}

/** Record `url` for the gateway serving `storePath`; returns the function that removes the record on close. */
export function recordAddress(storePath: string, url: string): () => void {
  const path = addressFilePath(storePath);
  const record: AddressRecord = { url, pid: process.pid, store: resolve(storePath) };
  // Written whole then renamed, so a reader never sees half a file.
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(record)}\n`);
  renameSync(temporary, path);
  return () => {
    const current = read(path);
    if (current?.pid !== record.pid || current.url !== record.url) return;
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  };
}

/** The URL recorded for `storePath` by a gateway that is still running; undefined when none is (or it died). */
export function recordedAddress(storePath: string): string | undefined {
  const record = read(addressFilePath(storePath));
  if (!record || record.store !== resolve(storePath) || !processAlive(record.pid)) return undefined;
  return record.url;
}

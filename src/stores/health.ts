// A store's reachability probe, bounded by a short timeout so /healthz answers even when a backend hangs.
import type { HealthCheck } from './types.js';

/** How long /healthz waits for one backend before calling it unreachable. */
export const healthTimeoutMs = 1000;

/** Run `probe`; a failure or no answer within `timeoutMs` reports the backend unreachable. */
export async function probeHealth(name: HealthCheck['name'], probe: () => Promise<unknown>, timeoutMs = healthTimeoutMs): Promise<HealthCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([probe(), timeout]);
    return { name, ok: true };
  } catch (error) {
    return { name, ok: false, error: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}

// Secret scrubbing: text from outside (a provider's error message) loses every configured secret, whole or in part, before it goes anywhere.

/** Shortest part of a secret that is taken out of text; shorter pieces (OpenAI's masked "…abcd" tail) say nothing useful. */
export const shortestSecretPart = 8;
/** What stands where a secret was. */
export const redacted = '[redacted]';

// Runs of the characters API keys are made of (letters, digits, - _ . + / =), as they appear in quoted or masked keys.
const keyLikeRuns = /[A-Za-z0-9_\-.+/=]{8,}/g;

/**
 * A function that removes the given secrets from text: every whole occurrence, and every key-like run of at least
 * `shortestSecretPart` characters that is part of a secret (a provider that quotes the key truncated or masked, such as
 * "sk-proj-abc1****wxyz"). Secrets shorter than that are removed only whole.
 *
 * @example createScrubber(['sk-live-0123456789'])('Incorrect API key provided: sk-live-0123****6789') // 'Incorrect API key provided: [redacted]****6789'
 */
export function createScrubber(secrets: Iterable<string>): (text: string) => string {
  const list = [...new Set([...secrets].filter((secret) => secret.length > 0))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let result = text;
    for (const secret of list) {
      if (result.includes(secret)) result = result.split(secret).join(redacted);
    }
    return result.replace(keyLikeRuns, (run) => (list.some((secret) => containsPartOf(secret, run)) ? redacted : run));
  };
}

/** Whether `run` shares at least `shortestSecretPart` consecutive characters with `secret`. */
function containsPartOf(secret: string, run: string): boolean {
  if (secret.length < shortestSecretPart) return false;
  for (let start = 0; start + shortestSecretPart <= run.length; start += 1) {
    if (secret.includes(run.slice(start, start + shortestSecretPart))) return true;
  }
  return false;
}

/**
 * A URL as it may be shown, logged or recorded: scheme, host and port only. A webhook's path, query or user info is
 * where its token lives (Slack's hooks.slack.com/services/T…/B…/<secret>), so any of them becomes "…".
 * @example maskUrl('https://hooks.slack.com/services/T0/B0/abc') // 'https://hooks.slack.com/…'
 */
export function maskUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const hidden = parsed.pathname.length > 1 || parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '';
    return `${parsed.protocol}//${parsed.host}/${hidden ? '…' : ''}`;
  } catch {
    return '[not a URL]';
  }
}

// The console session's cookie and CSRF header names, and reading one cookie from a Cookie header.

export const sessionCookieName = 'covenant_session';
export const csrfHeaderName = 'x-covenant-csrf';

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) return decodeURIComponent(part.slice(index + 1).trim());
  }
  return undefined;
}

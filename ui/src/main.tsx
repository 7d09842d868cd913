// The console's shell: sign-in, navigation between pages (hash routes), and what the signed-in role may see.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { currentSession, signIn, signOut, useSession, type Session } from './api';
import { Note } from './components';
import { pages, type PageProps } from './pages';
import './style.css';

function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const session = await signIn(key);
      setKey('');
      onSignedIn(session);
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  return (
    <main class="signin">
      <h1>Covenant console</h1>
      <form onSubmit={submit}>
        <label for="admin-key">Admin key</label>
        <input id="admin-key" type="password" autoComplete="off" value={key} required onInput={(event) => setKey((event.target as HTMLInputElement).value)} />
        <button type="submit" class="primary">Sign in</button>
        <Note error={error} />
        <p class="muted">The key is exchanged for a session cookie; this page never stores it.</p>
      </form>
    </main>
  );
}

function routeOf(hash: string): string {
  const name = hash.replace(/^#\/?/, '').split('?')[0] ?? '';
  return pages.some((page) => page.id === name) ? name : 'overview';
}

function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [route, setRoute] = useState(routeOf(location.hash));
  useSession(session ?? null, () => setSession(null));
  useEffect(() => {
    currentSession().then(setSession, () => setSession(null));
    const changed = () => setRoute(routeOf(location.hash));
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  useEffect(() => {
    const page = pages.find((candidate) => candidate.id === route);
    document.title = `${page?.title ?? 'Console'} · Covenant`;
    document.getElementById('page-heading')?.focus();
  }, [route, session]);
  if (session === undefined) return <main><p>Loading…</p></main>;
  if (session === null) return <SignIn onSignedIn={setSession} />;
  const can = (access: string) => session.allowed.includes(access);
  const visible = pages.filter((page) => page.needs.some(can));
  const page = visible.find((candidate) => candidate.id === route) ?? visible[0];
  const props: PageProps = { session, can };
  return (
    <div class="layout">
      <a class="skip" href="#content">Skip to content</a>
      <header>
        <span class="brand">Covenant</span>
        <nav aria-label="Pages">
          <ul>
            {visible.map((entry) => (
              <li><a href={`#/${entry.id}`} aria-current={entry.id === page?.id ? 'page' : undefined}>{entry.title}</a></li>
            ))}
          </ul>
        </nav>
        <span class="who">{session.name} · {session.role}{session.department ? ` · ${session.department}` : ''}</span>
        <button type="button" onClick={() => signOut().finally(() => setSession(null))}>Sign out</button>
      </header>
      <main id="content">
        {page ? <><h1 id="page-heading" tabIndex={-1}>{page.title}</h1><page.component {...props} /></> : <p>This key may see no page.</p>}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);

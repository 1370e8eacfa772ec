/**
 * @module The app shell: the header (brand, open-by-id box), the page for the current URL, and
 * the token prompt. Navigation is pushState; the back button works through popstate.
 */
import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApiClient, sessionTokenStore } from '../api/client.js';
import type { AuthRequiredError } from '../api/client.js';
import { emptySearch, idFromPaste, parseRoute, routeUrl } from '../route.js';
import type { Route } from '../route.js';
import { SearchPage } from './search-page.js';
import { TokenPrompt } from './token-prompt.js';
import { TracePage } from './trace-page.js';

export function App(): JSX.Element {
  const tokens = useMemo(() => sessionTokenStore(), []);
  const api = useMemo(() => createApiClient(tokens), [tokens]);
  const [route, setRoute] = useState<Route>(() => parseRoute(location.pathname, location.search));
  const [auth, setAuth] = useState<{ wrong: boolean } | null>(null);
  const [authEpoch, setAuthEpoch] = useState(0);
  const [openId, setOpenId] = useState('');

  useEffect(() => {
    const onPop = (): void => setRoute(parseRoute(location.pathname, location.search));
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);
  useEffect(() => {
    if (route.page === 'search') document.title = 'Weft · search';
  }, [route]);

  const navigate = (r: Route): void => {
    const url = routeUrl(r);
    if (url !== location.pathname + location.search) history.pushState(null, '', url);
    setRoute(r);
    window.scrollTo(0, 0);
  };
  const onAuth = (e: AuthRequiredError): void => {
    if (e.hadToken) tokens.set(null);
    setAuth((a) => a ?? { wrong: e.hadToken });
  };
  const open = (e: Event): void => {
    e.preventDefault();
    const id = idFromPaste(openId);
    if (id === '') return;
    setOpenId('');
    navigate({ page: 'trace', traceId: id, spanId: null, zoom: null });
  };

  return (
    <div class="app">
      <header class="top">
        <a
          class="brand"
          href="/"
          onClick={(e) => {
            e.preventDefault();
            navigate({ page: 'search', query: emptySearch(), submitted: false });
          }}
        >
          <span class="logo" aria-hidden="true">
            <i class="l-app" />
            <i class="l-sys" />
            <i class="l-net" />
          </span>
          Weft
        </a>
        <span class="tagline">full-stack traces: APP · SYS · NET</span>
        <form class="open-id" onSubmit={open}>
          <input
            value={openId}
            onInput={(e) => setOpenId((e.target as HTMLInputElement).value)}
            placeholder="trace id, span id or SkyWalking trace id"
            aria-label="open a trace by id"
            data-testid="open-id"
            size={42}
          />
          <button type="submit" data-testid="open-id-submit">
            Open
          </button>
        </form>
      </header>
      <main class="main">
        {route.page === 'search' ? (
          <SearchPage api={api} route={route} authEpoch={authEpoch} onAuth={onAuth} navigate={navigate} />
        ) : (
          <TracePage key={route.traceId} api={api} route={route} authEpoch={authEpoch} onAuth={onAuth} navigate={navigate} />
        )}
      </main>
      {auth !== null ? (
        <TokenPrompt
          wrong={auth.wrong}
          onSubmit={(token) => {
            tokens.set(token);
            setAuth(null);
            setAuthEpoch((n) => n + 1);
          }}
        />
      ) : null}
    </div>
  );
}

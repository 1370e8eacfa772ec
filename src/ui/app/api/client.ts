/**
 * @module The query API client: JSON over fetch, the Bearer token, and errors as values the
 * views can show.
 *
 * The token (`weft --token`) is asked once and kept in sessionStorage: it lives as long as the
 * tab, never in localStorage or the URL. A 401 raises `AuthRequiredError`; the app then asks
 * for the token and retries.
 */
import { fillSpanDefaults } from './types.js';
import type { ApiErrorBody, ApiTrace, TraceColumns, TraceSearchAnswer } from './types.js';

const TOKEN_KEY = 'weft.token';

export class AuthRequiredError extends Error {
  /** True when a token was sent and refused (a wrong token rather than a missing one). */
  readonly hadToken: boolean;
  constructor(hadToken: boolean) {
    super(hadToken ? 'the token was not accepted' : 'this Weft server needs a token');
    this.hadToken = hadToken;
  }
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface TokenStore {
  get(): string | null;
  set(token: string | null): void;
}

/** The token for this tab (sessionStorage); falls back to memory where storage is blocked. */
export function sessionTokenStore(): TokenStore {
  let memory: string | null = null;
  return {
    get() {
      try {
        return window.sessionStorage.getItem(TOKEN_KEY) ?? memory;
      } catch {
        return memory;
      }
    },
    set(token) {
      memory = token;
      try {
        if (token === null) window.sessionStorage.removeItem(TOKEN_KEY);
        else window.sessionStorage.setItem(TOKEN_KEY, token);
      } catch {
        // storage blocked: memory only
      }
    },
  };
}

export interface ServiceList {
  data: string[] | null;
}

export interface OperationList {
  data: { name: string; spanKind?: string }[] | string[] | null;
}

/** The URL of a trace's columns; the page shell preloads the same URL (ui-server.ts). */
export function traceColumnsPath(id: string): string {
  return `/api/v1/traces/${encodeURIComponent(id)}/columns`;
}

export interface ApiClient {
  /** The trace as one object per span (`/api/v1/traces/{id}`, compact). */
  trace(id: string, signal?: AbortSignal): Promise<ApiTrace>;
  /** The trace as columns (`/api/v1/traces/{id}/columns`): what the trace view draws from. */
  traceColumns(id: string, signal?: AbortSignal): Promise<TraceColumns>;
  searchTraces(params: URLSearchParams, signal?: AbortSignal): Promise<TraceSearchAnswer>;
  services(signal?: AbortSignal): Promise<string[]>;
  operations(service: string, signal?: AbortSignal): Promise<string[]>;
}

async function errorOf(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = `${res.status} ${res.statusText}`;
  try {
    const body = (await res.json()) as ApiErrorBody;
    if (typeof body.error === 'object' && body.error !== null) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
    } else if (typeof body.error === 'string') {
      message = body.error;
    } else if (typeof body.message === 'string') {
      message = body.message;
    }
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, message);
}

export function createApiClient(tokens: TokenStore, base = ''): ApiClient {
  const get = async <T>(path: string, signal?: AbortSignal): Promise<T> => {
    const token = tokens.get();
    const res = await fetch(`${base}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(signal ? { signal } : {}),
      // The same mode and credentials as the shell's <link rel=preload crossorigin>, so the
      // preloaded columns answer is the one this fetch gets. No cookie is involved either way.
      mode: 'cors',
      credentials: 'same-origin',
    });
    if (res.status === 401) throw new AuthRequiredError(token !== null);
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  };
  return {
    // Compact: empty fields left out by the server (a third of the bytes), put back here.
    trace: async (id, signal) => fillSpanDefaults(await get<ApiTrace>(`/api/v1/traces/${encodeURIComponent(id)}?compact=true`, signal)),
    traceColumns: (id, signal) => get<TraceColumns>(traceColumnsPath(id), signal),
    searchTraces: (params, signal) => get<TraceSearchAnswer>(`/api/v1/traces?${params.toString()}`, signal),
    async services(signal) {
      const body = await get<ServiceList>('/api/services', signal);
      return (body.data ?? []).filter((s): s is string => typeof s === 'string').sort();
    },
    async operations(service, signal) {
      const body = await get<OperationList>(`/api/services/${encodeURIComponent(service)}/operations`, signal);
      const names = (body.data ?? []).map((o) => (typeof o === 'string' ? o : o.name));
      return [...new Set(names)].sort();
    },
  };
}

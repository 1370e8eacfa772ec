/**
 * @module Bearer-token auth for the HTTP servers (the gRPC receivers check the same token
 * themselves from call metadata, with `tokenInHeaders`).
 *
 * With a token configured, every request needs `Authorization: Bearer <token>`; otherwise 401
 * with the fixed error body. Paths in `openPaths` (the UI shell and /healthz) stay open so a
 * browser and a load balancer can reach them; they carry no span data.
 *
 * SkyWalking agents cannot send a Bearer header: they send the bare token as `Authentication`
 * (SW_AGENT_AUTHENTICATION in the Node agent, `authentication` in the Java one), which is what
 * SkyWalking's OAP checks. The SkyWalking receivers accept that form too (`skywalking: true`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const BEARER = /^Bearer\s+(.+)$/i;

/** Hashing both sides first makes the comparison constant-time whatever the lengths. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** True when the header carries exactly this token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = BEARER.exec(header ?? '');
  const given = m?.[1]?.trim();
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), digest(token));
}

/** True when the headers (or gRPC metadata) carry the token in a form the receiver accepts. */
export function tokenInHeaders(get: (name: string) => string | undefined, token: string, opts: { skywalking: boolean }): boolean {
  if (bearerMatches(get('authorization'), token)) return true;
  if (!opts.skywalking) return false;
  const given = get('authentication')?.trim();
  return given !== undefined && given !== '' && timingSafeEqual(digest(given), digest(token));
}

export interface BearerAuthOptions {
  token: string | null;
  /** Exact paths (query string ignored) that need no token. */
  openPaths?: readonly string[];
  /** Path prefixes that need no token (static UI assets). */
  openPrefixes?: readonly string[];
  /** Also accept SkyWalking's bare-token `Authentication` header (see the module doc). */
  skywalking?: boolean;
}

/** Adds the token check as the first hook of `app` (call before registering routes). */
export function installBearerAuth(app: FastifyInstance, opts: BearerAuthOptions): void {
  const { token } = opts;
  if (token === null || token === '') return;
  const open = new Set(opts.openPaths ?? []);
  const prefixes = opts.openPrefixes ?? [];
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? req.url;
    if (open.has(path) || prefixes.some((p) => path.startsWith(p))) return;
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    if (tokenInHeaders(header, token, { skywalking: opts.skywalking === true })) return;
    await reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="weft"')
      .type('application/json')
      .send({ error: { code: 'TRC_AUTH_UNAUTHORIZED', message: 'missing or wrong Bearer token (Authorization: Bearer <token>)' } });
  });
}

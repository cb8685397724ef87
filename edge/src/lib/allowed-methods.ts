/**
 * The methods a path has, for the 405 answer to one it does not have (RFC 9110 15.5.6: a 405 must
 * say what is allowed in `Allow`). A client that sent `PUT /v1/reconstructions/{id}` or
 * `GET /v1/reconstructions` learns the call exists under another method, rather than a 404 that
 * reads as a wrong URL or an erased job.
 */
import { PatternRouter } from 'hono/router/pattern-router';

/** An entry of Hono's `app.routes`: one handler of one method and path. */
export interface RouteLike {
  readonly method: string;
  readonly path: string;
  readonly handler: unknown;
}

/**
 * Whether an entry answers requests or only passes them on. Hono registers each function of
 * `app.on(methods, paths, ...fns)` as an entry, middleware too (`jobs.on(['GET', 'DELETE'], ['/', '/:id'],
 * requireApiKey, ...)` names DELETE on `/`, which has no DELETE); like Hono's own `isMiddleware`, a
 * function taking `next` is middleware. A sub-app with its own error handler wraps its handlers: unwrapped.
 */
function answers(handler: unknown): boolean {
  let h = handler as { length: number; __COMPOSED_HANDLER?: unknown };
  while (h.__COMPOSED_HANDLER) h = h.__COMPOSED_HANDLER as typeof h;
  return h.length < 2;
}

/**
 * Returns a lookup from a path to its methods, in a stable order (`GET, HEAD, POST, DELETE`, ...),
 * with HEAD wherever GET is, since Hono answers HEAD with the GET handler. Empty when no route
 * matches the path under any method (a 404). Built once from the finished app's routes.
 */
export function allowedMethodsOf(routes: readonly RouteLike[]): (path: string) => string[] {
  const router = new PatternRouter<true>();
  const methods: string[] = [];
  for (const r of routes) {
    if (r.method === 'ALL' || !answers(r.handler)) continue;
    router.add(r.method, r.path, true);
    if (!methods.includes(r.method)) methods.push(r.method);
  }
  const order = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
  const rank = (m: string) => (order.includes(m) ? order.indexOf(m) : order.length);
  return (path) => {
    const found = methods.filter((m) => router.match(m, path)[0].length > 0);
    if (found.includes('GET') && !found.includes('HEAD')) found.push('HEAD');
    return found.sort((a, b) => rank(a) - rank(b));
  };
}

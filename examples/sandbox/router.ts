import type { Route, VendorSim } from './types.ts';

export interface CompiledRoute {
  route: Route;
  pattern: RegExp;
}

/** `{name}` matches one path segment (lazily, so `{id}.json` leaves `.json` outside). */
export function compileRoutes(vendor: VendorSim): CompiledRoute[] {
  return vendor.routes.map((route) => {
    const source = route.template
      .split(/(\{\w+\})/)
      .map((part) => {
        const m = /^\{(\w+)\}$/.exec(part);
        return m ? `(?<${m[1]}>[^/]+?)` : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('');
    return { route, pattern: new RegExp(`^${source}$`) };
  });
}

export function matchRoute(
  routes: CompiledRoute[],
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | null {
  for (const { route, pattern } of routes) {
    if (route.method !== method) continue;
    const m = pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) {
      try {
        params[k] = decodeURIComponent(v);
      } catch {
        params[k] = v;
      }
    }
    return { route, params };
  }
  return null;
}

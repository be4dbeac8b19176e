import { ManualClock, startSandbox, type Sandbox, type SandboxOptions } from '../../examples/sandbox/index.ts';

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export interface CallInit {
  headers?: Record<string, string>;
  json?: unknown;
  body?: string;
}

export async function call(sb: Sandbox, method: string, path: string, init: CallInit = {}): Promise<Res> {
  const headers: Record<string, string> = { ...init.headers };
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(sb.url + path, { method, headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A sandbox on a manual clock with time-scale 1, so tests advance nominal vendor time. */
export async function manualSandbox(options: SandboxOptions = {}): Promise<{ sb: Sandbox; clock: ManualClock }> {
  const clock = new ManualClock();
  const sb = await startSandbox({ timeScale: 1, clock, ...options });
  return { sb, clock };
}

export const basic = (user: string, pass: string): string =>
  'Basic ' + Buffer.from(`${user}:${pass}`).toString('base64');

export function authHeaders(
  sb: Sandbox,
  vendor: 'maestroqa' | 'qualifio' | 'answerhub' | 'acme',
): Record<string, string> {
  const c = sb.config.vendors[vendor].credentials;
  if (vendor === 'maestroqa') return { apitoken: String(c.apiToken) };
  if (vendor === 'qualifio') return { 'x-api-token': String(c.apiToken) };
  return { authorization: basic(String(c.username), String(c.password)) };
}

export async function epToken(sb: Sandbox): Promise<string> {
  const c = sb.config.vendors.elasticpath.credentials;
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: String(c.clientId),
    client_secret: String(c.clientSecret),
  });
  const res = await call(sb, 'POST', '/elasticpath/oauth/access_token', {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  if (res.status !== 200) throw new Error(`token: ${res.status}`);
  return res.json.data.access_token as string;
}

/** Waits (bounded) until check() holds; for effects the sandbox performs asynchronously. */
export async function eventually(check: () => boolean, timeoutMs = 2000): Promise<void> {
  for (let waited = 0; waited < timeoutMs; waited += 10) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met in time');
}

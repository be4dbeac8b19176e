import { EnvHttpProxyAgent, type Dispatcher } from 'undici';

export interface DispatcherOptions {
  /** TCP + TLS connect bound, in ms. */
  connectTimeoutMs?: number;
  /** Idle keep-alive sockets are closed after this, in ms. */
  keepAliveTimeoutMs?: number;
  /** Overrides of HTTP_PROXY / HTTPS_PROXY / NO_PROXY (read from the environment otherwise). */
  proxy?: { httpProxy?: string; httpsProxy?: string; noProxy?: string };
}

/**
 * The process's undici dispatchers: one verifying TLS, one (created only when a vendor
 * config asks for it) that does not. Each keeps a keep-alive pool per origin and honours
 * HTTP(S)_PROXY / NO_PROXY through EnvHttpProxyAgent.
 */
export class Dispatchers {
  readonly #byVerify = new Map<boolean, Dispatcher>();

  constructor(private readonly options: DispatcherOptions = {}) {}

  get(verifyTls: boolean): Dispatcher {
    let d = this.#byVerify.get(verifyTls);
    if (!d) {
      const { connectTimeoutMs = 10_000, keepAliveTimeoutMs = 30_000, proxy = {} } = this.options;
      const tls = { rejectUnauthorized: verifyTls, timeout: connectTimeoutMs };
      d = new EnvHttpProxyAgent({
        ...proxy,
        keepAliveTimeout: keepAliveTimeoutMs,
        // `connect` serves direct connections, `requestTls` the tunnelled ones through a proxy.
        connect: tls,
        requestTls: tls,
      });
      this.#byVerify.set(verifyTls, d);
    }
    return d;
  }

  async close(): Promise<void> {
    const all = [...this.#byVerify.values()];
    this.#byVerify.clear();
    await Promise.all(all.map((d) => d.close()));
  }
}

import type { Dispatcher } from 'undici';

export type Failure = 'timeout' | 'network' | 'tls' | 'too-large' | 'aborted' | 'invalid';

export type AttemptResult =
  | { kind: 'response'; status: number; headers: Record<string, string>; body: Buffer }
  /**
   * `sent` is false only when no byte of the request reached a socket: undici calls
   * onRequestStart right before writing, so an error before it proves non-delivery,
   * whatever its cause (refused, DNS, connect timeout, TLS handshake).
   */
  | { kind: 'error'; failure: Failure; sent: boolean; reason: string };

export interface Attempt {
  dispatcher: Dispatcher;
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string | Buffer;
  timeoutMs: number;
  maxResponseBytes: number;
  signal?: AbortSignal;
  /** Called once, right before the request's first byte is written. */
  onSent(): void;
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_)|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

function classify(err: unknown, sent: boolean): AttemptResult {
  const code = String((err as { code?: unknown } | null)?.code ?? (err as Error | null)?.name ?? 'unknown');
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return { kind: 'error', failure: 'timeout', sent, reason: 'connect' };
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return { kind: 'error', failure: 'timeout', sent, reason: 'headers' };
  if (code === 'UND_ERR_BODY_TIMEOUT') return { kind: 'error', failure: 'timeout', sent, reason: 'body' };
  if (code === 'UND_ERR_INVALID_ARG') return { kind: 'error', failure: 'invalid', sent, reason: code };
  if (TLS_CODE.test(code)) return { kind: 'error', failure: 'tls', sent, reason: code };
  return { kind: 'error', failure: 'network', sent, reason: code };
}

function flatten(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers))
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** One attempt, no retry: resolves (never rejects) with the answer or a classified failure. */
export function attempt(a: Attempt): Promise<AttemptResult> {
  return new Promise<AttemptResult>((resolve) => {
    let sent = false;
    let settled = false;
    let controller: Dispatcher.DispatchController | null = null;
    let cancelled: Error | null = null;
    let status = 0;
    let headers: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let size = 0;

    const finish = (r: AttemptResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      a.signal?.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const stop = (failure: Failure, reason: string): void => {
      // Settle first: aborting makes undici report its own error synchronously.
      finish({ kind: 'error', failure, sent, reason });
      const err = new Error(reason);
      // Before onRequestStart there is no controller yet: abort there, before any write.
      if (controller) controller.abort(err);
      else cancelled = err;
    };
    const timer = setTimeout(() => stop('timeout', sent ? 'answer' : 'connect'), a.timeoutMs);
    const onAbort = (): void => stop('aborted', 'aborted');
    a.signal?.addEventListener('abort', onAbort, { once: true });
    if (a.signal?.aborted) return onAbort();

    const handler: Dispatcher.DispatchHandler = {
      onRequestStart(ctrl) {
        controller = ctrl;
        if (cancelled) return ctrl.abort(cancelled);
        if (!sent) {
          sent = true;
          a.onSent();
        }
      },
      onResponseStart(_ctrl, statusCode, responseHeaders) {
        if (statusCode < 200) return;
        status = statusCode;
        headers = flatten(responseHeaders);
        if (Number(headers['content-length']) > a.maxResponseBytes) stop('too-large', 'content-length');
      },
      onResponseData(_ctrl, chunk) {
        size += chunk.length;
        if (size > a.maxResponseBytes) return stop('too-large', 'body');
        chunks.push(chunk);
      },
      onResponseEnd() {
        finish({ kind: 'response', status, headers, body: Buffer.concat(chunks) });
      },
      onResponseError(_ctrl, err) {
        finish(classify(err, sent));
      },
    };
    try {
      a.dispatcher.dispatch(
        {
          origin: a.url.origin,
          path: a.url.pathname + a.url.search,
          method: a.method as Dispatcher.HttpMethod,
          headers: a.headers,
          body: a.body ?? null,
          headersTimeout: a.timeoutMs,
          bodyTimeout: a.timeoutMs,
        },
        handler,
      );
    } catch (err) {
      finish(classify(err, false));
    }
  });
}

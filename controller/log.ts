import { redact } from './http/redact.ts';
import type { Logger } from './contracts/log.ts';

export type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level?: Level;
  format?: 'json' | 'text';
  /** Secret values to scrub from every line, in addition to email addresses. */
  secrets?: readonly string[];
  write?(line: string): void;
  now?(): Date;
}

/**
 * JSON lines for `lethe run` (one object per line, with level and time), short text for
 * interactive commands. Every string is scrubbed of email addresses and known secrets
 * before it is written: a log line is the easiest place for personal data to leak.
 */
export function createLogger(options: LoggerOptions = {}): Logger & { secrets: string[] } {
  const min = RANK[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  const secrets = [...(options.secrets ?? [])];
  const emit = (level: Level, msg: string, fields: Record<string, unknown> = {}) => {
    if (RANK[level] < min) return;
    const clean = JSON.parse(redact(JSON.stringify({ msg, ...fields }), secrets)) as Record<string, unknown>;
    if (options.format === 'text') {
      const extra = Object.entries(clean)
        .filter(([k]) => k !== 'msg')
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(`${level.padEnd(5)} ${String(clean.msg)}${extra ? ' ' + extra : ''}`);
    } else {
      write(JSON.stringify({ time: now().toISOString(), level, ...clean }));
    }
  };
  return {
    secrets,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

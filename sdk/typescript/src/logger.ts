// Structured logs: one JSON object per line, on stderr (docs/agent-authors.md#logs). Every line goes
// through the Scrubber, so known secret values never reach `kubectl logs`.
import { ENV_LOG_LEVEL } from './contract.ts';
import type { Scrubber } from './sensitive.ts';
import type { LogFields, Logger } from './types.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

export function logLevelFrom(env: NodeJS.ProcessEnv): LogLevel {
  const wanted = env[ENV_LOG_LEVEL]?.toLowerCase();
  return LEVELS.find((l) => l === wanted) ?? 'info';
}

/** Fields every line carries (agent, workflow, step, attempt); they cannot be overridden by a call's fields. */
export type LogBase = { readonly [name: string]: string | number };

export function createLogger(
  write: (line: string) => void,
  scrubber: Scrubber,
  base: LogBase,
  level: LogLevel = 'info',
  now: () => Date = () => new Date(),
): Logger {
  const threshold = LEVELS.indexOf(level);
  const emit = (lvl: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVELS.indexOf(lvl) < threshold) return;
    const extra = fields === undefined ? {} : (scrubber.data(fields) as Record<string, unknown>);
    const core = { time: now().toISOString(), level: lvl, msg: scrubber.text(String(message)) };
    // The core fields first for people reading raw lines; a call's fields never replace them.
    const line: Record<string, unknown> = { ...core, ...extra, ...base, ...core };
    write(`${JSON.stringify(line)}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

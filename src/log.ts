/**
 * Logs go to stderr, always: stdout belongs to command output and to the MCP
 * stdio transport.
 */
import { pino, destination, type LevelWithSilent } from 'pino';

/**
 * Our level names and the Python tool's (Python's logging: WARNING,
 * CRITICAL ...), in any case. Anything else falls back to `warn`, with a
 * warning saying so, rather than stopping the server at start.
 */
const LEVEL_NAMES: Record<string, LevelWithSilent> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  silent: 'silent',
  notset: 'trace',
};

export const DEFAULT_LOG_LEVEL: LevelWithSilent = 'warn';

/** The pino level for a level name of ours or of the Python tool, or undefined for an unknown name. */
export function logLevelFor(name: string): LevelWithSilent | undefined {
  return LEVEL_NAMES[name.trim().toLowerCase()];
}

function levelFromEnvironment(env: NodeJS.ProcessEnv): { level: LevelWithSilent; unknown?: string } {
  const name = env.DOCKER_MCP_LOG_LEVEL ?? env.LOG_LEVEL;
  if (name === undefined || name === '') return { level: DEFAULT_LOG_LEVEL };
  const level = logLevelFor(name);
  return level ? { level } : { level: DEFAULT_LOG_LEVEL, unknown: name };
}

const initial = levelFromEnvironment(process.env);

/** Receives every warning and error logged, e.g. to pass it on to MCP clients as notifications/message. */
export type WarningSink = (level: 'warning' | 'error', message: string) => void;

const warningSinks = new Set<WarningSink>();

export function onWarning(sink: WarningSink): () => void {
  warningSinks.add(sink);
  return () => warningSinks.delete(sink);
}

const PINO_WARN = 40;
const PINO_ERROR = 50;

export const log = pino(
  {
    level: initial.level,
    hooks: {
      logMethod(args, method, level) {
        if (level >= PINO_WARN && warningSinks.size > 0) {
          const message = args.filter((arg) => typeof arg === 'string').join(' ');
          for (const sink of warningSinks) sink(level >= PINO_ERROR ? 'error' : 'warning', message);
        }
        method.apply(this, args);
      },
    },
  },
  destination(2),
);

if (initial.unknown !== undefined) {
  log.warn(`log level ${JSON.stringify(initial.unknown)} is not one of ${Object.keys(LEVEL_NAMES).join(', ')}: using ${DEFAULT_LOG_LEVEL}`);
}

/** True when the environment chose the level (it wins over hosts.yml's server.log_level). */
export function logLevelSetByEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.DOCKER_MCP_LOG_LEVEL || env.LOG_LEVEL);
}

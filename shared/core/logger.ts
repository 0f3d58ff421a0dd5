// JSON-line logging in the shape Cloud Logging reads: `severity`, `message`, fixed field names.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export function createLogger(opts: {
  level?: string;
  component: string;
  destination?: pino.DestinationStream;
}): Logger {
  const options: LoggerOptions = {
    level: opts.level ?? 'info',
    base: { component: opts.component },
    messageKey: 'message',
    errorKey: 'err',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level(label) {
        return { severity: SEVERITY[label] ?? 'DEFAULT' };
      },
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** A logger that drops everything: for tests that do not look at logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

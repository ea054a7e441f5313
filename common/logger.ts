/** A small leveled logger with readable one-line output: `time LEVEL [component] message`. */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(component: string): Logger;
}

export function createLogger(component: string, level: LogLevel = 'info'): Logger {
  const write = (at: LogLevel, message: string): void => {
    if (ORDER[at] < ORDER[level]) return;
    const line = `${new Date().toISOString()} ${at.toUpperCase().padEnd(5)} [${component}] ${message}\n`;
    (at === 'error' || at === 'warn' ? process.stderr : process.stdout).write(line);
  };
  return {
    debug: (m) => write('debug', m),
    info: (m) => write('info', m),
    warn: (m) => write('warn', m),
    error: (m) => write('error', m),
    child: (name) => createLogger(`${component}:${name}`, level),
  };
}

/** A logger that drops everything: for tests that do not want output. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};

/** A logger that keeps every line, as `LEVEL [component] message`: for tests that read what was logged. */
export interface CapturingLogger extends Logger {
  readonly lines: string[];
}

export function capturingLogger(component = 'test', lines: string[] = []): CapturingLogger {
  const keep = (level: LogLevel) => (message: string): void => void lines.push(`${level.toUpperCase()} [${component}] ${message}`);
  return {
    lines,
    debug: keep('debug'),
    info: keep('info'),
    warn: keep('warn'),
    error: keep('error'),
    child: (name) => capturingLogger(`${component}:${name}`, lines),
  };
}

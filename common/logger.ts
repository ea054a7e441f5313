/**
 * The one Logger interface of the API and the satellite, written with pino: one JSON object per
 * line (for log collectors), or readable one-line output (`time LEVEL [component] message k=v`)
 * when LOG_FORMAT=pretty or stdout is a terminal. Every line made while a request is in progress
 * carries its `request_id` (common/request-context.ts). Never pass secrets (passwords, tokens,
 * cookies, signatures) as messages or fields.
 */
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import { currentRequestId } from './request-context';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export type LogFormat = 'json' | 'pretty';

/** Structured fields of a log line (plain values: they go to JSON as they are). */
export type LogFields = Record<string, string | number | boolean | null | undefined>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  child(component: string): Logger;
}

/** Where lines go instead of stdout/stderr (tests capture them): one whole line per write. */
export interface LogSink {
  write(line: string): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Default: pretty when stdout is a terminal, JSON otherwise. */
  format?: LogFormat;
  /** Default: debug and info to stdout, warn and error to stderr. */
  sink?: LogSink;
}

const HIDDEN_IN_PRETTY = new Set(['level', 'time', 'pid', 'hostname', 'component', 'msg']);

/** `{"level":"info","time":...,"component":"api","msg":"hi","a":1}` → `time INFO  [api] hi a=1`. */
export function prettyLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const message = typeof entry.msg === 'string' ? entry.msg : '';
  // A field the message already shows as a word (an access line's method, route, status) is not
  // repeated; a value that is only part of a word (user "x" in "/v1/x") still is.
  const words = new Set(message.split(' '));
  const fields = Object.entries(entry)
    .filter(([key, value]) => !HIDDEN_IN_PRETTY.has(key) && value !== undefined && !((typeof value === 'string' || typeof value === 'number') && words.has(String(value))))
    .map(([key, value]) => `${key}=${typeof value === 'string' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)}`);
  const text = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value) ?? '');
  const level = text(entry.level ?? 'info').toUpperCase().padEnd(5);
  return `${text(entry.time)} ${level} [${text(entry.component)}] ${text(entry.msg ?? '')}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
}

function destinationOf(format: LogFormat, sink: LogSink | undefined): DestinationStream {
  const through = (target: LogSink): DestinationStream => ({ write: (line: string) => target.write(format === 'pretty' ? prettyLine(line) : line) });
  if (sink) return through(sink);
  const stdout: LogSink = { write: (line) => process.stdout.write(line) };
  const stderr: LogSink = { write: (line) => process.stderr.write(line) };
  // dedupe: each line goes only to the stream with the highest level it reaches.
  return pino.multistream(
    [
      { level: 'debug', stream: through(stdout) },
      { level: 'warn', stream: through(stderr) },
    ],
    { dedupe: true },
  );
}

function wrap(root: PinoLogger, component: string): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): void => {
      if (!root.isLevelEnabled(level)) return;
      const requestId = currentRequestId();
      root[level]({ component, ...(requestId ? { request_id: requestId } : {}), ...fields }, message);
    };
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: (name) => wrap(root, `${component}:${name}`),
  };
}

export function createLogger(component: string, options: LogLevel | LoggerOptions = 'info'): Logger {
  const { level = 'info', format = process.stdout.isTTY ? 'pretty' : 'json', sink } = typeof options === 'string' ? { level: options } : options;
  const root = pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destinationOf(format, sink),
  );
  return wrap(root, component);
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

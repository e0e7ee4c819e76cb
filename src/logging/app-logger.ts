// Structured JSON logs (pino) for the whole service: Nest's own messages, ours, and one line per request.
import type { LoggerService } from '@nestjs/common';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from '../config/app-config';
import { RequestContext } from './request-context';

// Belt and braces: no code logs bodies or headers, but if one ever does, these never reach the output.
export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'publicToken',
  '*.publicToken',
  'public_token',
  '*.public_token',
  'linkToken',
  '*.linkToken',
  'link_token',
  '*.link_token',
  'bluumApiKey',
  'bluumApiSecret',
  'authJwtSecret',
  '*.bluumApiSecret',
  '*.authJwtSecret',
];

export function createPinoLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'bluum-bank-linking' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    },
    destination,
  );
}

/**
 * Nest's LoggerService on pino: `context` becomes a field, levels map one to one, and a RequestContext
 * among the arguments (`logger.warn(message, request)`) puts the request's ids on the line.
 */
export class AppLogger implements LoggerService {
  constructor(readonly pino: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(
    level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace',
    message: unknown,
    params: unknown[],
  ): void {
    // Nest passes the context (a class name) last; an error's stack, when any, before it.
    const context = typeof params.at(-1) === 'string' ? (params.at(-1) as string) : undefined;
    const text = typeof message === 'string' ? message : JSON.stringify(message);
    const request = params.find((param): param is RequestContext => param instanceof RequestContext);
    this.pino[level](request ? { context, ...request.fields() } : { context }, text);
  }
}

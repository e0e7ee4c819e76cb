// Types for bench/lib/fault-proxy.js (plain CommonJS), so TypeScript tests can import it:
//   import { startFaultProxy } from '../bench/lib/fault-proxy';

export interface FaultProxyOptions {
  /** Where connections are forwarded. Default: 127.0.0.1. */
  upstreamHost?: string;
  /** Default: 5432. */
  upstreamPort?: number;
}

export interface HealOptions {
  /**
   * false (default): every connection that was frozen is cut (RST) on heal, so its owner sees it die;
   * true: frozen connections carry on, and the bytes held back by TCP are delivered late but intact
   * (a connection accepted while frozen is dialled upstream now). No effect after reset().
   */
  resume?: boolean;
}

export type FaultMode = 'normal' | 'reset' | 'frozen';

export interface FaultProxy {
  /** The proxy listens on 127.0.0.1:port. */
  readonly port: number;
  /** The given postgres URL with its host and port replaced by the proxy's (127.0.0.1:port). */
  url(databaseUrl: string): string;
  /** Cuts every open connection now (RST to the client), and cuts new ones on arrival until heal(). */
  reset(): void;
  /**
   * Keeps every connection open, new ones included, but moves no byte in either direction (sockets are
   * paused, nothing is buffered by the proxy): the database looks silent, not down. Until heal().
   */
  freeze(): void;
  /** Back to normal: new connections pass; connections frozen meanwhile are cut unless `resume`. */
  heal(options?: HealOptions): void;
  /** Cuts every connection and stops listening. */
  close(): Promise<void>;
  /** Open client connections, frozen ones included. */
  readonly connections: number;
  readonly mode: FaultMode;
}

export function startFaultProxy(options?: FaultProxyOptions): Promise<FaultProxy>;

import { Inject, Injectable } from '@nestjs/common';
import type { BluumConfig } from '../config/app-config';
import { BLUUM_CONFIG } from '../config/config.module';

/** The HTTP Basic header value for Bluum's key pair: what the gateway sends and the sandbox expects. */
export function basicAuthorization(key: string, secret: string): string {
  return `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}`;
}

/** Where Bluum is and how to authenticate to it. */
@Injectable()
export class BluumEndpoint {
  readonly timeoutMs: number;
  /** The Basic auth header value; never logged, never put in an error. */
  readonly authorization: string;
  /** True when Bluum is this process's own sandbox (development with no BLUUM_BASE_URL). */
  readonly isSandbox: boolean;
  /** Hosts a hosted link URL may be on; null for the sandbox, whose page is on its own origin. */
  readonly hostedLinkHosts: ReadonlySet<string> | null;
  private url: string | null;

  constructor(@Inject(BLUUM_CONFIG) config: BluumConfig) {
    this.timeoutMs = config.bluumTimeoutMs;
    this.authorization = basicAuthorization(config.bluumApiKey, config.bluumApiSecret);
    this.isSandbox = config.bluumBaseUrl === null;
    this.hostedLinkHosts = this.isSandbox ? null : new Set(config.bluumHostedLinkHosts);
    this.url = config.bluumBaseUrl === null ? null : BluumEndpoint.normalize(config.bluumBaseUrl);
  }

  /** Bluum's versioned base URL, e.g. `https://api.bluum.example/v1`, whether or not the setting ends in /v1. */
  static normalize(baseUrl: string): string {
    const trimmed = baseUrl.replace(/\/+$/, '');
    return trimmed.endsWith('/v1') ? trimmed : `${trimmed}/v1`;
  }

  get baseUrl(): string {
    if (this.url === null) throw new Error('Bluum sandbox address unknown: the server is not listening yet');
    return this.url;
  }

  /** The sandbox's address is known only once the server listens; bootstrap calls this then. */
  attachSandbox(origin: string): void {
    if (this.isSandbox) this.url = BluumEndpoint.normalize(`${origin}/sandbox/bluum`);
  }
}

// Bluum over HTTP: the only code that knows Bluum's paths, wire format, auth and error envelope.
import { HttpService } from '@nestjs/axios';
import { Injectable, Logger } from '@nestjs/common';
import type { AxiosResponse } from 'axios';
import { firstValueFrom } from 'rxjs';
import { AppError } from '../common/app-error';
import type { ErrorCode } from '../common/error-codes';
import { BluumEndpoint } from './bluum-endpoint';
import { BluumGateway } from './bluum.gateway';
import type { BluumItem, BluumLinkToken } from './bluum.types';
import {
  BluumPayloadError,
  errorCode,
  parseConnectData,
  parseLinkToken,
  successData,
} from './bluum-payloads';

const MAX_RESPONSE_BYTES = 1024 * 1024;
const LINK_TOKEN_PATH = '/accounts/{accountId}/funding-sources/plaid/link-token';
const CONNECT_PATH = '/accounts/{accountId}/funding-sources/plaid/connect';

interface CallOptions {
  /** What a 400 with Bluum's error envelope means for this call, if not a generic rejection. */
  badRequestAs?: ErrorCode;
}

@Injectable()
export class HttpBluumGateway extends BluumGateway {
  private readonly logger = new Logger('BluumGateway');

  constructor(
    private readonly http: HttpService,
    private readonly endpoint: BluumEndpoint,
  ) {
    super();
  }

  async createLinkToken(
    bluumAccountId: string,
    options: { enableHostedLink: boolean },
  ): Promise<BluumLinkToken> {
    const data = await this.call('POST', LINK_TOKEN_PATH, bluumAccountId, {
      enable_hosted_link: options.enableHostedLink,
    });
    return this.parse(() => parseLinkToken(data));
  }

  async exchangePublicToken(bluumAccountId: string, publicToken: string): Promise<BluumItem> {
    const data = await this.call(
      'POST',
      CONNECT_PATH,
      bluumAccountId,
      { public_token: publicToken },
      { badRequestAs: 'PUBLIC_TOKEN_REJECTED' },
    );
    return this.parse(() => parseConnectData(data));
  }

  private parse<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof BluumPayloadError) {
        this.logger.warn(`Bluum reply rejected: ${err.message}`);
        throw new AppError('BLUUM_BAD_RESPONSE', 'Bluum answered with data this service cannot use.');
      }
      throw err;
    }
  }

  private async call(
    method: 'GET' | 'POST' | 'DELETE',
    pathTemplate: string,
    bluumAccountId: string,
    body: object | undefined,
    options: CallOptions = {},
  ): Promise<Record<string, unknown>> {
    const path = pathTemplate.replace('{accountId}', encodeURIComponent(bluumAccountId));
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    let response: AxiosResponse<string>;
    try {
      response = await firstValueFrom(
        this.http.request<string>({
          method,
          url: `${this.endpoint.baseUrl}${path}`,
          data: body,
          headers: {
            Authorization: this.endpoint.authorization,
            Accept: 'application/json',
            ...(body ? { 'Content-Type': 'application/json' } : {}),
          },
          // `timeout` alone does not bound a body that trickles in; the signal bounds the whole call.
          timeout: this.endpoint.timeoutMs,
          signal: AbortSignal.timeout(this.endpoint.timeoutMs),
          responseType: 'text',
          transformResponse: (raw: string) => raw,
          validateStatus: () => true,
          maxContentLength: MAX_RESPONSE_BYTES,
          maxRedirects: 0,
        }),
      );
    } catch (err) {
      const failure = describeTransportError(err);
      this.logger.warn(`Bluum ${method} ${pathTemplate} failed (${failure.reason}) after ${elapsed()}ms`);
      throw failure.error;
    }

    this.logger.log(`Bluum ${method} ${pathTemplate} ${response.status} in ${elapsed()}ms`);
    const parsed = parseJson(response.data);
    const status = response.status;
    if (status >= 200 && status < 300) {
      return this.parse(() => successData(parsed));
    }
    const bluumCode = errorCode(parsed);
    if (status === 401 || status === 403 || status === 429 || status >= 500) {
      throw new AppError('BLUUM_UNAVAILABLE', `Bluum is unavailable (HTTP ${status}). Try again later.`);
    }
    if (bluumCode === null || status < 400) {
      throw new AppError('BLUUM_BAD_RESPONSE', `Bluum answered HTTP ${status} without its error envelope.`);
    }
    if (status === 400 && options.badRequestAs === 'PUBLIC_TOKEN_REJECTED') {
      throw new AppError(
        'PUBLIC_TOKEN_REJECTED',
        `Bluum rejected the public token (${bluumCode}): it is invalid, already used or expired. Open Plaid Link again.`,
      );
    }
    throw new AppError(
      'BLUUM_REQUEST_REJECTED',
      `Bluum rejected the request (HTTP ${status}, ${bluumCode}).`,
    );
  }
}

function parseJson(raw: unknown): unknown {
  if (typeof raw !== 'string') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

// Only the error's code is read: Axios errors carry the request config, Basic header included.
function describeTransportError(err: unknown): { reason: string; error: AppError } {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const reason = typeof code === 'string' ? code : 'unknown';
  if (reason === 'ECONNABORTED' || reason === 'ETIMEDOUT' || reason === 'ERR_CANCELED') {
    return { reason, error: new AppError('BLUUM_TIMEOUT', 'Bluum did not answer in time. Try again later.') };
  }
  if (reason === 'ERR_BAD_RESPONSE' || reason === 'ERR_FR_MAX_BODY_LENGTH_EXCEEDED') {
    return {
      reason,
      error: new AppError('BLUUM_BAD_RESPONSE', 'Bluum answered with a reply this service cannot read.'),
    };
  }
  return { reason, error: new AppError('BLUUM_UNAVAILABLE', 'Bluum could not be reached. Try again later.') };
}

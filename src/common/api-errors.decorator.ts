// Documents in Swagger every error code a route can answer with, one example body per code.
import { applyDecorators } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiProperty,
  ApiPropertyOptional,
  ApiResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import { STATUS_CODES } from 'node:http';
import { FundingSourceDto } from '../funding-sources/dto/funding-source.dto';
import { ERROR_CODES, type ErrorCode } from './error-codes';

/** The example request id of every documented body that carries one. */
export const REQUEST_ID_EXAMPLE = '0b6f3c1e-2a4d-4c8e-9f10-1a2b3c4d5e6f';

class FieldErrorDto {
  @ApiProperty({ example: 'publicToken' })
  field!: string;

  @ApiProperty({ example: 'publicToken must be a string' })
  message!: string;
}

export class ErrorBodyDto {
  @ApiProperty({ example: 400 })
  statusCode!: number;

  @ApiProperty({ example: 'Bad Request' })
  error!: string;

  @ApiProperty({ enum: Object.keys(ERROR_CODES), example: 'VALIDATION_FAILED' })
  code!: string;

  @ApiProperty({ example: 'publicToken must be a string' })
  message!: string;

  @ApiProperty({ example: REQUEST_ID_EXAMPLE })
  requestId!: string;

  @ApiPropertyOptional({
    type: [FieldErrorDto],
    description: 'One entry per bad field (VALIDATION_FAILED only)',
  })
  details?: FieldErrorDto[];

  @ApiPropertyOptional({
    type: [FundingSourceDto],
    description:
      'DUPLICATE_ITEM only: the funding sources already linked at this institution with the same accounts',
  })
  fundingSources?: FundingSourceDto[];
}

/** Errors every authenticated route can answer with. */
export const AUTHENTICATED_ROUTE_ERRORS: readonly ErrorCode[] = [
  'VALIDATION_FAILED',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'DATABASE_UNAVAILABLE',
  'AUTH_PROVIDER_UNAVAILABLE',
];
/** Errors of routes that take a JSON body. */
export const BODY_ERRORS: readonly ErrorCode[] = [
  'MALFORMED_JSON',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
];
/** Errors of routes that call Bluum. */
export const BLUUM_ERRORS: readonly ErrorCode[] = [
  'BLUUM_UNAVAILABLE',
  'BLUUM_BAD_RESPONSE',
  'BLUUM_REQUEST_REJECTED',
  'BLUUM_ID_UNSAFE',
  'BLUUM_TIMEOUT',
  'BLUUM_BUSY',
];

export function ApiErrors(...codes: ErrorCode[]): MethodDecorator & ClassDecorator {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes)) {
    const status = ERROR_CODES[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses = [...byStatus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([status, group]) =>
      ApiResponse({
        status,
        description: group.map((code) => `\`${code}\`: ${ERROR_CODES[code].description}`).join('\n\n'),
        ...(group.some((code) => 'retryAfterSeconds' in ERROR_CODES[code]) || status === 429
          ? {
              headers: {
                'Retry-After': {
                  description: 'Seconds to wait before retrying.',
                  schema: { type: 'integer', example: 2 },
                },
              },
            }
          : {}),
        content: {
          'application/json': {
            schema: { $ref: getSchemaPath(ErrorBodyDto) },
            examples: Object.fromEntries(
              group.map((code) => [
                code,
                {
                  summary: ERROR_CODES[code].description,
                  value: {
                    statusCode: status,
                    error: STATUS_CODES[status],
                    code,
                    message: ERROR_CODES[code].description,
                    requestId: REQUEST_ID_EXAMPLE,
                  },
                },
              ]),
            ),
          },
        },
      }),
    );
  return applyDecorators(ApiExtraModels(ErrorBodyDto), ...responses);
}

// Path and query validation for the read path (GET funding sources) without class-transformer and
// class-validator: deposit services call those routes on every transfer, and the ValidationPipe was a
// tenth of their CPU (`npm run bench`). Same rules and the same 400 VALIDATION_FAILED as the DTOs.
import type { PipeTransform } from '@nestjs/common';
import { type FieldError, validationFailed } from './app-error';

// Any UUID version, as class-validator's IsUUID('all'): funding-source ids and cursors.
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path parameter that must match `pattern`. */
export class PatternPipe implements PipeTransform<unknown, string> {
  constructor(
    private readonly field: string,
    private readonly pattern: RegExp,
    private readonly message: string,
  ) {}

  transform(value: unknown): string {
    if (typeof value === 'string' && this.pattern.test(value)) return value;
    throw validationFailed([{ field: this.field, message: this.message }]);
  }
}

/** A query string of at most the given single-valued parameters, each one of its allowed values. */
export class QueryPipe<K extends string, V extends string> implements PipeTransform<
  unknown,
  Partial<Record<K, V>>
> {
  constructor(private readonly allowed: Readonly<Record<K, readonly V[]>>) {}

  transform(query: unknown): Partial<Record<K, V>> {
    const given = (query ?? {}) as Record<string, unknown>;
    const details: FieldError[] = [];
    const result: Partial<Record<K, V>> = {};
    for (const [field, value] of Object.entries(given)) {
      const values: readonly string[] | undefined = Object.hasOwn(this.allowed, field)
        ? this.allowed[field as K]
        : undefined;
      if (values === undefined) {
        details.push({ field, message: `property ${field} should not exist` });
      } else if (typeof value !== 'string' || !values.includes(value)) {
        details.push({
          field,
          message: `${field} must be one of the following values: ${values.join(', ')}`,
        });
      } else {
        result[field as K] = value as V;
      }
    }
    if (details.length > 0) throw validationFailed(details);
    return result;
  }
}

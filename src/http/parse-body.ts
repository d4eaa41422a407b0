import type { z } from 'zod';
import { ToolcageError } from '../errors/toolcage-error.ts';
import { objectBody } from './base-app.ts';

/**
 * A JSON body checked by its zod schema: an object with the schema's keys only
 * and the required ones present (objectBody's messages), then the schema; a
 * refusal is `request_invalid` naming at most five problems.
 */
export function parseBody<T>(schema: z.ZodType<T>, body: unknown, required: string[]): T {
  objectBody(
    body,
    Object.keys((schema as unknown as { shape: Record<string, unknown> }).shape),
    required,
  );
  const r = schema.safeParse(body);
  if (!r.success)
    throw new ToolcageError('request_invalid', {
      message: `Invalid body: ${r.error.issues
        .slice(0, 5)
        .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
        .join('; ')}.`,
    });
  return r.data;
}

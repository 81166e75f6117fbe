/**
 * Tool parameters as the Python docker-mcp's clients send them, and the
 * checks that depend on the action (zod checks each parameter alone).
 *
 * The Python tool's schemas give optional strings a default of "" and
 * optional numbers one of 0, and send null for absent lists: those values
 * mean "absent" here too.
 */
import { z } from 'zod';
import { InvalidInputError } from '../../errors.js';

/** A parameter this action cannot do without; the refusal names the action. */
export function required<T>(value: T | undefined, name: string, action: string): T {
  if (value === undefined) throw new InvalidInputError(name, '', `is required for action ${action}`);
  return value;
}

/** An optional parameter for which `null` and each of `absentValues` mean "not given". */
export function optional<T extends z.ZodType>(schema: T, absentValues: readonly unknown[] = []) {
  return z.preprocess((value) => (value === null || absentValues.includes(value) ? undefined : value), schema.optional());
}

/** A parameter with a default (shown in the schema) that null also asks for, as the Python tool's clients send it. */
export function absentAs<T extends z.ZodDefault>(schema: T) {
  return z.preprocess((value) => (value === null ? undefined : value), schema);
}

/** An optional string: "" (the Python schemas' default) and null mean "not given". */
export function optionalText<T extends z.ZodType<string>>(schema: T) {
  return optional(schema, ['']);
}

/** A list given as a JSON array or, as the Python tool takes it, one comma-separated string. */
export function commaList(maxItemLength: number, maxItems: number) {
  return z
    .union([z.array(z.string()), z.string()])
    .nullish()
    .transform((value) => (typeof value === 'string' ? value.split(',').map((part) => part.trim()).filter((part) => part !== '') : (value ?? undefined)))
    .transform((list) => (list?.length === 0 ? undefined : list))
    .pipe(z.array(z.string().max(maxItemLength)).max(maxItems).optional());
}

/** `host_id: "all"` (the Python tool's discover) means every enabled host, as an absent host_id does. */
export const ALL_HOSTS = 'all';

/** A `follow: true` the server cannot honour: a tool call returns once, with what there is. */
export function refuseFollow(follow: boolean | undefined): void {
  if (follow === true) {
    throw new InvalidInputError('follow', 'true', 'is not supported over MCP: a tool call answers once; ask for the last lines (lines) again, or use the CLI\'s logs -f to stream');
  }
}

/** The actions a tool offers: all of them, or on a read-only server only those that change nothing. */
export function offeredActions<A extends string>(all: readonly [A, ...A[]], readOnlyActions: readonly A[], readOnly: boolean): [A, ...A[]] {
  if (!readOnly) return [...all];
  const [first, ...rest] = all.filter((action) => readOnlyActions.includes(action));
  if (first === undefined) throw new Error('a read-only tool needs at least one action');
  return [first, ...rest];
}

/** The parameters a tool variant shows: all of them, or for reading only those its actions take (others sent are ignored). */
export function offeredParameters<Shape extends Record<string, z.ZodType>>(shape: Shape, readParameters: readonly (keyof Shape & string)[], readOnly: boolean): Partial<Shape> {
  if (!readOnly) return shape;
  return Object.fromEntries(Object.entries(shape).filter(([name]) => readParameters.includes(name))) as Partial<Shape>;
}

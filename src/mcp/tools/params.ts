/** Checks of tool parameters that depend on the action (zod checks each one alone). */
import { InvalidInputError } from '../../errors.js';

export function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new InvalidInputError(name, '', 'is required for this action');
  return value;
}

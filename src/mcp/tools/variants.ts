/**
 * Each tool comes in two variants. The full one (the Python docker-mcp's
 * name and every action) may change or delete things, so its annotations
 * say so and clients ask before each call. The reading one (`…_read`, or the
 * only one on a --read-only server) offers just the actions that change
 * nothing, so a client can let the model call it without asking. An
 * annotation is per tool, not per action: only separate tools can tell a
 * client that `list` is harmless while `remove` is not.
 */
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';

export interface ToolVariant {
  readonly name: string;
  /** Only the actions that change nothing. */
  readonly readOnly: boolean;
}

/** The variants a server offers of the tool `name`. */
export function variantsOf(name: string, readOnlyServer: boolean): ToolVariant[] {
  return readOnlyServer ? [{ name, readOnly: true }] : [{ name, readOnly: false }, { name: `${name}_read`, readOnly: true }];
}

export function annotationsFor(readOnly: boolean): ToolAnnotations {
  return readOnly ? { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true } : { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true };
}

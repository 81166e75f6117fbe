/**
 * Every tool answers in one envelope: `structuredContent` for programs (it
 * matches the tools' output schema) and the same JSON as text for models.
 * Failures are tool errors carrying the typed error's message and kind,
 * never a stack trace.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { DockerMcpError, describeError } from '../errors.js';

export const toolOutputShape = {
  success: z.boolean().describe('true when the action was carried out'),
  action: z.string(),
  host_id: z.string().optional(),
  result: z.unknown().describe('what the action returned; its shape depends on the action'),
};

export function toolSuccess(action: string, hostId: string | undefined, result: unknown): CallToolResult {
  const structured = { success: true, action, ...(hostId === undefined ? {} : { host_id: hostId }), result };
  return { content: [{ type: 'text', text: JSON.stringify(structured, null, 2) }], structuredContent: structured };
}

export function toolFailure(error: unknown): CallToolResult {
  const kind = error instanceof DockerMcpError ? error.kind : 'failed';
  return { isError: true, content: [{ type: 'text', text: `${kind}: ${describeError(error)}` }] };
}

/** Run a tool action, turning any error into a tool error so the server keeps serving. */
export async function answer(action: string, hostId: string | undefined, run: () => Promise<unknown>): Promise<CallToolResult> {
  try {
    return toolSuccess(action, hostId, await run());
  } catch (error) {
    return toolFailure(error);
  }
}

/**
 * Every tool answers in one envelope, success or not: `structuredContent`
 * for programs, with the action's own keys at the top beside `success`,
 * `action` and `host_id` (where the Python docker-mcp's clients read them),
 * and the same as compact JSON text for models. A failure is a tool error
 * (`isError`) whose structured content says `success: false`, the error's
 * kind and its message; its text is "kind: message". Never a stack trace.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { DockerMcpError, describeError, type ErrorKind } from '../errors.js';
import { inMcpWords } from './surface-words.js';
import { toWire, wireText } from './wire.js';

const ERROR_KINDS = ['bad-input', 'config', 'unreachable', 'failed'] as const satisfies readonly ErrorKind[];

/** An action's answer: an object whose keys go to the top of the envelope. */
export type ActionResult = Readonly<Record<string, unknown>>;

/**
 * The output schema of a tool: the envelope, and each key its actions return
 * (optional: which ones are there depends on the action, as each one's
 * description says). Open to further keys, so a newer server's answer still
 * validates against an older client's copy.
 */
export function toolOutputSchema(keys: z.ZodRawShape) {
  return z.looseObject({
    success: z.boolean().describe('true when the action was carried out; false on a failure, which is also isError'),
    action: z.string().describe('the action asked for'),
    host_id: z.string().optional().describe('the host asked for, when one was'),
    kind: z.enum(ERROR_KINDS).optional().describe('failures: bad-input (nothing was done: fix the arguments), config (hosts.yml), unreachable (a host did not answer), failed (it ran and failed)'),
    error: z.string().optional().describe('failures: what went wrong and what to do about it'),
    ...keys,
  });
}

export function toolSuccess(action: string, hostId: string | undefined, result: ActionResult): CallToolResult {
  const structured = { success: true, action, ...(hostId === undefined ? {} : { host_id: hostId }), ...(toWire(result) as ActionResult) };
  return { content: [{ type: 'text', text: wireText(structured) }], structuredContent: structured };
}

export function toolFailure(action: string | undefined, hostId: string | undefined, error: unknown): CallToolResult {
  const kind: ErrorKind = error instanceof DockerMcpError ? error.kind : 'failed';
  const message = inMcpWords(describeError(error));
  const envelope = { success: false, action: action ?? '', ...(hostId === undefined ? {} : { host_id: hostId }), kind, error: message };
  // Facts the error carries (what is missing, a host's key fingerprints) are read by key beside it, never in its place.
  const facts = error instanceof DockerMcpError && error.facts ? Object.entries(toWire(error.facts) as ActionResult).filter(([key]) => !(key in envelope)) : [];
  const structured = { ...envelope, ...Object.fromEntries(facts) };
  return { isError: true, content: [{ type: 'text', text: `${kind}: ${message}` }], structuredContent: structured };
}

/** Run a tool action, turning any error into a tool error so the server keeps serving. */
export async function answer(action: string, hostId: string | undefined, run: () => Promise<ActionResult>): Promise<CallToolResult> {
  try {
    return toolSuccess(action, hostId, await run());
  } catch (error) {
    return toolFailure(action, hostId, error);
  }
}

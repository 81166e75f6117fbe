/**
 * Destructive actions go ahead only when confirmed: by `confirm: true` in the
 * call, or, when the client supports elicitation, by its user answering the
 * question the server asks. A decline changes nothing.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { ConfirmationRequiredError } from '../docker/errors.js';
import { DockerMcpError } from '../errors.js';
import type { ToolExtra } from './progress.js';

export class ConfirmationDeclinedError extends DockerMcpError {
  readonly kind = 'bad-input' as const;

  constructor(effect: string) {
    super(`not confirmed (the user declined): ${effect}; nothing was changed`);
  }
}

export interface Destructive {
  /** What the action does, for the question and the refusal: "down stops and removes ...". */
  readonly effect: string;
  /** What to do without elicitation; default: repeat with confirm: true. */
  readonly retry?: string;
}

/** A user has several minutes to answer; the SDK's default request timeout is one. */
const ANSWER_TIMEOUT_MS = 10 * 60_000;

export type Confirm = (confirm: boolean | undefined, action: Destructive) => Promise<void>;

export function confirmer(server: Server, extra: ToolExtra): Confirm {
  return async (confirm, action) => {
    if (confirm === true) return;
    if (!server.getClientCapabilities()?.elicitation) {
      throw new ConfirmationRequiredError(`${action.effect}: ${action.retry ?? 'repeat with confirm: true'}`);
    }
    const answer = await extra.sendRequest(
      {
        method: 'elicitation/create',
        params: {
          message: `${action.effect}. Go ahead?`,
          requestedSchema: {
            type: 'object',
            properties: { confirm: { type: 'boolean', title: 'Go ahead', description: action.effect } },
            required: ['confirm'],
          },
        },
      },
      ElicitResultSchema,
      { timeout: ANSWER_TIMEOUT_MS, ...(extra.signal ? { signal: extra.signal } : {}) },
    );
    if (answer.action !== 'accept' || answer.content?.confirm !== true) throw new ConfirmationDeclinedError(action.effect);
  };
}

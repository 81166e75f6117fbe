/**
 * Destructive actions go ahead only when confirmed. When the client supports
 * elicitation, its user is always asked, whatever the call's arguments say:
 * `confirm: true` is the model's word, not the user's. Only a client without
 * elicitation can confirm with `confirm: true`; what then stands between the
 * model and the action is the client's own approval of tool calls. A decline
 * or a cancel changes nothing, and the refusal says which it was.
 */
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { ElicitResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { ConfirmationRequiredError } from '../docker/errors.js';
import { DockerMcpError } from '../errors.js';
import type { ToolExtra } from './progress.js';

/** How the user answered: `declined` (said no) or `cancelled` (dismissed the question). */
export type Refusal = 'declined' | 'cancelled';

export class ConfirmationDeclinedError extends DockerMcpError {
  readonly kind = 'bad-input' as const;

  constructor(
    effect: string,
    readonly answer: Refusal = 'declined',
  ) {
    super(`not confirmed (the user ${answer}): ${effect}; nothing was changed`);
  }
}

export interface Destructive {
  /** What the action does, for the question and the refusal: "down stops and removes ...". */
  readonly effect: string;
  /** Lines the user should read before answering (the risky lines of a compose file, old → new of a host). */
  readonly details?: readonly string[];
  /** What to do without elicitation; default: repeat with confirm: true. */
  readonly retry?: string;
  /** The refusal when a client without elicitation did not confirm, where a plain one would not say enough. */
  readonly unconfirmed?: () => Error;
}

/** A user has several minutes to answer; the SDK's default request timeout is one. */
const ANSWER_TIMEOUT_MS = 10 * 60_000;

/** Goes ahead (saying who confirmed: the user, or the model's word from a client that cannot ask) or throws. */
export type Confirm = (confirm: boolean | undefined, action: Destructive) => Promise<'user' | 'model'>;

/** How the confirmation of a request went, for its audit record: who said yes, or how the user said no. */
export type ConfirmationOutcome = 'user' | 'model' | Refusal;
const outcomes = new WeakMap<ToolExtra, ConfirmationOutcome>();

export function confirmationOf(extra: ToolExtra): ConfirmationOutcome | undefined {
  return outcomes.get(extra);
}

export function confirmer(server: Server, extra: ToolExtra): Confirm {
  return async (confirm, action) => {
    const details = action.details && action.details.length > 0 ? `\n${action.details.map((line) => `  ${line}`).join('\n')}` : '';
    if (!server.getClientCapabilities()?.elicitation) {
      if (confirm === true) {
        outcomes.set(extra, 'model');
        return 'model';
      }
      throw action.unconfirmed?.() ?? new ConfirmationRequiredError(`${action.effect}${details ? `:${details}\n` : ': '}${action.retry ?? 'repeat with confirm: true'}`);
    }
    const answer = await extra.sendRequest(
      {
        method: 'elicitation/create',
        params: {
          message: details ? `${action.effect}:${details}\nGo ahead?` : `${action.effect}. Go ahead?`,
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
    if (answer.action === 'cancel') {
      outcomes.set(extra, 'cancelled');
      throw new ConfirmationDeclinedError(action.effect, 'cancelled');
    }
    if (answer.action !== 'accept' || answer.content?.confirm !== true) {
      outcomes.set(extra, 'declined');
      throw new ConfirmationDeclinedError(action.effect, 'declined');
    }
    outcomes.set(extra, 'user');
    return 'user';
  };
}

/**
 * Progress events of long operations (the same events the CLI prints) as MCP
 * `notifications/progress`, sent only when the caller asked for them with a
 * progress token.
 */
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import { describeProgress } from '../cli/format.js';
import { log } from '../log.js';
import type { ProgressListener } from '../transfer/progress.js';

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

export interface ProgressReporter {
  /** Say where the operation is; each call advances the progress count. */
  step(message: string): void;
  /** For engine functions that take a progress listener. */
  readonly listener: ProgressListener;
}

/** Phases a user should hear of even without watching progress: the migration did not go as planned. */
const WARNING_PHASES = new Set(['rollback', 'resume']);

export function progressReporter(extra: ToolExtra): ProgressReporter {
  const token = extra._meta?.progressToken;
  let count = 0;
  const step = (message: string) => {
    if (token === undefined) return;
    count += 1;
    extra
      .sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: count, message } })
      .catch((error: unknown) => log.debug({ error }, 'progress notification not sent'));
  };
  return {
    step,
    listener: (event) => {
      // Also a warning for the client's log (notifications/message), whether or not it asked for progress.
      if (event.type === 'migration-phase' && WARNING_PHASES.has(event.phase)) log.warn(`migration: ${event.message}`);
      step(describeProgress(event));
    },
  };
}

/** The compose command line for a host's flavour: `docker compose` (v2) or `docker-compose` (v1). */
import type { ComposeCapability } from '../host/capabilities.js';
import { validateStackName } from '../names/validate.js';
import { command, type ShellCommand } from '../ssh/quote.js';

export function composeCommand(
  compose: Pick<ComposeCapability, 'command'>,
  stack: string,
  composeFile: string,
  args: readonly string[],
): ShellCommand {
  return command([...compose.command, '--project-name', validateStackName(stack), '--file', composeFile, ...args]);
}

/** The compose command line for a host's flavour: `docker compose` (v2) or `docker-compose` (v1). */
import type { ComposeCapability } from '../host/capabilities.js';
import { validateStackName } from '../names/validate.js';
import { andThen, command, type ShellCommand } from '../ssh/quote.js';

/**
 * Compose for one project and its files, in order (overrides after the file
 * they override). With `workingDir`, run there: compose reads `.env` and
 * resolves relative paths from the project directory, as it did for the user.
 */
export function composeCommand(
  compose: Pick<ComposeCapability, 'command'>,
  stack: string,
  composeFiles: string | readonly string[],
  args: readonly string[],
  workingDir?: string,
): ShellCommand {
  const files = (typeof composeFiles === 'string' ? [composeFiles] : composeFiles).flatMap((file) => ['--file', file]);
  const run = command([...compose.command, '--project-name', validateStackName(stack), ...files, ...args]);
  return workingDir === undefined ? run : andThen(command(['cd', '--', workingDir]), run);
}

/** `--profile P` for each profile: compose's global flags, before the subcommand (v1 1.28+ and v2). */
export function profileFlags(profiles: readonly string[]): string[] {
  return profiles.flatMap((profile) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(profile)) throw new Error(`compose profile ${JSON.stringify(profile)} is not a name compose accepts`);
    return ['--profile', profile];
  });
}

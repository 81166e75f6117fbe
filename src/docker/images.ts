/** Images on one host: pull from a registry. */
import { validateImageRef } from '../names/validate.js';
import { CommandFailedError } from '../ssh/errors.js';
import { command, redirect } from '../ssh/quote.js';
import type { DockerHost } from './docker-host.js';

export async function pullImage(target: DockerHost, image: string, options: { signal?: AbortSignal } = {}): Promise<{ readonly image: string; readonly output: string }> {
  const cmd = redirect(command(['docker', 'pull', validateImageRef(image)]), { stderr: 'stdout' });
  const result = await target.transport.exec(cmd, {
    timeoutMs: 1_800_000,
    okExitCodes: Array.from({ length: 256 }, (_, code) => code),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (result.exitCode !== 0) throw new CommandFailedError(target.host.id, cmd.text, result.exitCode, result.stdout);
  return { image, output: result.stdout };
}

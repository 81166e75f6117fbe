/**
 * Images on one host: pull, look up, save. Every image name is validated, the
 * ones read from compose files as much as the ones a caller gives to pull, and
 * goes after "--", so that no name can be taken for an option of docker.
 */
import { validateImageRef } from '../names/validate.js';
import { CommandFailedError } from '../ssh/errors.js';
import { command, redirect, type ShellCommand } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';
import type { DockerHost } from './docker-host.js';

export async function pullImage(target: DockerHost, image: string, options: { signal?: AbortSignal } = {}): Promise<{ readonly image: string; readonly output: string }> {
  const cmd = redirect(command(['docker', 'pull', '--', validateImageRef(image)]), { stderr: 'stdout' });
  const result = await target.transport.exec(cmd, {
    timeoutMs: 1_800_000,
    okExitCodes: Array.from({ length: 256 }, (_, code) => code),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (result.exitCode !== 0) throw new CommandFailedError(target.host.id, cmd.text, result.exitCode, result.stdout);
  return { image, output: result.stdout };
}

/** Whether the host's engine has this image. */
export async function hasImage(host: SshTransport, image: string): Promise<boolean> {
  const cmd = command(['docker', 'image', 'inspect', '--format', '{{.Id}}', '--', validateImageRef(image)]);
  return (await host.exec(cmd, { okExitCodes: [0, 1] })).exitCode === 0;
}

/** The image's id on the host's engine, or null when it has none by that name. */
export async function imageId(host: SshTransport, image: string): Promise<string | null> {
  const result = await host.exec(command(['docker', 'image', 'inspect', '--format', '{{.Id}}', '--', validateImageRef(image)]), { okExitCodes: [0, 1] });
  return result.exitCode === 0 ? result.stdout.trim() || null : null;
}

/** Give an image a second name on the host (`docker tag`). */
export async function tagImage(host: SshTransport, image: string, as: string): Promise<void> {
  // Validated references start with a letter or digit: neither reads as an option.
  await host.exec(command(['docker', 'tag', validateImageRef(image), validateImageRef(as)]));
}

/** `docker save` of these images, to stdout. */
export function saveImagesCommand(images: readonly string[]): ShellCommand {
  return command(['docker', 'save', '--', ...images.map(validateImageRef)]);
}

/**
 * Things copied between two hosts as one stream through this process: a
 * stack folder (tar) and images (docker save | docker load).
 */
import { command } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';
import { relay } from '../transfer/relay.js';

/** Copy `sourceDir` to `targetDir` (which must not exist yet), owners and modes kept. */
export async function copyFolder(source: SshTransport, sourceDir: string, target: SshTransport, targetDir: string): Promise<number> {
  await target.exec(command(['mkdir', '-p', '--', targetDir]));
  const receiving = await target.stream(command(['tar', '-C', targetDir, '--numeric-owner', '-xpf', '-']), { stdin: 'pipe' });
  const sending = await source.stream(command(['tar', '-C', sourceDir, '--numeric-owner', '-cf', '-', '.']));
  return (await relay(sending, receiving, () => {})).bytes;
}

/** Images among `images` that the host's engine does not have. */
export async function missingImages(host: SshTransport, images: readonly string[]): Promise<string[]> {
  const missing: string[] = [];
  for (const image of images) {
    const result = await host.exec(command(['docker', 'image', 'inspect', '--format', '{{.Id}}', image]), { okExitCodes: [0, 1] });
    if (result.exitCode !== 0) missing.push(image);
  }
  return missing;
}

/** docker save on the source piped into docker load on the target. */
export async function carryImages(source: SshTransport, target: SshTransport, images: readonly string[]): Promise<number> {
  if (images.length === 0) return 0;
  const receiving = await target.stream(command(['docker', 'load', '--quiet']), { stdin: 'pipe' });
  const sending = await source.stream(command(['docker', 'save', ...images]));
  return (await relay(sending, receiving, () => {})).bytes;
}

/** What is at a path on a host: nothing, a directory, or something else. */
import { command } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

export type PathKind = 'missing' | 'directory' | 'other';

export async function pathKind(transport: SshTransport, path: string): Promise<PathKind> {
  const result = await transport.exec(command(['stat', '-c', '%F', '--', path]), { okExitCodes: [0, 1] });
  if (result.exitCode !== 0) return 'missing';
  return result.stdout.trim() === 'directory' ? 'directory' : 'other';
}

/** What is at each path, in one round trip; the same answers as pathKind (a symbolic link is 'other'). */
export async function pathKinds(transport: SshTransport, paths: readonly string[]): Promise<PathKind[]> {
  if (paths.length === 0) return [];
  const script = 'for p; do if [ -L "$p" ]; then echo other; elif [ -d "$p" ]; then echo directory; elif [ -e "$p" ]; then echo other; else echo missing; fi; done';
  const result = await transport.exec(command(['sh', '-c', script, 'sh', ...paths]));
  const kinds = result.stdout.split('\n').filter((line) => line !== '');
  if (kinds.length !== paths.length || !kinds.every((kind): kind is PathKind => kind === 'missing' || kind === 'directory' || kind === 'other')) {
    throw new Error(`on ${transport.hostId}: could not tell what is at ${paths.join(', ')}`);
  }
  return kinds;
}

/** True when the directory has no entries (dotfiles count). */
export async function directoryIsEmpty(transport: SshTransport, path: string): Promise<boolean> {
  const result = await transport.exec(command(['find', path, '-mindepth', '1', '-maxdepth', '1', '-print', '-quit']));
  return result.stdout.trim() === '';
}

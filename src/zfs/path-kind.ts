/** What is at a path on a host: nothing, a directory, or something else. */
import { pathTypes } from '../host/path-types.js';
import { command } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

export type PathKind = 'missing' | 'directory' | 'other';

export async function pathKind(transport: SshTransport, path: string): Promise<PathKind> {
  const result = await transport.exec(command(['stat', '-c', '%F', '--', path]), { okExitCodes: [0, 1] });
  if (result.exitCode !== 0) return 'missing';
  return result.stdout.trim() === 'directory' ? 'directory' : 'other';
}

/** What is at each path, in one round trip: pathKind's answers (a symbolic link is 'other'). */
export async function pathKinds(transport: SshTransport, paths: readonly string[]): Promise<PathKind[]> {
  const types = await pathTypes(transport, paths, { followLinks: false });
  return paths.map((p) => {
    const type = types.get(p);
    return type === 'missing' ? 'missing' : type === 'directory' ? 'directory' : 'other';
  });
}

/** True when the directory has no entries (dotfiles count). */
export async function directoryIsEmpty(transport: SshTransport, path: string): Promise<boolean> {
  const result = await transport.exec(command(['find', path, '-mindepth', '1', '-maxdepth', '1', '-print', '-quit']));
  return result.stdout.trim() === '';
}

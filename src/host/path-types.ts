/** What kind of file each path is on a host, links followed: what a container that binds it gets. */
import { validateSingleLine } from '../names/validate.js';
import { command, orElse, redirect, sequence } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

/** `stat`'s words (`regular file`, `directory`, `socket`, `character special file`, …), or `missing`. One round trip for all; links followed unless `followLinks: false`. */
export async function pathTypes(transport: SshTransport, paths: readonly string[], options: { followLinks?: boolean } = {}): Promise<Map<string, string>> {
  const unique = [...new Set(paths)].map((p) => validateSingleLine(p, 'host path'));
  if (unique.length === 0) return new Map();
  const follow = options.followLinks === false ? [] : ['-L'];
  // One line per path, in order: a missing one prints "missing" instead.
  const probes = unique.map((p) => orElse(redirect(command(['stat', ...follow, '-c', '%F', '--', p]), { stderr: 'null' }), command(['echo', 'missing'])));
  const result = await transport.exec(sequence(...probes));
  const lines = result.stdout.split('\n');
  return new Map(unique.map((p, index) => [p, (lines[index] ?? 'missing').trim() || 'missing']));
}

/** The paths that are empty directories (links followed), of those given. One round trip for all. */
export async function emptyDirectories(transport: SshTransport, paths: readonly string[]): Promise<Set<string>> {
  const unique = [...new Set(paths)].map((p) => validateSingleLine(p, 'host path'));
  if (unique.length === 0) return new Set();
  // find prints each start path that is an empty directory; a missing one is an error it goes past (exit 1).
  const result = await transport.exec(redirect(command(['find', '-L', ...unique, '-maxdepth', '0', '-type', 'd', '-empty', '-print']), { stderr: 'null' }), { okExitCodes: [0, 1] });
  const printed = new Set(result.stdout.split('\n'));
  return new Set(unique.filter((p) => printed.has(p)));
}

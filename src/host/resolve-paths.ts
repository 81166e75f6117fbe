/**
 * Where paths really are on a host, in one round trip: each path's
 * `realpath -m` (symbolic links followed, `..` folded; a missing tail kept as
 * written) and what is there. Paths may hold any byte but NUL: the answer is
 * NUL-separated.
 */
import { command } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

export type ResolvedKind = 'directory' | 'file' | 'other' | 'missing';

export interface ResolvedPath {
  readonly path: string;
  /** Empty when the host could not resolve it. */
  readonly real: string;
  /** What is at the path, links followed. */
  readonly kind: ResolvedKind;
}

// One letter per path (d, f, o, -), a NUL, then each realpath NUL-terminated, or an empty one
// where realpath fails (a name too long, say): one odd path must not fail the others. $@ are the paths.
const RESOLVE_SCRIPT = `for p; do
  if [ -d "$p" ]; then printf d; elif [ -f "$p" ]; then printf f; elif [ -e "$p" ]; then printf o; else printf %s -; fi
done
printf '\\000'
for p; do realpath -m -z -- "$p" 2>/dev/null || printf '\\000'; done`;

const KINDS: Record<string, ResolvedKind> = { d: 'directory', f: 'file', o: 'other', '-': 'missing' };

/** Absolute paths only (a relative one would be taken from the login's home). */
export async function resolvePaths(transport: SshTransport, paths: readonly string[]): Promise<ResolvedPath[]> {
  if (paths.length === 0) return [];
  for (const p of paths) if (!p.startsWith('/')) throw new Error(`resolvePaths takes absolute paths, not ${JSON.stringify(p)}`);
  const result = await transport.exec(command(['sh', '-c', RESOLVE_SCRIPT, 'resolve-paths', ...paths]));
  const [kinds = '', ...reals] = result.stdout.split('\0');
  if (kinds.length !== paths.length || reals.length < paths.length) {
    throw new Error(`on ${transport.hostId}: could not resolve ${paths.length} paths (got ${JSON.stringify(result.stdout.slice(0, 200))})`);
  }
  return paths.map((path, index) => ({ path, real: reals[index] as string, kind: KINDS[kinds[index] as string] ?? 'other' }));
}

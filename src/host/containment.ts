/**
 * Containment checked on where a data path really is, not on its text: a
 * bind `appdata/app/link/etc` with `link -> /` would otherwise copy the
 * host's /etc, and --remove-source would then delete it.
 */
import type { DockerHost } from '../docker/docker-host.js';
import { DockerMcpError } from '../errors.js';
import { relativePathInside } from '../names/validate.js';
import { command } from '../ssh/quote.js';

/**
 * The data paths (under the host's appdata_path) that do not resolve, on the
 * host, to the same place under the resolved appdata_path: one sentence each.
 */
export async function pathsNotContained(target: DockerHost, paths: readonly string[]): Promise<string[]> {
  const appdata = target.host.appdata_path;
  if (!appdata || paths.length === 0) return [];
  // -m: a path that does not exist yet resolves too (only what exists can be a link).
  // Every path is validated (no newline in any), so one per line is unambiguous.
  const result = await target.transport.exec(command(['realpath', '-m', '--', appdata, ...paths]));
  const [realAppdata = '', ...resolved] = result.stdout.split('\n');
  return paths.flatMap((path, index) => {
    const real = resolved[index] ?? '';
    if (real === `${realAppdata}/${relativePathInside(appdata, path, 'data path')}`) return [];
    const where = real.startsWith(`${realAppdata}/`) ? `elsewhere under appdata_path ${appdata}` : `outside appdata_path ${appdata}`;
    return [`${target.host.id}:${path} resolves to ${real}, ${where}, through a symbolic link`];
  });
}

/** A data path that resolves, through a link, to somewhere else than its place under appdata_path. */
export class PathOutsideAppdataError extends DockerMcpError {
  readonly kind = 'failed' as const;
}

/**
 * A standby by rsync (either host without ZFS): the copy of each data path is
 * kept under the standby's appdata_path, in a directory of docker-mcp's own
 * that no stack uses (`.docker-mcp-standby/HOST/STACK/…`, the path relative
 * to appdata as a migration there would lay it out). A migration onto the
 * standby clones it into place with hard links before its first rsync, which
 * then sends only what changed; once the stack runs there, the copy goes.
 *
 * Where the copy is comes from hosts.yml and standby.yml only, never from
 * what the standby holds.
 */
import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import type { HostConfig } from '../config/schema.js';
import type { DockerHost } from '../docker/docker-host.js';
import { InvalidInputError } from '../errors.js';
import { relativePathInside, validateHostId, validateStackName } from '../names/validate.js';
import { command } from '../ssh/quote.js';
import { loadStandbyFile } from './declarations.js';

export const STAGING_DIRECTORY = '.docker-mcp-standby';

/** Where `standby` keeps the rsync copy of `sourceHostId`'s `stack`. */
export function standbyStagingDir(standby: HostConfig, sourceHostId: string, stack: string): string {
  if (!standby.appdata_path) throw new InvalidInputError('standby', standby.id, 'has no appdata_path in hosts.yml: a standby by rsync keeps its copy under it');
  return path.posix.join(standby.appdata_path, STAGING_DIRECTORY, validateHostId(sourceHostId), validateStackName(stack));
}

/** The copy of the data path a migration to the standby would put at `targetPath`. */
export function stagedPathFor(standby: HostConfig, stagingDir: string, targetPath: string): string {
  return path.posix.join(stagingDir, relativePathInside(standby.appdata_path ?? '/', targetPath, 'target path'));
}

/**
 * For a migration from `sourceHostId` to `target`: the staging directory of
 * the stack (compose's project name) when standby.yml declares `target` its
 * standby, else null.
 */
export function standbyStagingOf(config: LoadedConfig, sourceHostId: string, target: HostConfig): (stack: string) => Promise<string | null> {
  return async (stack) => {
    const { standbys } = await loadStandbyFile(config.location.path);
    const declared = standbys.some((s) => s.host === sourceHostId && s.to === target.id && s.stack === stack);
    return declared && target.appdata_path ? standbyStagingDir(target, sourceHostId, stack) : null;
  };
}

// $1 the staged copy, $2 where the migration puts the data. Exit 3: nothing staged; 4: the target path holds something.
const CLONE_SCRIPT = [
  '[ -d "$1" ] || exit 3',
  'if [ -e "$2" ] || [ -L "$2" ]; then',
  '  [ -d "$2" ] && [ ! -L "$2" ] && [ -z "$(ls -A -- "$2")" ] || exit 4',
  'fi',
  'mkdir -p -- "$(dirname -- "$2")"',
  // Hard links: no data is copied, and rsync replaces a changed file by a new one, so the staged copy stays as it was.
  'exec cp -a -l -T -- "$1" "$2"',
].join('\n');

/**
 * Clone each staged copy into its target path (missing or an empty
 * directory) on the standby. Returns the target paths cloned; a path with
 * nothing staged, or holding something, is left to the transfer as it is.
 */
export async function cloneStagedCopies(target: DockerHost, stagingDir: string, targetPaths: readonly string[]): Promise<string[]> {
  const cloned = await Promise.all(
    targetPaths.map(async (targetPath) => {
      const staged = stagedPathFor(target.host, stagingDir, targetPath);
      const result = await target.transport.exec(command(['sh', '-c', CLONE_SCRIPT, 'clone-staged', staged, targetPath]), { okExitCodes: [0, 3, 4] });
      return result.exitCode === 0 ? targetPath : null;
    }),
  );
  return cloned.filter((p): p is string => p !== null);
}

/**
 * Remove what a pass staged (the copy of the data, or the stack folder) once
 * the stack runs on the standby from its own verified data: the copy shares
 * its files' inodes with it, or is stale. Only a directory in docker-mcp's
 * staging directory is removed; its empty parents too, unless `keepParents`.
 */
export async function removeStaged(standby: DockerHost, stagingDir: string, keepParents = false): Promise<void> {
  const hostDir = path.posix.dirname(stagingDir);
  const root = path.posix.dirname(hostDir);
  if (path.posix.basename(root) !== STAGING_DIRECTORY) throw new Error(`refused to remove ${stagingDir}: not a standby staging directory`);
  await standby.transport.exec(command(['rm', '-rf', '--one-file-system', '--', stagingDir]));
  if (!keepParents) await standby.transport.exec(command(['rmdir', '--', hostDir, root]), { okExitCodes: [0, 1] });
}

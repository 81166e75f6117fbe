/**
 * The directory of ssh's ControlMaster sockets. Whoever can place a socket
 * there is handed every remote command, its stdin (.env secrets included) and
 * gets to forge the answers, so the directory must be ours alone: created
 * 0700, and, when it already exists, refused unless it is a real directory
 * owned by us with no access for group or others.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DockerMcpError } from '../errors.js';

/** `$XDG_RUNTIME_DIR/docker-mcp-ssh` where set (private to the user by design), else a per-uid directory in the temp dir. */
export function controlDirectory(
  env: NodeJS.ProcessEnv = process.env,
  tmpdir: string = os.tmpdir(),
  uid: number | undefined = process.getuid?.(),
): string {
  const runtime = env.XDG_RUNTIME_DIR;
  if (runtime && path.isAbsolute(runtime)) return path.join(runtime, 'docker-mcp-ssh');
  return path.join(tmpdir, `docker-mcp-ssh-${uid ?? 'user'}`);
}

/** Create the directory private, or check the existing one is; throws UnsafeControlDirectoryError otherwise. */
export function ensureControlDirectory(directory: string, uid: number | undefined = process.getuid?.()): void {
  try {
    mkdirSync(directory, { recursive: true, mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const stats = lstatSync(directory);
  if (stats.isSymbolicLink()) {
    throw new UnsafeControlDirectoryError(directory, 'is a symbolic link', `remove the link (rm ${directory}); it is then created afresh`);
  }
  if (!stats.isDirectory()) {
    throw new UnsafeControlDirectoryError(directory, 'is not a directory', `remove it (rm ${directory}); it is then created afresh`);
  }
  if (uid !== undefined && stats.uid !== uid) {
    throw new UnsafeControlDirectoryError(
      directory,
      `is owned by uid ${stats.uid}, not by us (uid ${uid})`,
      `remove it as its owner or root (rm -r ${directory}), or set XDG_RUNTIME_DIR to a directory of your own`,
    );
  }
  if ((stats.mode & 0o077) !== 0) {
    const mode = (stats.mode & 0o777).toString(8).padStart(4, '0');
    throw new UnsafeControlDirectoryError(directory, `has mode ${mode}: group and others must have no access`, `chmod 700 ${directory}`);
  }
}

export class UnsafeControlDirectoryError extends DockerMcpError {
  readonly kind = 'config' as const;

  constructor(
    readonly directory: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(
      `the ssh control socket directory ${directory} ${problem}; another local user could read and forge every remote command through it, so it is not used. Fix: ${fix}`,
    );
  }
}

/**
 * Every folder docker-mcp removes on a host passes here first. Never removed,
 * as the paths resolve on the host (links followed):
 *
 * - `/`, compose_path, appdata_path, or a folder that holds either;
 * - a folder that holds a compose file of another stack than the one it is
 *   removed for: the compose file of a stack folder under compose_path, or one
 *   the engine's labels of another project name (believed or not: keeping is
 *   the safe side). A stack folder whose stack now goes by another name than
 *   the migration's is kept too, and the report says so.
 *
 * A stack's labels, a journal or a plan can name any path; this is what
 * stops a forged `working_dir=<compose_path>` from becoming `rm -rf` of
 * every stack.
 */
import { DockerMcpError } from '../errors.js';
import { resolvePaths } from '../host/resolve-paths.js';
import { command } from '../ssh/quote.js';
import { isUnderPath } from './compose-file.js';
import type { DockerHost } from './docker-host.js';
import { knownStacks } from './stacks.js';

export class FolderRemovalRefusedError extends DockerMcpError {
  readonly kind = 'failed' as const;
}

/** A compose file of some stack, as it resolves on the host. */
interface ProtectedFile {
  readonly real: string;
  readonly stack: string;
}

export class RemovalGuard {
  private constructor(
    private readonly target: DockerHost,
    /** Resolved compose_path and appdata_path, each with how hosts.yml writes it. */
    private readonly roots: readonly { readonly field: string; readonly written: string; readonly real: string }[],
    private readonly files: readonly ProtectedFile[],
  ) {}

  /** What the host holds now: its roots and every stack's compose files but `ownStack`'s. Two round trips and the stack listing. */
  static async open(target: DockerHost, ownStack: string): Promise<RemovalGuard> {
    const written = (['compose_path', 'appdata_path'] as const).flatMap((field) => (target.host[field] ? [{ field, written: target.host[field] as string }] : []));
    const stacks = target.host.compose_path ? await knownStacks(target) : [];
    const others = stacks.filter((s) => s.summary.name !== ownStack);
    // Stack folders' own files first: a refusal names the stack that owns the file rather than one whose labels point at it.
    const named = [
      ...others.flatMap((s) => (s.location?.configFiles ?? []).map((file) => ({ file, stack: s.summary.name }))),
      ...others.flatMap((s) => s.labelFiles.map((file) => ({ file, stack: s.summary.name }))),
    ];
    const resolved = await resolvePaths(target.transport, [...written.map((w) => w.written), ...named.map((n) => n.file)]);
    const reals = resolved.map((r) => r.real);
    const roots = written.map((w, index) => ({ ...w, real: reals[index] as string }));
    const files = named.map((n, index) => ({ real: reals[written.length + index] as string, stack: n.stack }));
    return new RemovalGuard(target, roots, files);
  }

  /** Why `folder` must not be removed ("it is or holds compose_path ..."), or null. */
  async refusal(folder: string): Promise<string | null> {
    const [resolved] = await resolvePaths(this.target.transport, [folder]);
    const real = resolved?.real ?? folder;
    if (real === '') return 'it cannot be resolved on the host (realpath failed)';
    const it = real === folder ? 'it' : `it resolves to ${real}, which`;
    if (real === '/') return `${it} is the root folder`;
    for (const root of this.roots) {
      if (isUnderPath(root.real, real) || isUnderPath(root.written, folder)) return `${it} is or holds ${root.field} ${root.written}`;
    }
    const held = this.files.find((f) => isUnderPath(f.real, real));
    if (held) return `${it} holds ${held.real}, a compose file of stack ${held.stack}`;
    return null;
  }

  /** `rm -rf --one-file-system` of the folder, once it passes; a typed refusal otherwise, with nothing removed. */
  async removeFolder(folder: string, options: { readonly timeoutMs?: number } = {}): Promise<void> {
    const refused = await this.refusal(folder);
    if (refused) throw new FolderRemovalRefusedError(`refusing to remove ${this.target.host.id}:${folder}: ${refused}; nothing was removed`);
    await this.target.transport.exec(command(['rm', '-rf', '--one-file-system', '--', folder]), options.timeoutMs ? { timeoutMs: options.timeoutMs } : {});
  }
}

/** One folder removed through a guard opened for it. */
export async function removeFolderGuarded(target: DockerHost, ownStack: string, folder: string, options: { readonly timeoutMs?: number } = {}): Promise<void> {
  await (await RemovalGuard.open(target, ownStack)).removeFolder(folder, options);
}

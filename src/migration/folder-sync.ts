/**
 * The stack folder after the stop: its copy was made while the stack ran, so
 * compare the source's folder (now still) with the copy by manifest, content
 * hashes included, and send only what differs: removed entries are removed,
 * changed and new ones sent by tar. The stack files rewritten for the target
 * (compose files, `.env`) are compared with what the rewrite of the source's
 * current text gives; when one of them changed on the source since the plan,
 * the caller plans them again and they are rewritten from the new text.
 * Works from the two hosts alone (no state of the copy), so a resumed run
 * ends with the same folder as an uninterrupted one.
 */
import path from 'node:path';
import type { DockerHost } from '../docker/docker-host.js';
import { command } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';
import { compareManifests, describeDifferences, readManifest, type Manifest, type ManifestDifference } from '../transfer/manifest.js';
import { relay } from '../transfer/relay.js';
import type { VerifiedPath } from './journal.js';
import { sha256, type TargetFile } from './plan.js';
import { copyFolder, FolderCopyDiffersError, TAR_KEEP, type Throttle } from './stream-copy.js';

export interface FolderSyncOutcome {
  readonly verified: VerifiedPath;
  /** Entries sent again because they changed (or appeared) on the source since the copy. */
  readonly sent: readonly string[];
  /** Entries removed from the copy because they are gone from the source. */
  readonly removed: readonly string[];
  /** Stack files written again, rewritten for the target. */
  readonly rewritten: readonly string[];
  /** A stack file changed on the source since the plan: the rewrite was made from its new text. */
  readonly replanned: boolean;
}

export interface FolderSyncRequest {
  readonly source: DockerHost;
  readonly target: DockerHost;
  readonly sourceDir: string;
  readonly targetDir: string;
  /** The stack files as the plan rewrote them. */
  readonly files: readonly TargetFile[];
  /** Plan the stack files again from the source's current text (a compose file or .env changed after the plan). */
  readonly replan: () => Promise<readonly TargetFile[]>;
  /** Write the rewritten files and check compose's config on the target. */
  readonly writeFiles: (files: readonly TargetFile[]) => Promise<void>;
  readonly throttle?: Throttle;
}

export async function syncStackFolder(request: FolderSyncRequest): Promise<FolderSyncOutcome> {
  const { source, target, sourceDir, targetDir } = request;
  const exists = async (dir: string) => (await target.transport.exec(command(['test', '-d', dir]), { okExitCodes: [0, 1] })).exitCode === 0;
  // A journal of an older order (the folder came after the stop) resumed here: no copy yet.
  if (!(await exists(targetDir))) await copyFolder(source.transport, sourceDir, target.transport, targetDir, request.throttle);
  const [sourceNow, copy] = await Promise.all([readManifest(source.transport, sourceDir), readManifest(target.transport, targetDir)]);

  const stackFileChanged = request.files.some((file) => sourceNow.entries.get(file.name)?.sha256 !== file.sourceSha256);
  const files = stackFileChanged ? await request.replan() : request.files;
  const rewrittenNames = new Set(files.filter((f) => f.changed).map((f) => f.name));

  const plan = folderDifference(sourceNow, copy, rewrittenNames);
  if (plan.remove.length > 0) {
    await target.transport.exec(command(['rm', '-rf', '--', ...plan.remove.map((p) => path.posix.join(targetDir, p))]));
  }
  if (plan.send.length > 0) await sendEntries(source.transport, sourceDir, target.transport, targetDir, plan.send, request.throttle);

  const stale = files.filter((f) => f.changed && (plan.send.includes(f.name) || copy.entries.get(f.name)?.sha256 !== sha256(f.text)));
  const touched = plan.remove.length + plan.send.length + stale.length > 0 || stackFileChanged;
  if (touched) await request.writeFiles(files);

  const after = touched ? await readManifest(target.transport, targetDir) : copy;
  const left = remainingDifferences(sourceNow, after, files);
  if (left.length > 0) {
    throw new FolderCopyDiffersError(`the copy of ${source.host.id}:${sourceDir} on ${target.host.id}:${targetDir} still differs after sending what changed: ${describeDifferences(left)}`);
  }
  return {
    verified: { path: targetDir, entries: after.entries.size, bytes: after.totalBytes },
    sent: plan.send,
    removed: plan.remove,
    rewritten: touched ? files.filter((f) => f.changed).map((f) => f.name) : [],
    replanned: stackFileChanged,
  };
}

/**
 * Pure: what to remove from the copy and what to send again so that it
 * equals the source, leaving out the files rewritten for the target (and the
 * root's mtime, which their rewrite changes).
 */
export function folderDifference(source: Manifest, copy: Manifest, rewritten: ReadonlySet<string>): { remove: string[]; send: string[] } {
  const differences = compareManifests(source, copy, { ignoreRootMtime: true }).filter((d) => !rewritten.has(d.path));
  const remove = new Set<string>();
  const send = new Set<string>();
  for (const d of differences) {
    const onSource = source.entries.get(d.path);
    const onCopy = copy.entries.get(d.path);
    // Replaced rather than written into: a file hard-linked on the copy must not change its other names.
    if (d.path !== '' && onCopy && (!onSource || onSource.type !== onCopy.type || onCopy.type !== 'd')) remove.add(d.path);
    if (onSource) send.add(d.path);
  }
  // Only the outermost removal is needed. Sorted, a folder comes before what is in it, as tar needs.
  const outer = [...remove].filter((p) => ![...remove].some((other) => p.startsWith(`${other}/`)));
  return { remove: outer.sort(), send: [...send].sort() };
}

/** Every way the copy still differs from the source: the rewritten files are compared with their rewritten text. */
export function remainingDifferences(source: Manifest, copy: Manifest, files: readonly TargetFile[]): ManifestDifference[] {
  const rewritten = new Map(files.filter((f) => f.changed).map((f) => [f.name, sha256(f.text)]));
  const left = compareManifests(source, copy, { ignoreRootMtime: true }).filter((d) => !rewritten.has(d.path));
  for (const [name, expected] of rewritten) {
    const actual = copy.entries.get(name)?.sha256 ?? null;
    if (actual !== expected) left.push({ path: name, field: 'sha256 (rewritten for the target)', source: expected, target: String(actual) });
  }
  return left;
}

/** tar of just these entries (no recursion: each changed entry is listed), numeric owners, xattrs, ACLs, holes kept. */
async function sendEntries(source: SshTransport, sourceDir: string, target: SshTransport, targetDir: string, entries: readonly string[], throttle?: Throttle): Promise<void> {
  const names = entries.map((p) => (p === '' ? '.' : `./${p}`));
  const receiving = await target.stream(command(['tar', '-C', targetDir, ...TAR_KEEP, '-xpf', '-']), { stdin: 'pipe' });
  const sending = await source.stream(command(['tar', '-C', sourceDir, ...TAR_KEEP, '--sparse', '--no-recursion', '-cf', '-', '--', ...names]));
  await relay(sending, receiving, () => {}, throttle);
}

/**
 * A manifest of a directory tree on a host: every entry's type, mode, owner,
 * size, mtime, link target, hard-link group, sparseness, content hash and
 * extended attributes. Two manifests are compared to prove a copy lost
 * nothing before the original is removed. Needs GNU find and coreutils on the
 * host; xattrs need getfattr (package `attr`) and are reported as unchecked
 * without it.
 */
import { randomBytes } from 'node:crypto';
import { command, strictPipeline } from '../ssh/quote.js';
import type { SshTransport } from '../ssh/transport.js';

export interface ManifestEntry {
  /** Relative to the tree's root; "" is the root itself. */
  readonly path: string;
  /** find's %y: f d l p s c b */
  readonly type: string;
  readonly mode: string;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  /** Seconds since the epoch as find prints it (with fraction). */
  readonly mtime: string;
  readonly linkTarget: string;
  /** Set when the file has several names inside the tree: the first of them, sorted. */
  readonly hardLinkGroup: string | null;
  /** Regular files that occupy fewer blocks than their size. */
  readonly sparse: boolean;
  readonly sha256: string | null;
  readonly xattrs: Readonly<Record<string, string>>;
}

export interface Manifest {
  readonly root: string;
  readonly entries: ReadonlyMap<string, ManifestEntry>;
  readonly totalBytes: number;
  /** False when the host lacks getfattr: xattrs and ACLs were not compared. */
  readonly xattrsChecked: boolean;
}

const FIELDS = ['%P', '%y', '%m', '%U', '%G', '%s', '%T@', '%b', '%i', '%n', '%l'];
const FIND_FORMAT = `${FIELDS.join('\\0')}\\0`;

/**
 * `hashes: false` reads metadata only (type, mode, owner, size, times, links,
 * xattrs): cheap, for data whose content another check already proves (a ZFS
 * snapshot that arrived with the same guid: its stream is checksummed).
 */
export async function readManifest(transport: SshTransport, root: string, options: { hashes?: boolean } = {}): Promise<Manifest> {
  // One round trip for the three reads; each part ends at a separator no host can guess.
  const separator = `docker-mcp-${randomBytes(16).toString('hex')}`;
  const result = await transport.execBytes(
    command(['sh', '-c', MANIFEST_SCRIPT, 'sh', root, FIND_FORMAT, separator, options.hashes === false ? 'no' : 'yes']),
    { timeoutMs: 3_600_000 },
  );
  const [listing, hashes, attributes, status] = splitOn(result.stdout, Buffer.from(`\0${separator}\0`));
  if (listing === undefined || hashes === undefined || attributes === undefined || status === undefined) {
    throw new Error(`reading the manifest of ${root} on ${transport.hostId}: the output was cut short`);
  }
  return buildManifest(root, listing, hashes, status.toString() === '127' ? null : attributes.toString('utf8'));
}

/**
 * $1 root, $2 find's format, $3 separator, $4 yes to hash. getfattr's exit 1
 * (a file gone meanwhile) still gives its output; 127 means the host lacks it.
 */
const MANIFEST_SCRIPT = [
  'cd -- "$1" || exit',
  'find . -printf "$2" || exit',
  "printf '\\0%s\\0' \"$3\"",
  `if [ "$4" = yes ]; then ${strictPipeline(command(['find', '.', '-type', 'f', '-print0']), command(['xargs', '-0', '-r', 'sha256sum', '-z'])).text} || exit; fi`,
  "printf '\\0%s\\0' \"$3\"",
  'getfattr -R -P -d -m - -e hex .; status=$?',
  "printf '\\0%s\\0%s' \"$3\" \"$status\"",
  'case $status in 0|1|127) exit 0;; *) exit "$status";; esac',
].join('\n');

function splitOn(buffer: Buffer, separator: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  let from = 0;
  for (let at = buffer.indexOf(separator, from); at !== -1; at = buffer.indexOf(separator, from)) {
    parts.push(buffer.subarray(from, at));
    from = at + separator.length;
  }
  parts.push(buffer.subarray(from));
  return parts;
}

/** Pure: turn the three outputs into a manifest. Exported for unit tests. */
export function buildManifest(root: string, listing: Buffer, hashes: Buffer, getfattrOutput: string | null): Manifest {
  const fields = listing.toString('utf8').split('\0');
  const raw: { path: string; type: string; mode: string; uid: number; gid: number; size: number; mtime: string; blocks: number; inode: string; links: number; linkTarget: string }[] = [];
  for (let i = 0; i + FIELDS.length <= fields.length; i += FIELDS.length) {
    const [path = '', type = '', mode = '', uid = '', gid = '', size = '', mtime = '', blocks = '', inode = '', links = '', linkTarget = ''] =
      fields.slice(i, i + FIELDS.length);
    raw.push({ path, type, mode, uid: Number(uid), gid: Number(gid), size: Number(size), mtime, blocks: Number(blocks), inode, links: Number(links), linkTarget });
  }

  const shaByPath = new Map<string, string>();
  for (const record of hashes.toString('utf8').split('\0')) {
    const match = /^([0-9a-f]{64}) [ *]\.\/(.*)$/s.exec(record);
    if (match?.[1] && match[2] !== undefined) shaByPath.set(match[2], match[1]);
  }

  const xattrsByPath = getfattrOutput === null ? new Map<string, Record<string, string>>() : parseGetfattr(getfattrOutput);

  const namesByInode = new Map<string, string[]>();
  for (const entry of raw) {
    if (entry.type !== 'd' && entry.links > 1) namesByInode.set(entry.inode, [...(namesByInode.get(entry.inode) ?? []), entry.path]);
  }

  const entries = new Map<string, ManifestEntry>();
  let totalBytes = 0;
  for (const entry of raw) {
    const names = namesByInode.get(entry.inode);
    if (entry.type === 'f') totalBytes += entry.size;
    entries.set(entry.path, {
      path: entry.path,
      type: entry.type,
      mode: entry.mode,
      uid: entry.uid,
      gid: entry.gid,
      size: entry.type === 'd' ? 0 : entry.size,
      mtime: entry.mtime,
      linkTarget: entry.linkTarget,
      hardLinkGroup: names && names.length > 1 ? ([...names].sort()[0] ?? null) : null,
      sparse: entry.type === 'f' && entry.blocks * 512 < entry.size,
      sha256: shaByPath.get(entry.path) ?? null,
      xattrs: xattrsByPath.get(entry.path) ?? {},
    });
  }
  return { root, entries, totalBytes, xattrsChecked: getfattrOutput !== null };
}

/** getfattr -d -e hex output: "# file: ./name" blocks of "key=0x..." lines. Names are octal-escaped. */
function parseGetfattr(text: string): Map<string, Record<string, string>> {
  const result = new Map<string, Record<string, string>>();
  let current: Record<string, string> | null = null;
  for (const line of text.split('\n')) {
    const file = /^# file: (.*)$/.exec(line);
    if (file?.[1] !== undefined) {
      const name = unescapeOctal(file[1]).replace(/^\.\/?/, '');
      current = {};
      result.set(name, current);
      continue;
    }
    const attribute = /^([^=]+)=(.*)$/.exec(line);
    if (current && attribute?.[1] && attribute[2] !== undefined) current[attribute[1]] = attribute[2];
  }
  return result;
}

function unescapeOctal(text: string): string {
  const bytes: number[] = [];
  const source = Buffer.from(text, 'utf8');
  for (let i = 0; i < source.length; i++) {
    if (source[i] === 0x5c && i + 3 < source.length + 0 && /^[0-7]{3}$/.test(source.subarray(i + 1, i + 4).toString('latin1'))) {
      bytes.push(Number.parseInt(source.subarray(i + 1, i + 4).toString('latin1'), 8));
      i += 3;
    } else {
      bytes.push(source[i] as number);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export interface ManifestDifference {
  readonly path: string;
  readonly field: string;
  readonly source: string;
  readonly target: string;
}

// Not `sparse`: ZFS reports a file's blocks only after its transaction group
// syncs, so a fresh file can look sparse for a few seconds. Content, size and
// holes' effect on content are covered by the hash.
const COMPARED_FIELDS = ['type', 'mode', 'uid', 'gid', 'size', 'mtime', 'linkTarget', 'hardLinkGroup', 'sha256', 'xattrs'] as const;

/**
 * Every way `target` differs from `source`. Symlink mtimes are not compared
 * (not every copy tool sets them), nor is the root's mtime when `ignoreRootMtime`.
 */
export function compareManifests(source: Manifest, target: Manifest, options: { ignoreRootMtime?: boolean } = {}): ManifestDifference[] {
  const differences: ManifestDifference[] = [];
  // zfs-fuse shows whole seconds only, though the stream carries nanoseconds:
  // times are compared at the finer resolution both hosts show.
  const wholeSeconds = showsWholeSecondsOnly(source) || showsWholeSecondsOnly(target);
  for (const [path, expected] of source.entries) {
    const actual = target.entries.get(path);
    if (!actual) {
      differences.push({ path, field: 'exists', source: 'yes', target: 'no' });
      continue;
    }
    for (const field of COMPARED_FIELDS) {
      if (field === 'mtime' && (expected.type === 'l' || (path === '' && options.ignoreRootMtime))) continue;
      if (field === 'xattrs' && !(source.xattrsChecked && target.xattrsChecked)) continue;
      if (field === 'mtime' && wholeSeconds && wholeSecondsOf(expected.mtime) === wholeSecondsOf(actual.mtime)) continue;
      const want = JSON.stringify(expected[field]);
      const got = JSON.stringify(actual[field]);
      if (want !== got) differences.push({ path, field, source: want, target: got });
    }
  }
  for (const path of target.entries.keys()) {
    if (!source.entries.has(path)) differences.push({ path, field: 'exists', source: 'no', target: 'yes' });
  }
  return differences;
}

/** Whether every time in the manifest has a zero fraction: the host shows no more than seconds. */
export function showsWholeSecondsOnly(manifest: Manifest): boolean {
  let times = 0;
  for (const entry of manifest.entries.values()) {
    if (entry.type === 'l') continue;
    times++;
    if (!/^\d+(\.0*)?$/.test(entry.mtime)) return false;
  }
  return times > 0;
}

function wholeSecondsOf(mtime: string): string {
  return mtime.split('.')[0] ?? mtime;
}

export function describeDifferences(differences: readonly ManifestDifference[], limit = 10): string {
  const shown = differences.slice(0, limit).map((d) => `${JSON.stringify(d.path || '.')} ${d.field}: ${d.source} → ${d.target}`);
  const more = differences.length > limit ? `; and ${differences.length - limit} more` : '';
  return `${shown.join('; ')}${more}`;
}

/**
 * What a host's `zfs send`/`zfs receive` can do, read from the usage text that
 * `zfs` prints. zfs-fuse knows none of the newer options; OpenZFS 2.x knows
 * them all. Detecting from the usage avoids guessing from version strings.
 */
import { forgetProbe, keepProbe, type ProbedLogin } from './probe-memo.js';

export interface ZfsSendFeatures {
  /** `zfs receive -s` and `zfs send -t TOKEN`: a broken transfer can resume. */
  readonly resumeTokens: boolean;
  /** `zfs send -nvP`: the stream size is known before sending (progress, ETA). */
  readonly sizeEstimate: boolean;
  /** `zfs send -c`: blocks go compressed as stored. */
  readonly compressedSend: boolean;
  /** `zfs send -w`: encrypted datasets go raw. */
  readonly rawSend: boolean;
  /** `zfs send -L`: blocks over 128 KiB kept large. */
  readonly largeBlocks: boolean;
  /** `zfs send -e`: embedded data blocks. */
  readonly embeddedData: boolean;
  /** `zfs bookmark`: incremental sources that survive snapshot deletion. */
  readonly bookmarks: boolean;
  /** `zfs receive -u`: the received dataset is not mounted (zfs-fuse's receive always mounts). */
  readonly receiveUnmounted: boolean;
  /**
   * A receive into a mounted filesystem shows the received data at once.
   * OpenZFS remounts by itself; zfs-fuse keeps the view from before the
   * receive until the filesystem is mounted afresh. OpenZFS has had
   * `zfs version` since 0.8, so without that subcommand the implementation is
   * taken to be an old one, and the caller remounts.
   */
  readonly receiveRefreshesMount: boolean;
  /** `zfs snapshot a@s b@s ...`: several snapshots of one pool taken atomically (zfs-fuse takes one per command). */
  readonly atomicSnapshots: boolean;
}

export const NO_ZFS_FEATURES: ZfsSendFeatures = {
  resumeTokens: false,
  sizeEstimate: false,
  compressedSend: false,
  rawSend: false,
  largeBlocks: false,
  embeddedData: false,
  bookmarks: false,
  receiveUnmounted: false,
  receiveRefreshesMount: false,
  atomicSnapshots: false,
};

/** Features remembered from an earlier probe (probe-memo.ts): exactly the known flags, each a boolean, or null. */
export function zfsFeaturesFound(found: unknown): ZfsSendFeatures | null {
  if (typeof found !== 'object' || found === null) return null;
  const entries = Object.entries(found);
  const known = Object.keys(NO_ZFS_FEATURES);
  if (entries.length !== known.length || !entries.every(([key, value]) => known.includes(key) && typeof value === 'boolean')) return null;
  return found as ZfsSendFeatures;
}

/**
 * Remember what the `zfs` probe found for the next commands (probe-memo.ts).
 * A usage text with no feature at all may be an error (modules not loaded
 * yet), and no zfs is nothing to remember: both forget what was kept.
 */
export async function keepZfsFeatures(host: ProbedLogin, features: ZfsSendFeatures | null): Promise<void> {
  if (features && Object.values(features).some(Boolean)) await keepProbe(host, 'zfs-features', features);
  else await forgetProbe(host, 'zfs-features');
}

/** Parse the usage text printed by `zfs` (no arguments) or `zfs send`/`zfs receive`. */
export function parseZfsUsage(usage: string): ZfsSendFeatures {
  const send = flagsOf(usage, 'send');
  const receive = flagsOf(usage, 'receive');
  const sendTakesToken = /^\s*send\b.*\s-t\s+<?receive_resume_token/m.test(usage);
  return {
    resumeTokens: sendTakesToken && receive.has('s'),
    sizeEstimate: send.has('n') && send.has('v') && send.has('P'),
    compressedSend: send.has('c'),
    rawSend: send.has('w'),
    largeBlocks: send.has('L'),
    embeddedData: send.has('e'),
    bookmarks: /^\s*bookmark\b/m.test(usage),
    receiveUnmounted: receive.has('u'),
    receiveRefreshesMount: /^\s*version\b/m.test(usage),
    atomicSnapshots: /^\s*snapshot\b.*>\s+\.\.\.\s*$/m.test(usage),
  };
}

/** Union of the single-letter flags in `[-abc]` groups on the usage lines of one subcommand. */
function flagsOf(usage: string, subcommand: string): Set<string> {
  const flags = new Set<string>();
  const line = new RegExp(`^\\s*${subcommand}\\b(.*)$`, 'gm');
  for (const match of usage.matchAll(line)) {
    for (const group of (match[1] ?? '').matchAll(/\[-([A-Za-z]+)\]/g)) {
      for (const letter of group[1] ?? '') flags.add(letter);
    }
  }
  return flags;
}

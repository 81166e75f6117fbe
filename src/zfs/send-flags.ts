/**
 * Which `zfs send` flags a stream between two hosts uses. Pure: decided from
 * both hosts' features, so a dataset's streams are the same kind every time.
 * OpenZFS refuses an incremental receive without -L into a dataset whose
 * earlier receive had large blocks, so -L goes whenever both sides know it.
 */
import type { ZfsSendFeatures } from '../host/zfs-features.js';

export function sendFlags(source: ZfsSendFeatures, target: ZfsSendFeatures): string[] {
  const flags: string[] = [];
  // Blocks over 128 KiB (recordsize=1M) stay large instead of being split.
  if (source.largeBlocks && target.largeBlocks) flags.push('-L');
  // Small blocks embedded in block pointers stay embedded.
  if (source.embeddedData && target.embeddedData) flags.push('-e');
  // Blocks go as stored, compressed: less to send, nothing to recompress.
  if (source.compressedSend && target.compressedSend) flags.push('-c');
  return flags;
}

/**
 * Whether to compress a stream on the wire. It pays across a network, not on
 * loopback (where it only costs CPU), and needs zstd on both ends.
 */
import type { HostConfig } from '../config/schema.js';

export type CompressionChoice = 'auto' | 'on' | 'off';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

export function isLoopback(host: Pick<HostConfig, 'hostname'>): boolean {
  return LOOPBACK.test(host.hostname);
}

export function shouldCompress(
  choice: CompressionChoice,
  source: Pick<HostConfig, 'hostname'>,
  target: Pick<HostConfig, 'hostname'>,
  zstdOnBoth: boolean,
): boolean {
  if (!zstdOnBoth || choice === 'off') return false;
  return choice === 'on' || !(isLoopback(source) && isLoopback(target));
}

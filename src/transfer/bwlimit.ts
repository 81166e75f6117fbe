/**
 * --bwlimit RATE: bytes a second, with the suffixes pv and rsync read
 * (K, M, G, T: powers of 1024; an optional B or iB after them). Parsed once
 * where it enters (CLI, MCP), kept as a number of bytes a second.
 */
import { InvalidInputError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
/** rsync counts its limit in KiB: less cannot be kept to. */
export const MIN_BWLIMIT = 1024;

export function parseBwlimit(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?(?:\/s)?\s*$/i.exec(text);
  const refuse = (why: string): never => {
    throw new InvalidInputError('bwlimit', text, `${why}; give bytes a second such as 500K, 50M or 1G (K, M, G: 1024, 1024², 1024³)`);
  };
  if (!match) return refuse('is not a rate');
  const bytes = Math.floor(Number(match[1]) * (UNITS[(match[2] ?? '').toLowerCase()] ?? 1));
  if (!Number.isSafeInteger(bytes)) return refuse('is too large');
  if (bytes < MIN_BWLIMIT) return refuse('is below 1K (1024 bytes a second), the least rsync can keep to');
  return bytes;
}

/** A rate for people: "2 MiB/s", "512 KiB/s". */
export function formatRate(bytesPerSecond: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytesPerSecond;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}/s`;
}

/** Parsers for `zfs get -H -p` output. */
import type { SnapshotInfo } from './snapshot-diff.js';

/** `property<TAB>value` lines → map. */
export function parseProperties(text: string): Map<string, string> {
  const properties = new Map<string, string>();
  for (const line of text.split('\n')) {
    const tab = line.indexOf('\t');
    if (tab > 0) properties.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return properties;
}

/**
 * `name<TAB>property<TAB>value` lines for a dataset and its snapshots (depth 1)
 * → the dataset's snapshots in creation order. Guids stay strings: they are
 * 64-bit and would lose digits as numbers.
 */
export function parseSnapshotList(text: string, dataset: string): SnapshotInfo[] {
  const byName = new Map<string, Map<string, string>>();
  for (const line of text.split('\n')) {
    const [name, property, value] = line.split('\t');
    if (!name?.startsWith(`${dataset}@`) || !property || value === undefined) continue;
    let properties = byName.get(name);
    if (!properties) byName.set(name, (properties = new Map()));
    properties.set(property, value);
  }
  return [...byName]
    .filter(([, properties]) => properties.get('type') === 'snapshot')
    .map(([name, properties]) => ({
      name: name.slice(dataset.length + 1),
      guid: properties.get('guid') ?? '',
      createtxg: Number(properties.get('createtxg') ?? Number.NaN),
    }))
    .sort((a, b) => a.createtxg - b.createtxg);
}

/** Last line of `zfs send -nvP` (OpenZFS): `size<TAB>12345`. */
export function parseSendEstimate(text: string): number | null {
  const match = /^size\s+(\d+)\s*$/m.exec(text);
  return match?.[1] ? Number(match[1]) : null;
}

/** A size property (`-p`): exact bytes, or null for "-" and the like. */
export function parseBytes(value: string | undefined): number | null {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : null;
}

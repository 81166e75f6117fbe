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

export interface DatasetListing {
  /** Properties of the dataset itself, or null when it was not listed. */
  readonly properties: ReadonlyMap<string, string> | null;
  /** Those of its properties set on the dataset itself (source `local`), when the listing had a source column. */
  readonly localProperties: ReadonlySet<string>;
  /** Its snapshots in creation order. */
  readonly snapshots: SnapshotInfo[];
}

/**
 * `name<TAB>property<TAB>value[<TAB>source]` lines for a dataset and its
 * snapshots (depth 1). Guids stay strings: they are 64-bit and would lose
 * digits as numbers.
 */
export function parseDatasetListing(text: string, dataset: string): DatasetListing {
  const byName = new Map<string, Map<string, string>>();
  const localProperties = new Set<string>();
  for (const line of text.split('\n')) {
    const [name, property, value, source] = line.split('\t');
    if (!name || !property || value === undefined) continue;
    if (name !== dataset && !name.startsWith(`${dataset}@`)) continue;
    let properties = byName.get(name);
    if (!properties) byName.set(name, (properties = new Map()));
    properties.set(property, value);
    if (name === dataset && source === 'local') localProperties.add(property);
  }
  const snapshots = [...byName]
    .filter(([name, properties]) => name !== dataset && properties.get('type') === 'snapshot')
    .map(([name, properties]) => {
      const referenced = parseBytes(properties.get('referenced'));
      return {
        name: name.slice(dataset.length + 1),
        guid: properties.get('guid') ?? '',
        createtxg: Number(properties.get('createtxg') ?? Number.NaN),
        ...(referenced === null ? {} : { referencedBytes: referenced }),
      };
    })
    .sort((a, b) => a.createtxg - b.createtxg);
  return { properties: byName.get(dataset) ?? null, localProperties, snapshots };
}

export function parseSnapshotList(text: string, dataset: string): SnapshotInfo[] {
  return parseDatasetListing(text, dataset).snapshots;
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

/** `zfs send -nvt TOKEN` output: what snapshot the token continues, or null. Guids as decimal strings, like `zfs get`. */
export function parseResumeToken(text: string): { readonly toguid: string; readonly toname: string } | null {
  const guid = /^\s*toguid = (0x[0-9a-f]+)\s*$/im.exec(text)?.[1];
  const name = /^\s*toname = (\S+)\s*$/m.exec(text)?.[1];
  return guid && name ? { toguid: BigInt(guid).toString(), toname: name } : null;
}

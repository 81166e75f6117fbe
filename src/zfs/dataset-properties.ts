/**
 * The dataset properties a user set (recordsize, compression, atime, user
 * properties ...) travel with the data. A plain `zfs send` carries none of
 * them; `send -p` would carry the mountpoint too, and zfs-fuse's receive
 * cannot leave it out. So the properties set on the source (locally, or
 * received from an earlier move) are read and set on the target after the
 * receive, where they differ. Pure decisions here; the commands in zfs-transfer.
 */

/** Never copied: where a dataset mounts belongs to its host; our own marks say what we did on each host. */
export function isHostSpecificProperty(property: string): boolean {
  return property === 'mountpoint' || property.startsWith('docker-mcp:');
}

export interface PropertyValue {
  readonly value: string;
  /** `local`, `received`, `default`, `inherited from X`, `-`. */
  readonly source: string;
}

/** `property<TAB>value<TAB>source` lines (`zfs get -H -p -o property,value,source all`). */
export function parsePropertySources(text: string): Map<string, PropertyValue> {
  const properties = new Map<string, PropertyValue>();
  for (const line of text.split('\n')) {
    const [property, value, source] = line.split('\t');
    if (property && value !== undefined && source !== undefined) properties.set(property, { value, source });
  }
  return properties;
}

/** What the user set on the source dataset: set here or received, and not host-specific. */
export function userSetProperties(source: ReadonlyMap<string, PropertyValue>): Map<string, string> {
  const set = new Map<string, string>();
  for (const [property, { value, source: origin }] of source) {
    if ((origin === 'local' || origin === 'received') && !isHostSpecificProperty(property)) set.set(property, value);
  }
  return set;
}

/** The properties to set on the target: those it does not already have with the same value. */
export function propertiesToSet(wanted: ReadonlyMap<string, string>, target: ReadonlyMap<string, PropertyValue>): Map<string, string> {
  const changes = new Map<string, string>();
  for (const [property, value] of wanted) {
    if (target.get(property)?.value !== value) changes.set(property, value);
  }
  return changes;
}

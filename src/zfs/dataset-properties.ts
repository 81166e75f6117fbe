/**
 * The dataset properties a user set that describe the data itself
 * (recordsize, compression, atime, user properties ...) travel with it. A
 * plain `zfs send` carries none of them; `send -p` would carry every one,
 * and zfs-fuse's receive can leave none out (no `-x`). So the properties set
 * on the source (locally, or received from an earlier move) are read, kept
 * only when the allowlist below names them, and set on the target after the
 * receive, where they differ: the same on zfs-fuse and OpenZFS. Pure
 * decisions here; the commands in zfs-transfer.
 */

/**
 * Native properties that say how the data is stored and read, never how the
 * host shares, mounts, limits or secures it: only these are carried. A name
 * not listed (a property a newer ZFS adds) stays behind until it is listed.
 */
export const CARRIED_PROPERTIES: readonly string[] = [
  'recordsize', 'compression', 'checksum', 'copies',
  'atime', 'relatime', 'xattr', 'acltype', 'aclinherit', 'aclmode', 'dnodesize',
  'logbias', 'sync', 'primarycache', 'secondarycache', 'redundant_metadata',
];

/**
 * Never carried, even when a later list would name them: where and how the
 * target host shares, mounts, reserves, limits, runs or unlocks the data is
 * its own decision (`sharenfs=rw=@0.0.0.0/0` set on a source must not open
 * the target's copy to the network); `dedup` costs the target pool's memory.
 * docker-mcp's own marks (`docker-mcp:*`) say what it did on each host.
 * Listed for docs/zfs.md and the tests; the allowlist decides.
 */
export const NEVER_CARRIED_PROPERTIES: readonly string[] = [
  'sharenfs', 'sharesmb', 'shareiscsi', 'reservation', 'refreservation', 'quota', 'refquota',
  'canmount', 'mountpoint', 'readonly', 'zoned', 'devices', 'setuid', 'exec', 'snapdir', 'snapdev', 'nbmand', 'vscan',
  'dedup', 'special_small_blocks', 'encryption', 'keyformat', 'keylocation', 'pbkdf2iters',
  'context', 'fscontext', 'defcontext', 'rootcontext', 'mlslabel', 'docker-mcp:managed',
];

/** Whether a property set on the source is set on the target too: an allowlisted native one, or a user property (`module:name`) not docker-mcp's own. */
export function isCarriedProperty(property: string): boolean {
  if (property.includes(':')) return !property.startsWith('docker-mcp:');
  return CARRIED_PROPERTIES.includes(property);
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

/** What the user set on the source dataset (set here or received) that is carried. */
export function userSetProperties(source: ReadonlyMap<string, PropertyValue>): Map<string, string> {
  const set = new Map<string, string>();
  for (const [property, { value, source: origin }] of source) {
    if ((origin === 'local' || origin === 'received') && isCarriedProperty(property)) set.set(property, value);
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

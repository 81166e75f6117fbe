/**
 * known_hosts lines and host key fingerprints, as OpenSSH writes and prints
 * them: pure text in, text out. The fingerprint is what `ssh-keygen -l`
 * prints (SHA256 of the key blob, base64 without padding), so the user can
 * compare it with the one the host shows for its own key.
 */
import { createHash, createHmac } from 'node:crypto';
import { InvalidInputError } from '../errors.js';

export interface HostKey {
  /** The key's algorithm as known_hosts names it: ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa. */
  readonly type: string;
  /** The public key blob, base64, as in known_hosts. */
  readonly key: string;
  /** `SHA256:...`, as `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
}

/** The keys of `ssh-keyscan` output (`host type key` lines; `#` lines and blank lines are passed over). */
export function parseKeyscan(text: string): HostKey[] {
  const keys = new Map<string, HostKey>();
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    const [, type, key] = fields;
    if (fields.length !== 3 || type === undefined || key === undefined || !isKeyBlob(type, key)) continue;
    keys.set(`${type} ${key}`, { type, key, fingerprint: fingerprintOf(key) });
  }
  return [...keys.values()];
}

export function fingerprintOf(base64Key: string): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(base64Key, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/**
 * The name ssh looks a host up by in known_hosts: `name`, or `[name]:port`
 * off port 22. A name with a pattern character (`*`, `?`, `!`, `,`) would
 * vouch for other hosts too, so only a plain name or address is taken.
 */
export function knownHostsName(name: string, port: number): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(name) || name.startsWith('-')) {
    throw new InvalidInputError('host name for known_hosts', name, 'must be a plain name or address (letters, digits, ".", "-", "_", ":")');
  }
  return port === 22 ? name : `[${name}]:${port}`;
}

/** The known_hosts lines that vouch for `keys` as the keys of `name`. */
export function knownHostsLines(name: string, keys: readonly HostKey[]): string[] {
  return keys.map((key) => `${name} ${key.type} ${key.key}`);
}

/**
 * Whether known_hosts `text` holds `line`'s key for its name already: plainly,
 * in a list of names, or hashed (`|1|salt|hash`, as ssh writes it where
 * HashKnownHosts is on, Debian's default).
 */
export function knownHostsHolds(text: string, line: string): boolean {
  const [name, type, key] = line.trim().split(/\s+/);
  if (name === undefined) return false;
  return text.split('\n').some((held) => {
    const [names, heldType, heldKey] = held.trim().split(/\s+/);
    return names !== undefined && heldType === type && heldKey === key && names.split(',').some((entry) => entry === name || hashedNameIs(entry, name));
  });
}

function hashedNameIs(entry: string, name: string): boolean {
  const [, salt, hash] = /^\|1\|([^|]+)\|([^|]+)$/.exec(entry) ?? [];
  return salt !== undefined && createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
}

/** A public key blob names its own type first (a length-prefixed string): anything else is not a key line. */
function isKeyBlob(type: string, base64Key: string): boolean {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64Key)) return false;
  const blob = Buffer.from(base64Key, 'base64');
  if (blob.length < 4) return false;
  const length = blob.readUInt32BE(0);
  return length === type.length && blob.subarray(4, 4 + length).toString('latin1') === type;
}

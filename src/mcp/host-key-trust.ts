/**
 * Who vouches for the key of a host added over MCP. A client that can ask
 * its user (elicitation) always asks, showing the fingerprints, whatever the
 * call says. A client that cannot must send the fingerprint a person checked
 * (`trust_host_key_fingerprint`), and only a key the host presents now with
 * exactly that fingerprint is trusted: the model cannot take "whatever key
 * answers" by a boolean, and a key that changed between the two calls is
 * refused. Without either, the refusal shows the fingerprints and the
 * commands a person can run instead.
 */
import { HostKeyNotTrustedError, type HostKeyChoice } from '../host/host-key-errors.js';
import type { TrustHostKeys } from '../host/admit-host.js';
import type { Confirm } from './confirm.js';

export function trustByUserOrFingerprint(
  confirm: Confirm,
  hostId: string,
  fingerprint: string | undefined,
  where: Omit<HostKeyChoice, 'scanned' | 'unmatched'>,
): TrustHostKeys {
  return async (scanned) => {
    const matching = scanned.keys.filter((key) => key.fingerprint === fingerprint);
    const by = await confirm(matching.length > 0, {
      effect: `trust the host key${scanned.keys.length > 1 ? 's' : ''} that ${scanned.address} port ${scanned.port} presents for ${hostId}, which no known_hosts file holds (recorded in ${where.knownHostsFile})`,
      details: [...scanned.keys.map((key) => `${key.type} ${key.fingerprint}`), "(the host's own: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub, run on it)"],
      unconfirmed: () => new HostKeyNotTrustedError(hostId, { ...where, scanned, unmatched: fingerprint !== undefined && matching.length === 0 ? fingerprint : undefined }),
    });
    // The user saw every key; the model's word covers only the one whose fingerprint it sent.
    return by === 'user' ? scanned.keys : matching;
  };
}

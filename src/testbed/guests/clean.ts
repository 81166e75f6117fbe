/**
 * `testbed clean`: what earlier test runs left on the OpenZFS guests when
 * they were killed before their own clean-up (a route key in authorized_keys
 * fails the next run's check that nothing is left). Only what is clearly a
 * test's: route keys by their marker, gate and key directories by their
 * names, and containers, networks, volumes, datasets and folders named with
 * one of the guest test files' prefixes. `scripts/test-all.sh` runs it
 * before the lanes start.
 */
import { findHost, loadConfig } from '../../config/load.js';
import { command } from '../../ssh/quote.js';
import { SshTransport } from '../../ssh/transport.js';
import { testbedHostsFile } from '../layout.js';
import { GUEST_DATASET, GUESTS } from './guest-layout.js';

/**
 * The names the guest test files give what they make (an extended regular
 * expression each, anchored at the name's start): a file that adds a prefix
 * adds it here.
 */
export const GUEST_TEST_PREFIXES: readonly string[] = [
  'oz[0-9]+', // openzfs
  'h11b-f?[0-9]+', // openzfs-safety, openzfs-faults
  'h15rk[0-9]+', // route-key
  'h12b-', // compose-stacks
  'sbo[0-9]+', // standby-openzfs
  'fvo[0-9]+', // failover-openzfs
  'd-', // real-apps-openzfs
  'e-', // corpus-guests
];

/**
 * Run as root on one guest. $1 the login's home, $2 appdata, $3 the compose
 * folder, $4 the parent dataset, $5 the prefixes as one alternation. Each
 * thing removed is printed, one a line.
 */
const CLEAN_SCRIPT = `home=$1 appdata=$2 compose=$3 parent=$4 names=$5
tab=$(printf '\\t')
keys=$home/.ssh/authorized_keys
if [ -f "$keys" ] && grep -q '^restrict.* docker-mcp-route:' "$keys"; then
  kept=$(mktemp) || exit 1
  grep -v '^restrict.* docker-mcp-route:' "$keys" > "$kept"
  # Rewritten in place: the file keeps its owner and mode.
  cat "$kept" > "$keys" && echo "route keys in $keys"
  rm -f "$kept"
fi
for dir in "$home"/.docker-mcp-gate.* /tmp/docker-mcp-route.* "$home"/.docker-mcp-authorized_keys.lock; do
  [ -e "$dir" ] || continue
  [ -d "$dir/cm" ] || [ -S "$dir/cm" ] && ssh -o ControlPath="$dir/cm" -O exit x >/dev/null 2>&1
  rm -rf -- "$dir" && echo "$dir"
done
for name in $(docker ps -a --format '{{.Names}}' | grep -E "^($names)"); do docker rm -f "$name" >/dev/null && echo "container $name"; done
for name in $(docker network ls --format '{{.Name}}' | grep -E "^($names)"); do docker network rm "$name" >/dev/null && echo "network $name"; done
for name in $(docker volume ls -q | grep -E "^($names)"); do docker volume rm "$name" >/dev/null && echo "volume $name"; done
for dataset in $(zfs list -H -o name -r "$parent" | grep -E "^$parent/($names)" | sort -r); do
  zfs list -H -o name -t snapshot -r "$dataset" | while read -r snapshot; do
    zfs holds -H "$snapshot" | while IFS="$tab" read -r _ tag _; do zfs release "$tag" "$snapshot"; done
  done
  zfs destroy -r "$dataset" 2>/dev/null && echo "dataset $dataset"
done
# Also what a standby pass staged and what a failback kept, under docker-mcp's own folders.
for path in "$appdata"/* "$compose"/* "$compose"/.* "$appdata"/.docker-mcp-kept/* "$appdata"/.docker-mcp-standby/*/* "$compose"/.docker-mcp-standby/*/*; do
  case \${path##*/} in .|..) continue ;; esac
  printf '%s\\n' "\${path##*/}" | grep -Eq "^\\.?($names)" || continue
  rm -rf -- "$path" && echo "$path"
done
# Files some of them keep outside those folders.
for path in /root/h11b-key /root/h11b-fault-key /run/d-dbus; do
  [ -e "$path" ] && rm -rf -- "$path" && echo "$path"
done
true`;

export interface GuestCleanResult {
  readonly host: string;
  /** What was removed, one thing a line; empty when nothing was left. */
  readonly removed: readonly string[];
}

export async function cleanGuests(): Promise<GuestCleanResult[]> {
  const config = await loadConfig(testbedHostsFile(), {});
  return Promise.all(
    GUESTS.map(async (guest) => {
      const transport = new SshTransport(findHost(config, guest.name));
      try {
        const entry = (await transport.exec(command(['getent', 'passwd', guest.user]))).stdout.trim();
        const home = entry.split(':')[5] ?? '';
        if (!home.startsWith('/')) throw new Error(`${guest.user} on ${guest.name} has no home directory`);
        const names = GUEST_TEST_PREFIXES.join('|');
        const cleaned = await transport.exec(command(['sh', '-c', CLEAN_SCRIPT, 'clean', home, guest.appdata, guest.compose, GUEST_DATASET, names]), { timeoutMs: 600_000 });
        return { host: guest.name, removed: cleaned.stdout.split('\n').filter(Boolean) };
      } finally {
        await transport.close();
      }
    }),
  );
}

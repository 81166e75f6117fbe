/**
 * The forced command of a migration's own key: a small POSIX sh script the
 * controller puts in a private directory on the target, named by the key's
 * `command=` option. sshd runs it instead of whatever the key's holder asks;
 * it runs `$SSH_ORIGINAL_COMMAND` only when that is, byte for byte, one of
 * the commands the controller allowed for this migration (each a file in
 * `allowed/`, written by the controller over its own connection right before
 * the source sends it), and refuses anything else with a line in the
 * target's log. See docs/route-key.md.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { DockerHost } from '../docker/docker-host.js';
import { InvalidInputError } from '../errors.js';
import { andThen, command, redirect } from '../ssh/quote.js';

/** What the gate logs under (syslog tag), and the log file's name in the login's home where there is no syslog. */
export const GATE_LOG_TAG = 'docker-mcp-route';
export const GATE_LOG_FILE = '.docker-mcp-route.log';

/**
 * Static text: what varies (its directory, the key's marker) comes as $0 and
 * $1. `read` (a builtin) takes an allowed command back exactly as written,
 * without its one final newline; a command holding a newline is never
 * allowed, so a comparison of one line is a comparison of every byte. The
 * address of the accepted client is kept for the controller to narrow the
 * key to it (`from=`).
 */
export const GATE_SCRIPT = `# docker-mcp: the forced command of one migration's key (docs/route-key.md).
dir=\${0%/*}
client=\${SSH_CLIENT%% *}
if [ -n "\${SSH_ORIGINAL_COMMAND+set}" ]; then
  for allowed in "$dir"/allowed/*; do
    [ -f "$allowed" ] || continue
    line=
    IFS= read -r line < "$allowed"
    if [ "$line" = "$SSH_ORIGINAL_COMMAND" ]; then
      printf '%s\\n' "$client" > "$dir/client"
      exec /bin/sh -c "$SSH_ORIGINAL_COMMAND"
    fi
  done
  said=$(printf '%s' "$SSH_ORIGINAL_COMMAND" | tr -c '[:print:]' '?' | cut -c1-300)
else
  said='(a login shell)'
fi
message="refused for $1 from \${client:-an unknown address}: $said"
if ! { [ -S /dev/log ] && logger -p auth.warning -t ${GATE_LOG_TAG} "$message" 2>/dev/null; }; then
  printf '%s %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$message" >> "$HOME/${GATE_LOG_FILE}"
fi
printf '%s\\n' "${GATE_LOG_TAG}: this key runs only the commands of migration $1; refused: $said" >&2
exit 126
`;

const GATE_DIRECTORY_NAME = /^\.docker-mcp-gate\.[A-Za-z0-9._:-]+$/;

/** The gate's directory in the target login's home, one per migration. */
export function gateDirectory(home: string, migrationId: string): string {
  const directory = path.posix.join(home, `.docker-mcp-gate.${migrationId}`);
  if (!isGateDirectory(directory)) throw new InvalidInputError('migration id', migrationId, 'cannot name the key\'s directory on the target');
  return directory;
}

/** Only a directory of this shape is ever removed as a gate's. */
export function isGateDirectory(directory: string): boolean {
  return path.posix.isAbsolute(directory) && GATE_DIRECTORY_NAME.test(path.posix.basename(directory)) && !/[\s"\\]/.test(directory);
}

/** The key's `command=` value: the gate run by /bin/sh (no exec bit, no noexec /home to trip on), with the key's marker. */
export function gateCommand(directory: string, marker: string): string {
  const text = command(['/bin/sh', path.posix.join(directory, 'gate'), marker]).text;
  // It sits between double quotes in authorized_keys.
  if (/["\\]/.test(text)) throw new InvalidInputError('key command', text, 'holds a double quote or backslash');
  return text;
}

/** The file in `allowed/` that holds one allowed command: named by its hash, so allowing it twice is one file. */
export function allowedFile(directory: string, remoteText: string): string {
  return path.posix.join(directory, 'allowed', createHash('sha256').update(remoteText, 'utf8').digest('hex').slice(0, 32));
}

/** The file's bytes: the command and one newline. A command with a newline (or NUL) in it is never allowed. */
export function allowedFileText(remoteText: string): string {
  if (/[\n\0]/.test(remoteText)) throw new InvalidInputError('allowed command', remoteText, 'holds a newline or NUL: the gate compares one line');
  return `${remoteText}\n`;
}

/**
 * Put the gate in place, owned by the login user (sshd runs it as that
 * user, whoever this controller's commands run as), private to it, with
 * the commands in `allowed` allowed already: one round trip.
 */
export async function installGate(target: DockerHost, directory: string, allowed: readonly string[] = []): Promise<void> {
  const owner = target.host.user;
  const gate = path.posix.join(directory, 'gate');
  await target.transport.exec(
    andThen(
      command(['install', '-d', '-m', '700', '-o', owner, '--', directory, path.posix.join(directory, 'allowed')]),
      command(['install', '-m', '600', '-o', owner, '/dev/null', gate]),
      redirect(command(['tee', '--', gate]), { stdout: 'null' }),
      ...allowed.flatMap((remoteText) => {
        const file = allowedFile(directory, remoteText);
        return [command(['install', '-m', '600', '-o', owner, '/dev/null', file]), redirect(command(['printf', '%s', allowedFileText(remoteText)]), { stdoutFile: file })];
      }),
    ),
    { input: GATE_SCRIPT },
  );
}

/** Allow one exact command, as the source's ssh will send it: a file the login (who runs the gate) can read whatever the umask. */
export async function allowThroughGate(target: DockerHost, directory: string, remoteText: string): Promise<void> {
  const input = allowedFileText(remoteText);
  const file = allowedFile(directory, remoteText);
  const create = command(['install', '-m', '600', '-o', target.host.user, '/dev/null', file]);
  await target.transport.exec(andThen(create, redirect(command(['tee', '--', file]), { stdout: 'null' })), { input });
}

/** The address the gate last let in, as the target's sshd saw it; null when none was recorded. */
export async function lastClientAddress(target: DockerHost, directory: string): Promise<string | null> {
  const read = await target.transport.exec(command(['cat', '--', path.posix.join(directory, 'client')]), { okExitCodes: [0, 1] });
  const address = read.exitCode === 0 ? read.stdout.trim() : '';
  // An IPv4 or IPv6 address, nothing that could widen or break a from= pattern.
  return /^[0-9A-Fa-f.:]+$/.test(address) && address.length <= 45 ? address : null;
}

export async function removeGate(target: DockerHost, directory: string): Promise<void> {
  if (!isGateDirectory(directory)) throw new InvalidInputError('gate directory', directory, 'is not one docker-mcp makes');
  await target.transport.exec(command(['rm', '-rf', '--', directory]));
}

/**
 * Trust that lives only as long as a migration: a fresh key pair, authorized
 * on the target for this migration only, its private half and the target's
 * host key (as this controller knows it) put on the source in a private
 * temporary directory. The key's line is `restrict`, runs nothing but the
 * migration's gate (route-gate.ts: the exact commands this migration sends),
 * accepts only the address the source logs in from (`from=`, once the
 * source's first login showed it), and expires within the hour unless the
 * migration renews it. Revoking takes all of it away again and leaves the
 * target's authorized_keys byte for byte as it was. See docs/route-key.md.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pLimit, { type LimitFunction } from 'p-limit';
import type { HostConfig } from '../config/schema.js';
import type { DockerHost } from '../docker/docker-host.js';
import { describeError } from '../errors.js';
import { CommandFailedError } from '../ssh/errors.js';
import { andThen, command, redirect, type ShellCommand } from '../ssh/quote.js';
import { allowThroughGate, gateCommand, gateDirectory, installGate, lastClientAddress, removeGate } from './route-gate.js';
import {
  checkDirectRoute,
  closeSourceMaster,
  hostKeyName,
  readTargetIdentity,
  remoteTextOnTarget,
  targetIdentityCommand,
  type RouteGate,
  type TargetFromSource,
} from './source-to-target-ssh.js';

/** What revoking needs, saved in the journal before anything is written. */
export interface RouteKeyRecord {
  /** The comment on the key line; names the migration. */
  readonly marker: string;
  /** The exact line added to the target's authorized_keys. */
  readonly authorizedLine: string;
  readonly authorizedKeysFile: string;
  /** The file (and its .ssh directory) did not exist before: revoking removes them. */
  readonly createdFile: boolean;
  readonly createdDirectory: boolean;
  /** The file did not end in a newline: one was added before the line, and is taken away again. */
  readonly addedNewline: boolean;
  /** The private directory on the source: key and known_hosts. */
  readonly sourceDirectory: string | null;
  /** The gate's private directory on the target (route-gate.ts); absent in journals written before there was one. */
  readonly gateDirectory?: string | null;
}

export interface RouteKey {
  readonly record: RouteKeyRecord;
  /** The target as the source reaches it with this key, through one master connection and the gate. */
  readonly targetFromSource: TargetFromSource;
  /** The one address the key is accepted from (`from=`), or null and why it was left out. */
  readonly from: { readonly address: string } | { readonly address: null; readonly reason: string };
  /** The source logged in with it and found the target this controller knows: the direct route is proven. */
  readonly reaches: boolean;
}

export type RouteKeyIssue = { readonly issued: true; readonly key: RouteKey } | { readonly issued: false; readonly reason: string };

/** An hour from issue or the last renewal; a migration renews it while it runs (route-key-lifecycle.ts), revoking ends it sooner. */
export const ROUTE_KEY_LIFETIME_MS = 60 * 60 * 1000;
/** A third of the lifetime: two renewals can fail (the target busy, a network blip) before the key lapses. */
export const ROUTE_KEY_RENEW_EVERY_MS = 20 * 60 * 1000;

const SOURCE_DIRECTORY_TEMPLATE = '/tmp/docker-mcp-route.XXXXXXXXXX';
const SOURCE_DIRECTORY_PATTERN = /^\/tmp\/docker-mcp-route\.[A-Za-z0-9]{10}$/;

/** OpenSSH's `expiry-time` form, in UTC: YYYYMMDDHHMMZ. */
export function expiryTime(at: Date): string {
  return `${at.toISOString().replace(/[-:T]/g, '').slice(0, 12)}Z`;
}

export function routeKeyMarker(migrationId: string): string {
  return `docker-mcp-route:${migrationId}`;
}

/**
 * The key's line: `restrict` (no forwarding, no pty, no rc), `command=` the
 * gate, `from=` the source's address once known, `expiry-time=`.
 */
export function authorizedKeyLine(publicKey: string, marker: string, expiresAt: Date, limits: { readonly command?: string; readonly from?: string | null } = {}): string {
  const [type, blob] = publicKey.trim().split(/\s+/);
  if (!type || !blob) throw new Error('ssh-keygen wrote no public key');
  const options = [
    'restrict',
    ...(limits.command ? [`command="${limits.command}"`] : []),
    ...(limits.from ? [`from="${limits.from}"`] : []),
    `expiry-time="${expiryTime(expiresAt)}"`,
  ];
  return `${options.join(',')} ${type} ${blob} ${marker}`;
}

/** The same line, expiring at another time (a renewal). */
export function withExpiry(line: string, expiresAt: Date): string {
  return line.replace(/expiry-time="\d{12}Z"/, `expiry-time="${expiryTime(expiresAt)}"`);
}

/**
 * The key itself (type, blob, marker: the line's last three words), which
 * stays the same when the line is narrowed or renewed. A line is this
 * migration's when it ends with them and starts with our options: a
 * journal written just before a rewrite still finds the line it replaced.
 */
function isLineOf(line: string, record: RouteKeyRecord): boolean {
  const keyOf = (text: string) => text.split(' ').slice(-3).join(' ');
  return line.startsWith('restrict') && keyOf(line) === keyOf(record.authorizedLine);
}

/** The target's authorized_keys text with this migration's line taken out, as it was before. */
export function withoutRouteKey(text: string, record: RouteKeyRecord): string {
  const lines = text.split('\n');
  const kept = lines.filter((line) => !isLineOf(line, record));
  let result = kept.join('\n');
  if (record.addedNewline && kept.length < lines.length && result.endsWith('\n')) result = result.slice(0, -1);
  return result;
}

/** The text with this migration's line replaced by `line` (narrowed or renewed); null when the line is not there. */
export function withRouteKeyLine(text: string, record: RouteKeyRecord, line: string): string | null {
  const lines = text.split('\n');
  if (!lines.some((current) => isLineOf(current, record))) return null;
  return lines.map((current) => (isLineOf(current, record) ? line : current)).join('\n');
}

/**
 * Make the key and put it in place. Any step that cannot be done is an
 * answer (the caller then tries the standing route or relays), never an error;
 * `save` runs before the target or the source is changed.
 */
export async function issueRouteKey(
  migrationId: string,
  source: DockerHost,
  target: DockerHost,
  save: (record: RouteKeyRecord) => Promise<void>,
  now = new Date(),
): Promise<RouteKeyIssue> {
  // Made while the host keys are looked up and the target's home is asked: none needs another.
  const making = newKeyPair(routeKeyMarker(migrationId));
  const asking = homeOf(target);
  making.catch(() => undefined);
  asking.catch(() => undefined);
  const knownHostLines = await controllerKnownHostLines(target.host);
  if (knownHostLines.length === 0) {
    return { issued: false, reason: `this machine has no known_hosts entry for ${hostKeyName(target.host)} to give ${source.host.id}` };
  }
  let record: RouteKeyRecord | undefined;
  try {
    const [keyPair, home] = await Promise.all([making, asking]);
    const authorizedKeysFile = path.posix.join(home, '.ssh', 'authorized_keys');
    const gate = gateDirectory(home, migrationId);
    const forced = gateCommand(gate, keyPair.marker);
    const authorizedLine = authorizedKeyLine(keyPair.publicKey, keyPair.marker, new Date(now.getTime() + ROUTE_KEY_LIFETIME_MS), { command: forced });
    record = { marker: keyPair.marker, authorizedLine, authorizedKeysFile, createdFile: false, createdDirectory: false, addedNewline: false, sourceDirectory: null, gateDirectory: gate };
    await save(record);
    // The gate before the line: there is never a moment the key could run anything else.
    await installGate(target, gate, [remoteTextOnTarget(target.host, targetIdentityCommand(target.host))]);
    await editingAlone(target, authorizedKeysFile, async (current) => {
      const sshDirectory = path.posix.dirname(authorizedKeysFile);
      const exists = current.text !== null;
      const addedNewline = exists && current.text!.length > 0 && !current.text!.endsWith('\n');
      record = { ...record!, createdFile: !exists, createdDirectory: !current.directoryExists, addedNewline };
      await save(record);
      // Owned by the login user even when commands run as root (sshd reads them as that user).
      const owner = target.host.user;
      return {
        command: andThen(
          ...(current.directoryExists ? [] : [command(['install', '-d', '-m', '700', '-o', owner, '--', sshDirectory])]),
          ...(exists ? [] : [command(['install', '-m', '600', '-o', owner, '/dev/null', authorizedKeysFile])]),
          redirect(command(['tee', '-a', '--', authorizedKeysFile]), { stdout: 'null' }),
        ),
        input: `${addedNewline ? '\n' : ''}${authorizedLine}\n`,
      };
    });

    const sourceDirectory = (await source.transport.exec(command(['mktemp', '-d', SOURCE_DIRECTORY_TEMPLATE]))).stdout.trim();
    if (!SOURCE_DIRECTORY_PATTERN.test(sourceDirectory)) throw new Error(`mktemp on ${source.host.id} answered ${JSON.stringify(sourceDirectory)}`);
    record = { ...record!, sourceDirectory };
    await save(record);
    const identityFile = path.posix.join(sourceDirectory, 'id_ed25519');
    const knownHostsFile = path.posix.join(sourceDirectory, 'known_hosts');
    // The private half on stdin, never in a command line; the host key lines are public.
    await source.transport.exec(
      andThen(
        command(['install', '-m', '600', '/dev/null', identityFile]),
        writeFrom(identityFile),
        redirect(command(['printf', '%s\\n', ...knownHostLines]), { stdoutFile: knownHostsFile }),
      ),
      { input: keyPair.privateKey },
    );
    const targetFromSource: TargetFromSource = {
      ...target.host,
      identity_file: identityFile,
      known_hosts_file: knownHostsFile,
      controlPath: sourceMasterSocket(sourceDirectory),
      gate: gateOf(target, gate),
    };
    const narrowed = await narrowToSource(record, source, target, targetFromSource, save);
    record = narrowed.record;
    return { issued: true, key: { record, targetFromSource, from: narrowed.from, reaches: narrowed.reaches } };
  } catch (error) {
    if (record) await revokeRouteKey(record, source, target).catch(() => undefined);
    return { issued: false, reason: `the migration's own key could not be put in place: ${describeError(error)}` };
  }
}

/**
 * The source logs in with the key once (the route proof, through its master
 * connection, which later commands reuse); the gate notes the address the
 * target's sshd saw, and the line is rewritten to accept that address only.
 * When the source cannot log in by itself (the key then serves only rsync
 * through this controller's tunnel) or the address is not known, `from=`
 * is left out and the caller says why.
 */
async function narrowToSource(
  record: RouteKeyRecord,
  source: DockerHost,
  target: DockerHost,
  targetFromSource: TargetFromSource,
  save: (record: RouteKeyRecord) => Promise<void>,
): Promise<{ record: RouteKeyRecord; from: RouteKey['from']; reaches: boolean }> {
  const expected = await readTargetIdentity(target.transport, target.host);
  const check = await checkDirectRoute(source.transport, targetFromSource, expected);
  if (!check.reaches) return { record, from: { address: null, reason: check.reason }, reaches: false };
  const address = record.gateDirectory ? await lastClientAddress(target, record.gateDirectory) : null;
  if (!address) return { record, from: { address: null, reason: `the gate on ${target.host.id} noted no address for ${source.host.id}'s login` }, reaches: true };
  const narrowed = { ...record, authorizedLine: withFrom(record.authorizedLine, address) };
  await rewriteRouteKeyLine(narrowed, target, save);
  return { record: narrowed, from: { address }, reaches: true };
}

/** The line with `from=` added after the forced command. */
function withFrom(line: string, address: string): string {
  return line.replace(/^(restrict,command="[^"]*")/, `$1,from="${address}"`);
}

/** Renew the key's expiry to `lifetime` from now: journalled first, then the line rewritten. */
export async function renewRouteKey(
  record: RouteKeyRecord,
  target: DockerHost,
  save: (record: RouteKeyRecord) => Promise<void>,
  now = new Date(),
): Promise<RouteKeyRecord> {
  const renewed = { ...record, authorizedLine: withExpiry(record.authorizedLine, new Date(now.getTime() + ROUTE_KEY_LIFETIME_MS)) };
  await rewriteRouteKeyLine(renewed, target, save);
  return renewed;
}

/** Put `record.authorizedLine` where the migration's line is (found by its key): journalled before the file changes. */
async function rewriteRouteKeyLine(record: RouteKeyRecord, target: DockerHost, save: (record: RouteKeyRecord) => Promise<void>): Promise<void> {
  await save(record);
  await editingAlone(target, record.authorizedKeysFile, async (current) => {
    const rewritten = current.text === null ? null : withRouteKeyLine(current.text, record, record.authorizedLine);
    // Revoked meanwhile: nothing to rewrite.
    if (rewritten === null || rewritten === current.text) return null;
    return { command: redirect(command(['tee', '--', record.authorizedKeysFile]), { stdout: 'null' }), input: rewritten };
  });
}

/** The gate as the transfers use it: each exact command allowed once, right before the source first sends it. */
function gateOf(target: DockerHost, directory: string): RouteGate {
  const allowed = new Map<string, Promise<void>>();
  return {
    allow(remoteText: string): Promise<void> {
      let done = allowed.get(remoteText);
      if (!done) {
        done = allowThroughGate(target, directory, remoteText);
        allowed.set(remoteText, done);
        done.catch(() => allowed.delete(remoteText));
      }
      return done;
    },
  };
}

/** The file as an edit finds it, read under the lock: its text (null when there is none) and whether its directory exists. */
interface LockedFile {
  readonly text: string | null;
  readonly directoryExists: boolean;
}

/** What an edit writes: a command and its input, run before the lock is let go (null: nothing to write). */
interface FileWrite {
  readonly command: ShellCommand;
  readonly input: string;
}

/**
 * Edits of one authorized_keys file, one at a time: two migrations to one
 * target that read and rewrite it together would drop each other's line.
 * Within this process a queue per file; across processes (two controllers,
 * a CLI beside the MCP server) a lock directory on the target, beside the
 * login's home, held only for the read and the write. Taking the lock and
 * reading are one command, writing and letting go another: each round trip
 * through a guest's sudo cost a third of a second.
 */
const fileEdits = new Map<string, LimitFunction>();
function editingAlone(target: DockerHost, file: string, edit: (current: LockedFile) => Promise<FileWrite | null>): Promise<void> {
  const key = `${target.host.user}@${target.host.hostname}:${target.host.port}:${file}`;
  let limit = fileEdits.get(key);
  if (!limit) fileEdits.set(key, (limit = pLimit(1)));
  return limit(() => editUnderTargetLock(target, authorizedKeysLock(file), file, edit));
}

/** `~/.docker-mcp-authorized_keys.lock` for `~/.ssh/authorized_keys`: the home exists even when .ssh does not yet. */
export function authorizedKeysLock(authorizedKeysFile: string): string {
  return path.posix.join(path.posix.dirname(path.posix.dirname(authorizedKeysFile)), '.docker-mcp-authorized_keys.lock');
}

/** Exit status of the lock script when another holds the lock: nothing was taken. */
const LOCK_HELD_EXIT = 75;

/**
 * Waits up to ~30 s for the lock (mkdir is atomic). A holder keeps it for a
 * read and a write, well under a second, so one older than that was left by
 * a controller that died holding it: it is taken over. Then says what $2
 * (the file) and $3 (its directory) are, and prints the file.
 */
const TAKE_LOCK_AND_READ_SCRIPT = [
  'i=0',
  'until mkdir "$1" 2>/dev/null; do',
  '  i=$((i + 1))',
  `  if [ "$i" -ge 300 ]; then rmdir "$1" 2>/dev/null; mkdir "$1" && break; echo "$1 is held by another docker-mcp" >&2; exit ${LOCK_HELD_EXIT}; fi`,
  '  sleep 0.1',
  'done',
  'if [ -e "$2" ]; then echo file; exec cat -- "$2"; fi',
  'if [ -d "$3" ]; then echo directory; else echo none; fi',
].join('\n');

/** Run the write (its exit status is the command's), then let go of the lock whatever it did. */
const WRITE_AND_UNLOCK_SCRIPT = 'eval "$1"; status=$?; rmdir -- "$2"; exit "$status"';

async function editUnderTargetLock(target: DockerHost, lock: string, file: string, edit: (current: LockedFile) => Promise<FileWrite | null>): Promise<void> {
  let read;
  try {
    read = await target.transport.exec(command(['sh', '-c', TAKE_LOCK_AND_READ_SCRIPT, 'take-lock', lock, file, path.posix.dirname(file)]), { timeoutMs: 60_000 });
  } catch (error) {
    // Held by another, or no answer while waiting for it: not ours to let go. Taken and then the read failed: let go.
    if (error instanceof CommandFailedError && error.exitCode !== LOCK_HELD_EXIT) await unlock(target, lock);
    throw error;
  }
  const newline = read.stdout.indexOf('\n');
  const state = read.stdout.slice(0, newline);
  const current: LockedFile = { text: state === 'file' ? read.stdout.slice(newline + 1) : null, directoryExists: state !== 'none' };
  let write: FileWrite | null;
  try {
    write = await edit(current);
  } catch (error) {
    await unlock(target, lock);
    throw error;
  }
  if (!write) return unlock(target, lock);
  try {
    await target.transport.exec(command(['sh', '-c', WRITE_AND_UNLOCK_SCRIPT, 'write', write.command.text, lock]), { input: write.input });
  } catch (error) {
    // Failed by itself, it let go already (a second rmdir finds nothing); cut off, it may not have.
    if (!(error instanceof CommandFailedError)) await unlock(target, lock).catch(() => undefined);
    throw error;
  }
}

async function unlock(target: DockerHost, lock: string): Promise<void> {
  await target.transport.exec(command(['rmdir', '--', lock]), { okExitCodes: [0, 1] });
}

/** Take the key away from both hosts; safe to run again (a resume, a retried rollback). */
export async function revokeRouteKey(record: RouteKeyRecord, source: DockerHost, target: DockerHost): Promise<void> {
  await editingAlone(target, record.authorizedKeysFile, async (current) => withoutAuthorizedLine(record, current));
  if (record.createdDirectory) {
    await target.transport.exec(command(['rmdir', '--', path.posix.dirname(record.authorizedKeysFile)]), { okExitCodes: [0, 1] });
  }
  if (record.gateDirectory) await removeGate(target, record.gateDirectory);
  if (record.sourceDirectory && SOURCE_DIRECTORY_PATTERN.test(record.sourceDirectory)) {
    // A logged-in master outlives the key taken away from authorized_keys: end it too.
    await source.transport.exec(closeSourceMaster(sourceMasterSocket(record.sourceDirectory), target.host));
    await source.transport.exec(command(['rm', '-rf', '--', record.sourceDirectory]));
  }
}

/** The source's master connection to the target, beside the key it logged in with. */
export function sourceMasterSocket(sourceDirectory: string): string {
  return path.posix.join(sourceDirectory, 'cm');
}

/** The write that takes this migration's line out, as the file was before it (null when the line is not there). */
function withoutAuthorizedLine(record: RouteKeyRecord, current: LockedFile): FileWrite | null {
  if (current.text === null || withRouteKeyLine(current.text, record, '') === null) return null;
  const restored = withoutRouteKey(current.text, record);
  if (record.createdFile && restored.trim() === '') return { command: command(['rm', '-f', '--', record.authorizedKeysFile]), input: '' };
  // Rewritten in place (not replaced) so the file keeps its owner, mode and inode.
  return { command: redirect(command(['tee', '--', record.authorizedKeysFile]), { stdout: 'null' }), input: restored };
}

function writeFrom(file: string) {
  return redirect(command(['tee', '--', file]), { stdout: 'null' });
}

/** The login user's home, from the user database (on a `sudo` host commands run as root, whose HOME is not the login's). */
async function homeOf(target: DockerHost): Promise<string> {
  const entry = (await target.transport.exec(command(['getent', 'passwd', target.host.user]))).stdout.trim();
  const home = entry.split(':')[5] ?? '';
  if (!home.startsWith('/')) throw new Error(`${target.host.user} on ${target.host.id} has no home directory in the user database`);
  return home;
}

async function newKeyPair(marker: string): Promise<{ marker: string; publicKey: string; privateKey: string }> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'docker-mcp-route-'));
  try {
    const file = path.join(directory, 'key');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', marker, '-f', file], { stdin: 'ignore' });
    return { marker, privateKey: await readFile(file, 'utf8'), publicKey: await readFile(`${file}.pub`, 'utf8') };
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

/** The target's host key lines from the known_hosts files this controller's ssh reads for it. */
export async function controllerKnownHostLines(target: HostConfig): Promise<string[]> {
  const files = target.known_hosts_file ? [target.known_hosts_file] : await knownHostsFilesOfSsh(target);
  const lines: string[] = [];
  for (const file of files) {
    const found = await execa('ssh-keygen', ['-F', hostKeyName(target), '-f', file], { reject: false, stdin: 'ignore' });
    lines.push(...found.stdout.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#')));
  }
  return lines;
}

async function knownHostsFilesOfSsh(target: HostConfig): Promise<string[]> {
  const { stdout } = await execa('ssh', ['-G', '-p', String(target.port), '-l', target.user, '--', target.hostname], { stdin: 'ignore' });
  return stdout
    .split('\n')
    .filter((line) => /^(userknownhostsfile|globalknownhostsfile) /.test(line))
    .flatMap((line) => line.split(/\s+/).slice(1))
    .map((file) => file.replace(/^~(?=\/)/, os.homedir()));
}

/**
 * The direct route without standing trust, on the OpenZFS guests: the
 * hosts.yml used here names an identity file that exists on this machine
 * only, so the guests hold no key for each other and only the migration's
 * own key can carry the stream. After every ending (success, kill -9 and
 * resume) nothing of that key is left on either host. A clone-like target
 * (its host key, another machine behind it) is detected and relayed by the
 * transfer, which chooses the route.
 */
import { execa } from 'execa';
import { existsSync, rmSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { deployStack } from '../../src/docker/stacks.js';
import type { MigrationReport } from '../../src/migration/execute.js';
import { listMigrations } from '../../src/migration/journal.js';
import { TEST_CRASH_VARIABLE, TEST_PAUSE_FILE_VARIABLE, TEST_PAUSE_VARIABLE } from '../../src/migration/test-crash-hook.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { transferServices } from '../../src/transfer/transfer-services.js';
import { runCli } from './cli.js';
import { cleanUpGuests } from './guests.js';
import { testbedHost } from './testbed.js';

type Guest = 'delta' | 'epsilon';
const GUESTS: readonly Guest[] = ['delta', 'epsilon'];
const prefix = `h15rk${process.pid}`;
const APPDATA: Record<Guest, string> = { delta: '/srv/appdata', epsilon: '/mnt/appdata' };
const AUTHORIZED_KEYS: Record<Guest, string> = { delta: '/root/.ssh/authorized_keys', epsilon: '/home/deploy/.ssh/authorized_keys' };
const TIMEOUT_MS = 900_000;
/** A name for delta that, seen from epsilon, leads to a clone of delta (its host key, epsilon's machine). */
const CLONE_NAME = `${prefix}-delta.vm`;
const CLONE_ADDRESS = '127.0.0.2';
/** epsilon's own sshd holds port 22 on every address: the clone listens here, and port 22 of CLONE_ADDRESS is redirected to it. */
const CLONE_PORT = '2222';

const hosts = {} as Record<Guest, DockerHost>;
let work: string;
let stateDir: string;
let ownKeyOnly: string;

const sh = (id: Guest, script: string, ...args: string[]) => hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { timeoutMs: 120_000 });
const cli = (args: readonly string[], config: string, env: Record<string, string> = {}) =>
  runCli(args, { DOCKER_MCP_STATE_DIR: stateDir, DOCKER_MCP_CONFIG: config, ...env }, undefined, 600_000);

/** What the migration's key could leave behind on a guest: authorized_keys' bytes and private directories. */
/** What a route key leaves on a guest: its line in authorized_keys, its private directory, the master connection that logged in with it. */
async function traces(id: Guest): Promise<{ authorizedKeys: string; directories: string; masters: string }> {
  const [keys, dirs, masters] = await Promise.all([
    sh(id, 'sha256sum < "$1"; grep -c docker-mcp-route "$1" || true', AUTHORIZED_KEYS[id]),
    sh(id, 'ls -d /tmp/docker-mcp-route.* 2>/dev/null || true'),
    // The bracket keeps pgrep from matching this very command line.
    sh(id, 'pgrep -a -f "ssh.*[/]tmp/docker-mcp-route" || true'),
  ]);
  return { authorizedKeys: keys.stdout, directories: dirs.stdout.trim(), masters: masters.stdout.trim() };
}

function stackFile(id: Guest, stack: string): string {
  return `services:
  app:
    image: local/busybox:test
    command: ["sh", "-c", "while true; do date >> /data/log; sleep 1; done"]
    network_mode: none
    init: true
    volumes:
      - ${APPDATA[id]}/${stack}:/data
`;
}

/** The data path is a dataset from the start, so the seed goes while the stack runs. */
async function deploy(id: Guest, stack: string): Promise<void> {
  await sh(id, 'zfs create "$1" && head -c 300000 /dev/urandom > "$2/blob"', `tank/appdata/${stack}`, `${APPDATA[id]}/${stack}`);
  await deployStack(hosts[id], stack, stackFile(id, stack));
}

/** hosts.yml with the guests' entries changed by `edit`. */
async function hostsFileWith(name: string, edit: (id: Guest, entry: Record<string, unknown>) => void): Promise<string> {
  const config = parse(await readFile(testbedHostsFile(), 'utf8')) as { hosts: Record<string, Record<string, unknown>> };
  for (const id of GUESTS) edit(id, config.hosts[id]!);
  const file = path.join(work, name);
  await writeFile(file, stringify(config));
  return file;
}

async function waitFor(condition: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`not so within ${ms} ms`);
    await sleep(200);
  }
}

/** The guests' own clean-up (it releases docker-mcp's holds, which a plain destroy stops at). */
const cleanUp = () => cleanUpGuests(hosts, prefix);

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  stateDir = path.join(work, 'state');
  for (const id of GUESTS) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  // This machine's own copy of its key, at a path no guest has.
  const key = path.join(work, 'client_ed25519');
  await copyFile((await testbedHost('delta')).identity_file!, key);
  ownKeyOnly = await hostsFileWith('hosts-own-key-only.yml', (_, entry) => {
    entry.identity_file = key;
  });
  await cleanUp();
}, 300_000);

afterAll(async () => {
  await cleanUp();
  for (const host of Object.values(hosts)) await host.transport.close();
  await rm(work, { recursive: true, force: true });
}, 300_000);

describe("the direct route with the migration's own key", () => {
  const stack = `${prefix}-app`;

  // A migration that ends well leaves nothing either: the stolen-key test below checks that after its own.
  it('epsilon → delta (a root login) killed with -9 mid-transfer: the key stays only until --resume, which takes it away and finishes by the direct route', async () => {
    await deploy('epsilon', stack);
    const before = { delta: await traces('delta'), epsilon: await traces('epsilon') };
    const killed = await cli(['migrate', 'epsilon', 'delta', stack, '--json'], ownKeyOnly, { [TEST_CRASH_VARIABLE]: 'final-sync' });
    expect(killed.exitCode).toBe(-1);
    // Interrupted: the key is still in place on delta, its private half on epsilon.
    const meanwhile = await traces('delta');
    expect(meanwhile.authorizedKeys).not.toBe(before.delta.authorizedKeys);
    const onSource = await traces('epsilon');
    expect(onSource.directories).toMatch(/^\/tmp\/docker-mcp-route\./);
    // The seed logged in once; that master connection still runs, so only revoking can end it.
    expect(onSource.masters).toContain(`${onSource.directories}/cm`);

    const listed = await cli(['migrate', 'epsilon', 'delta', stack], ownKeyOnly);
    const id = /--resume ([^\s"']+)/.exec(listed.stderr)?.[1];
    expect(id, listed.stderr).toBeTruthy();
    const resumed = await cli(['migrate', '--resume', id!, '--json'], ownKeyOnly);
    expect(resumed.stderr).toBe('');
    expect(resumed.exitCode).toBe(0);
    const { report } = JSON.parse(resumed.stdout) as { report: MigrationReport };
    expect(report.final.results.map((r) => r.route)).toEqual(['direct']);
    expect({ delta: await traces('delta'), epsilon: await traces('epsilon') }).toEqual(before);
  }, TIMEOUT_MS);
});

describe("a stolen copy of the migration's key (delta → epsilon, a sudo login)", () => {
  const stack = `${prefix}-stolen`;

  /** ssh from this machine (not the source) with the stolen key, as epsilon's login. */
  const asThief = (key: string, remote: string) =>
    execa(
      'ssh',
      ['-T', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-l', hosts.epsilon.host.user, hosts.epsilon.host.hostname, remote],
      { reject: false, stdin: 'ignore' },
    );

  it("runs no shell and no sudo, logs each refusal in epsilon's journal, dies with the migration; the receive goes through", async () => {
    await deploy('delta', stack);
    const before = { delta: await traces('delta'), epsilon: await traces('epsilon') };
    const pauseFile = path.join(work, 'paused-at-stop');
    const migrating = cli(['migrate', 'delta', 'epsilon', stack, '--json'], ownKeyOnly, { [TEST_PAUSE_VARIABLE]: 'stop', [TEST_PAUSE_FILE_VARIABLE]: pauseFile });
    const stolen = path.join(work, 'stolen_ed25519');
    let marker = '';
    try {
      await waitFor(() => existsSync(pauseFile), 600_000);
      const [entry] = (await listMigrations(path.join(stateDir, 'migrations'))).filter((m) => m.stack === stack);
      const record = entry?.routeKey;
      if (!record?.sourceDirectory) throw new Error(`no key in the journal: ${JSON.stringify(record)}`);
      marker = record.marker;
      await writeFile(stolen, (await sh('delta', 'cat "$1/id_ed25519"', record.sourceDirectory)).stdout, { mode: 0o600 });
      for (const attempt of ['id', 'sudo -n id', 'sudo -n -- sh -c id']) {
        const ran = await asThief(stolen, attempt);
        expect(ran.stdout, attempt).not.toMatch(/uid=/);
        expect(ran.exitCode, attempt).toBe(126);
      }
      const logged = await sh('epsilon', 'journalctl -q -o cat -t docker-mcp-route --since "-10 min"');
      expect(logged.stdout).toMatch(new RegExp(`refused for ${marker} from [0-9.]+: sudo -n id\n`));
      // Behind QEMU's NAT every connection reaches epsilon from one address: from= names it, and the gate does the refusing.
      expect(record.authorizedLine).toMatch(/^restrict,command="\/bin\/sh \/home\/deploy\/\.docker-mcp-gate\.[^ "]+\/gate docker-mcp-route:[^ "]+",from="[0-9.]+",expiry-time="\d{12}Z" /);
    } finally {
      rmSync(pauseFile, { force: true });
    }
    const run = await migrating;
    expect(run.exitCode, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as MigrationReport;
    expect(report.seed?.results.map((r) => r.route)).toEqual(['direct']);
    expect(report.final.results.map((r) => r.route)).toEqual(['direct']);
    expect({ delta: await traces('delta'), epsilon: await traces('epsilon') }).toEqual(before);
    expect((await sh('epsilon', 'ls -a /home/deploy')).stdout).not.toContain('.docker-mcp-gate.');
    const afterwards = await asThief(stolen, 'id');
    expect(afterwards.exitCode).toBe(255);
  }, TIMEOUT_MS);
});

describe('a clone-like target', () => {
  const stack = `${prefix}-clone`;
  let cloneDir: string;

  beforeAll(async () => {
    // On epsilon, a second sshd at 127.0.0.2 with delta's host key, and
    // CLONE_NAME pointing there; on this machine CLONE_NAME is delta itself.
    // A standing key (same path here and on epsilon) logs in to the clone.
    cloneDir = `/tmp/${prefix}-clone`;
    const deltaHostKey = (await sh('delta', 'cat /etc/ssh/ssh_host_ed25519_key')).stdout;
    const deltaHostPublicKey = (await sh('delta', 'cat /etc/ssh/ssh_host_ed25519_key.pub')).stdout.trim();
    const clientKey = await readFile((await testbedHost('delta')).identity_file!, 'utf8');
    const clientPublicKey = await readFile(`${(await testbedHost('delta')).identity_file!}.pub`, 'utf8');
    await hosts.epsilon.transport.exec(command(['install', '-d', '-m', '755', cloneDir]));
    await hosts.epsilon.transport.exec(command(['sh', '-c', 'umask 077; cat > "$1"', 'sh', `${cloneDir}/host_key`]), { input: deltaHostKey });
    await hosts.epsilon.transport.exec(command(['sh', '-c', 'umask 077; cat > "$1"', 'sh', `${cloneDir}/client_ed25519`]), { input: clientKey });
    await hosts.epsilon.transport.exec(command(['sh', '-c', 'cat > "$1"', 'sh', `${cloneDir}/authorized_keys`]), { input: clientPublicKey });
    await hosts.epsilon.transport.exec(command(['sh', '-c', 'cat > "$1"', 'sh', `${cloneDir}/sshd_config`]), {
      input: [
        // REDIRECT sends locally made connections to 127.0.0.1.
        `ListenAddress 127.0.0.1:${CLONE_PORT}`,
        `HostKey ${cloneDir}/host_key`,
        `PidFile ${cloneDir}/sshd.pid`,
        `AuthorizedKeysFile ${cloneDir}/authorized_keys`,
        'PermitRootLogin prohibit-password',
        'StrictModes no',
        'UsePAM no',
        '',
      ].join('\n'),
    });
    await hosts.epsilon.transport.exec(command(['sh', '-c', 'cat > "$1"', 'sh', `${cloneDir}/known_hosts`]), { input: `${CLONE_NAME} ${deltaHostPublicKey}\n` });
    await sh('epsilon', '/usr/sbin/sshd -f "$1/sshd_config"', cloneDir);
    await sh('epsilon', 'iptables -t nat -I OUTPUT -d "$1" -p tcp --dport 22 -j REDIRECT --to-ports "$2"', CLONE_ADDRESS, CLONE_PORT);
    await sh('epsilon', 'printf "%s %s\\n" "$1" "$2" >> /etc/hosts', CLONE_ADDRESS, CLONE_NAME);
    await addLocalName(CLONE_NAME, '127.0.0.21');
    await mkdir(cloneDir, { recursive: true, mode: 0o700 });
    await copyFile((await testbedHost('delta')).identity_file!, `${cloneDir}/client_ed25519`);
    await writeFile(`${cloneDir}/known_hosts`, `${CLONE_NAME} ${deltaHostPublicKey}\n`);
    await sh('epsilon', 'zfs create "$1" && head -c 300000 /dev/urandom > "$2/blob"', `tank/appdata/${stack}`, `${APPDATA.epsilon}/${stack}`);
  }, 300_000);

  afterAll(async () => {
    await sh('epsilon', 'iptables -t nat -D OUTPUT -d "$1" -p tcp --dport 22 -j REDIRECT --to-ports "$2"; true', CLONE_ADDRESS, CLONE_PORT);
    await sh('epsilon', 'test -f "$1/sshd.pid" && kill "$(cat "$1/sshd.pid")"; sed -i "/ $2\\$/d" /etc/hosts; rm -rf "$1"', cloneDir, CLONE_NAME);
    await removeLocalName(CLONE_NAME);
    await rm(cloneDir, { recursive: true, force: true });
  }, 120_000);

  // The route is chosen by the transfer; a whole migration around it would prove nothing more here.
  it('sees another machine behind the target\'s host key (pool guid, machine id) and relays, saying so', async () => {
    const clone = { ...(await testbedHost('delta')), hostname: CLONE_NAME, identity_file: `${cloneDir}/client_ed25519`, known_hosts_file: `${cloneDir}/known_hosts` };
    const cloneTransport = new SshTransport(clone);
    const summary = await transferServices({
      source: hosts.epsilon,
      target: { host: clone, transport: cloneTransport },
      services: [{ service: 'app', sourcePath: `${APPDATA.epsilon}/${stack}`, targetPath: `${APPDATA.delta}/${stack}` }],
      snapshotTag: 'clone',
    }).finally(() => cloneTransport.close());
    expect(summary.results.map((r) => [r.ok, r.route])).toEqual([[true, 'relay']]);
    expect(summary.relayReason).toMatch(new RegExp(`from epsilon, ${CLONE_NAME.replaceAll('.', '\\.')} is another machine than delta \\(pool guid .+\\).*clone`));
    const arrived = await sh('delta', 'wc -c < "$1/blob"', `${APPDATA.delta}/${stack}`);
    expect(arrived.stdout.trim()).toBe('300000');
  }, TIMEOUT_MS);
});

const HOSTS_FILE = '/etc/hosts';

/** Written in place: /etc/hosts may be a bind mount. */
async function addLocalName(name: string, address: string): Promise<void> {
  const text = await readFile(HOSTS_FILE, 'utf8');
  await writeFile(HOSTS_FILE, `${text}${text.endsWith('\n') ? '' : '\n'}${address} ${name}\n`);
}

async function removeLocalName(name: string): Promise<void> {
  const text = await readFile(HOSTS_FILE, 'utf8');
  await writeFile(HOSTS_FILE, text.split('\n').filter((line) => !line.endsWith(` ${name}`)).join('\n'));
}

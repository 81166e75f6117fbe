/**
 * The same data moved four ways, side by side in one run, runs interleaved:
 *   raw     `ssh alpha zfs send | ssh beta zfs receive` from this machine
 *   docker-mcp transferServices, direct and relayed routes
 *   syncoid from Debian's sanoid, the widely used peer
 *   rsync   `rsync -aHAXS` from alpha to gamma (the no-ZFS fallback)
 * Scenario 1: one dataset of BENCH_SIZE_MB (default 1024) of random data.
 * Scenario 2: a stack of three datasets sharing that size.
 * Scenario 3: one dataset of BENCH_HOME_SIZE_MB (default 256) on a home
 *   network (bench/home-network.ts): the controller's link 100 Mbit/s with
 *   latency, the hosts' link 1 Gbit/s. syncoid runs on alpha there, as its
 *   users run it between hosts (with a standing key).
 */
import { execa } from 'execa';
import { findHost, loadConfig } from '../src/config/load.js';
import type { HostConfig } from '../src/config/schema.js';
import { DEFAULT_SSH_OPTIONS, type SshConnectionOptions } from '../src/ssh/options.js';
import { command } from '../src/ssh/quote.js';
import { SshTransport } from '../src/ssh/transport.js';
import { rsyncArguments } from '../src/transfer/rsync-transfer.js';
import { transferServices } from '../src/transfer/transfer-services.js';
import { ZfsHost } from '../src/zfs/zfs-host.js';
import { CONTROLLER_ADDRESS, openHomeNetwork, type HomeNetworkShape } from './home-network.js';
import { rawZfsSend } from './raw-pipe.js';
import type { BenchTable } from './report.js';
import { median, timeMs } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZE_MB = Number(process.env.BENCH_SIZE_MB ?? 1024);
const HOME_SIZE_MB = Number(process.env.BENCH_HOME_SIZE_MB ?? 256);
const HOME: HomeNetworkShape = { controllerRate: '100mbit', hostsRate: '1gbit', oneWayDelayMs: 2, hostAddresses: ['127.0.0.11', '127.0.0.12', '127.0.0.13'] };
const REMOTE_ROUND_TRIPS = 20;

interface Side {
  readonly host: HostConfig;
  readonly transport: SshTransport;
  readonly zfs: ZfsHost;
}

async function destroyIfExists(side: Side, dataset: string): Promise<void> {
  if (await side.zfs.dataset(dataset)) await side.zfs.destroyDataset(dataset);
}

interface Sides {
  readonly alpha: Side;
  readonly beta: Side;
  readonly gamma: Side;
}

interface Scenario {
  readonly name: string;
  readonly sizeMb: number;
  readonly datasets: readonly string[];
  /** The methods run in this scenario, by name (see methodsFor). */
  readonly methods: readonly string[];
}

const ROOT = 'alpha/appdata/bench';
const TARGET_DATASETS = ['beta/appdata/bench-raw', 'beta/appdata/bench-engine', 'beta/appdata/bench-syncoid'];

async function openSides(sshOptions: SshConnectionOptions): Promise<Sides> {
  const config = await loadConfig();
  const side = (id: string): Side => {
    const host = findHost(config, id);
    const transport = new SshTransport(host, sshOptions);
    return { host, transport, zfs: new ZfsHost(transport) };
  };
  return { alpha: side('alpha'), beta: side('beta'), gamma: side('gamma') };
}

async function closeSides(sides: Sides): Promise<void> {
  for (const s of [sides.alpha, sides.beta, sides.gamma]) await s.transport.close();
}

async function clearAll({ alpha, beta, gamma }: Sides): Promise<void> {
  await destroyIfExists(alpha, ROOT);
  for (const dataset of TARGET_DATASETS) await destroyIfExists(beta, dataset);
  await gamma.transport.exec(command(['rm', '-rf', '/srv/gamma/appdata/bench-rsync']));
}

function syncoidArguments(source: Side, target: Side): string[] {
  return [
    '--recursive',
    '--skip-parent',
    '--no-privilege-elevation',
    `--sshkey=${source.host.identity_file ?? ''}`,
    `--sshoption=UserKnownHostsFile=${source.host.known_hosts_file ?? ''}`,
    '--quiet',
    // Local source: syncoid's remote snapshot listing falls back to a
    // broken command on zfs-fuse (no `zfs get -t`). The testbed's hosts
    // share this machine's pools, so alpha's dataset is local here and on alpha.
    ROOT,
    `${target.host.user}@${target.host.hostname}:beta/appdata/bench-syncoid`,
  ];
}

function methodsFor(scenario: Scenario, { alpha, beta, gamma }: Sides): Record<string, () => Promise<void>> {
  const engine = async (route: 'direct' | 'relay') => {
    const summary = await transferServices({
      source: alpha,
      target: beta,
      services: scenario.datasets.map((name) => ({
        service: name,
        sourcePath: `/srv/alpha/appdata/bench/${name}`,
        targetPath: `/srv/beta/appdata/bench-engine/${name}`,
      })),
      snapshotTag: `bench${Date.now()}`,
      route,
      // One service at a time, as raw and syncoid do: zfs-fuse is one daemon on
      // 2 cores, and concurrent sends were once seen to stall its other requests.
      concurrency: 1,
    });
    const failed = summary.results.find((r) => !r.ok);
    if (failed) throw new Error(`engine failed: ${failed.error?.message}`);
  };
  // syncoid does not create the target's parent.
  const syncoidTarget = async () => {
    await destroyIfExists(beta, 'beta/appdata/bench-syncoid');
    await beta.zfs.createDataset('beta/appdata/bench-syncoid');
  };
  const all: Record<string, () => Promise<void>> = {
    'raw zfs send | zfs receive': async () => {
      await destroyIfExists(beta, 'beta/appdata/bench-raw');
      await beta.zfs.createDataset('beta/appdata/bench-raw');
      for (const name of scenario.datasets) await rawZfsSend(alpha.host, `${ROOT}/${name}@raw`, beta.host, `beta/appdata/bench-raw/${name}`);
    },
    'docker-mcp (direct)': () => engine('direct'),
    'docker-mcp (relay)': () => engine('relay'),
    'syncoid (sanoid)': async () => {
      await syncoidTarget();
      await execa('syncoid', syncoidArguments(alpha, beta));
    },
    'syncoid on alpha (standing key)': async () => {
      await syncoidTarget();
      await alpha.transport.exec(command(['syncoid', ...syncoidArguments(alpha, beta)]), { timeoutMs: 1_800_000 });
    },
    'rsync -aHAXS (to gamma)': async () => {
      await gamma.transport.exec(command(['rm', '-rf', '/srv/gamma/appdata/bench-rsync']));
      await alpha.transport.exec(command(['mkdir', '-p', '/srv/gamma/appdata/bench-rsync']));
      for (const name of scenario.datasets) {
        await alpha.transport.exec(command(rsyncArguments(`/srv/alpha/appdata/bench/${name}`, gamma.host, `/srv/gamma/appdata/bench-rsync/${name}`).filter((a) => a !== '--info=progress2')), {
          timeoutMs: 1_800_000,
        });
      }
    },
  };
  return Object.fromEntries(scenario.methods.map((name) => [name, all[name] as () => Promise<void>]));
}

async function fillSource(scenario: Scenario, alpha: Side): Promise<void> {
  await destroyIfExists(alpha, ROOT);
  for (const name of scenario.datasets) {
    await alpha.zfs.createDataset(`${ROOT}/${name}`);
    const perDataset = Math.floor(scenario.sizeMb / scenario.datasets.length);
    await alpha.transport.exec(
      command(['sh', '-c', 'head -c "$2" /dev/urandom > "$1/data.bin"', 'fill', `/srv/alpha/appdata/bench/${name}`, String(perDataset * 1024 * 1024)]),
      { timeoutMs: 600_000 },
    );
  }
  await alpha.transport.exec(command(['zfs', 'snapshot', '-r', `${ROOT}@raw`]));
}

/** Rows of the table and one note, from each method's runs interleaved. */
async function runScenario(scenario: Scenario, sides: Sides): Promise<{ rows: string[][]; samples: Map<string, number[]> }> {
  await fillSource(scenario, sides.alpha);
  const methods = methodsFor(scenario, sides);
  const samples = new Map<string, number[]>(Object.keys(methods).map((name) => [name, []]));
  // The pools are small: only one method's copy lives on beta at a time.
  const clearTargets = async () => {
    for (const dataset of TARGET_DATASETS) await destroyIfExists(sides.beta, dataset);
    await sides.gamma.transport.exec(command(['rm', '-rf', '/srv/gamma/appdata/bench-rsync']));
  };
  for (let run = 0; run < RUNS; run++) {
    for (const [name, method] of Object.entries(methods)) {
      await clearTargets();
      samples.get(name)?.push(await timeMs(method));
    }
  }
  await clearTargets();
  await destroyIfExists(sides.alpha, ROOT);
  const bytes = scenario.sizeMb * 1024 * 1024;
  const rawMedian = median(samples.get('raw zfs send | zfs receive') ?? []);
  const rows = [...samples].map(([name, values]) => {
    const ms = median(values);
    return [scenario.name, name, (ms / 1000).toFixed(2), (bytes / (ms / 1000) / 2 ** 20).toFixed(0), (ms / rawMedian).toFixed(2), String(values.length)];
  });
  return { rows, samples };
}

function ratioNote(scenario: Scenario, samples: Map<string, number[]>): string {
  const of = (name: string) => median(samples.get(name) ?? []);
  const raw = of('raw zfs send | zfs receive');
  const direct = of('docker-mcp (direct)');
  const parts = [`direct/raw = ${(direct / raw).toFixed(2)}`, `relay/raw = ${(of('docker-mcp (relay)') / raw).toFixed(2)}`];
  if (samples.has('syncoid (sanoid)')) parts.push(`direct/syncoid = ${(direct / of('syncoid (sanoid)')).toFixed(2)}`);
  if (samples.has('syncoid on alpha (standing key)')) parts.push(`direct/syncoid on alpha = ${(direct / of('syncoid on alpha (standing key)')).toFixed(2)}`);
  return `${scenario.name}: docker-mcp ${parts.join(', ')} (medians of ${RUNS}, same run).`;
}

async function remoteRoundTripMs(side: Side): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < REMOTE_ROUND_TRIPS; i++) samples.push(await timeMs(() => side.transport.exec(command(['true']))));
  return median(samples);
}

const LOOPBACK_METHODS = ['raw zfs send | zfs receive', 'docker-mcp (direct)', 'docker-mcp (relay)', 'syncoid (sanoid)', 'rsync -aHAXS (to gamma)'];
// syncoid from this machine reads alpha's pool locally (the testbed's pools are this machine's), so on
// the home network it would cross the slow link once where a real controller crosses it twice: left out there.
const HOME_METHODS = ['raw zfs send | zfs receive', 'docker-mcp (direct)', 'docker-mcp (relay)', 'syncoid on alpha (standing key)'];

export async function transferBench(): Promise<BenchTable> {
  const rows: string[][] = [];
  const notes: string[] = [];
  const loopbackScenarios: Scenario[] = [
    { name: `1 dataset, ${SIZE_MB} MiB`, sizeMb: SIZE_MB, datasets: ['one'], methods: LOOPBACK_METHODS },
    { name: `3 datasets, ${SIZE_MB} MiB in all`, sizeMb: SIZE_MB, datasets: ['a', 'b', 'c'], methods: LOOPBACK_METHODS },
  ];
  const homeScenario: Scenario = { name: `home network: 1 dataset, ${HOME_SIZE_MB} MiB`, sizeMb: HOME_SIZE_MB, datasets: ['one'], methods: HOME_METHODS };

  const loopback = await openSides(DEFAULT_SSH_OPTIONS);
  let loopbackRoundTrip = Number.NaN;
  try {
    loopbackRoundTrip = await remoteRoundTripMs(loopback.alpha);
    for (const scenario of loopbackScenarios) {
      const result = await runScenario(scenario, loopback);
      rows.push(...result.rows);
      notes.push(ratioNote(scenario, result.samples));
    }
  } finally {
    // Also after a failure: nothing of the bench is left on the testbed.
    await clearAll(loopback).catch(() => undefined);
    await closeSides(loopback);
  }

  const home = await openHomeNetwork(HOME);
  try {
    const shaped = await openSides(home.sshOptions);
    try {
      const homeRoundTrip = await remoteRoundTripMs(shaped.alpha);
      const result = await runScenario(homeScenario, shaped);
      rows.push(...result.rows);
      notes.push(ratioNote(homeScenario, result.samples));
      notes.push(
        `home network: this machine's ssh leaves from ${CONTROLLER_ADDRESS} through a ${HOME.controllerRate} htb class on lo (both directions share it, as on Wi-Fi) ` +
          `and a ProxyCommand adding ${HOME.oneWayDelayMs} ms each way (the kernel has no netem); the hosts' traffic between themselves gets a ${HOME.hostsRate} class. ` +
          `A remote \`true\` takes ${homeRoundTrip.toFixed(1)} ms there against ${loopbackRoundTrip.toFixed(1)} ms unshaped (medians of ${REMOTE_ROUND_TRIPS}, same run).`,
      );
    } finally {
      await clearAll(shaped).catch(() => undefined);
      await closeSides(shaped);
    }
  } finally {
    await home.close();
  }
  notes.push(
    'raw and docker-mcp (relay) pass through this machine (two SSH streams); docker-mcp (direct) runs `zfs send | pv | ssh beta mbuffer | zfs receive` on alpha; ' +
      'syncoid sends from the local pool into one SSH stream with its defaults (lzop, mbuffer, pv), from this machine (loopback) or from alpha (home network: from this machine it would read alpha\'s pool locally and cross the slow link once, not twice); rsync runs on alpha and pushes to gamma. ' +
      'docker-mcp times include its checks, snapshot, verification by guid and pruning.',
  );
  return {
    name: 'transfer',
    title: 'Moving a dataset: raw pipe, docker-mcp, syncoid and rsync, side by side (testbed, zfs-fuse; loopback, then a home network)',
    headers: ['scenario', 'method', 'median s', 'MiB/s', '× raw', 'runs'],
    rows,
    notes,
  };
}

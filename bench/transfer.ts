/**
 * The same data moved four ways, side by side in one run, runs interleaved:
 *   raw     `ssh alpha zfs send | ssh beta zfs receive` from this machine
 *   docker-mcp transferServices, direct and relayed routes
 *   syncoid from Debian's sanoid, the widely used peer
 *   rsync   `rsync -aHAXS` from alpha to gamma (the no-ZFS fallback)
 * Scenario 1: one dataset of BENCH_SIZE_MB (default 1024) of random data.
 * Scenario 2: a stack of three datasets sharing that size.
 */
import { execa } from 'execa';
import { findHost, loadConfig } from '../src/config/load.js';
import type { HostConfig } from '../src/config/schema.js';
import { command } from '../src/ssh/quote.js';
import { SshTransport } from '../src/ssh/transport.js';
import { rsyncArguments } from '../src/transfer/rsync-transfer.js';
import { transferServices } from '../src/transfer/transfer-services.js';
import { ZfsHost } from '../src/zfs/zfs-host.js';
import { rawZfsSend } from './raw-pipe.js';
import type { BenchTable } from './report.js';
import { median, timeMs } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SIZE_MB = Number(process.env.BENCH_SIZE_MB ?? 1024);

interface Side {
  readonly host: HostConfig;
  readonly transport: SshTransport;
  readonly zfs: ZfsHost;
}

async function destroyIfExists(side: Side, dataset: string): Promise<void> {
  if (await side.zfs.dataset(dataset)) await side.zfs.destroyDataset(dataset);
}

export async function transferBench(): Promise<BenchTable> {
  const config = await loadConfig();
  const side = (id: string): Side => {
    const host = findHost(config, id);
    const transport = new SshTransport(host);
    return { host, transport, zfs: new ZfsHost(transport) };
  };
  const alpha = side('alpha');
  const beta = side('beta');
  const gamma = side('gamma');
  const rows: string[][] = [];
  const notes: string[] = [];

  const scenarios = [
    { name: `1 dataset, ${SIZE_MB} MiB`, datasets: ['one'] },
    { name: `3 datasets, ${SIZE_MB} MiB in all`, datasets: ['a', 'b', 'c'] },
  ];
  try {
    for (const scenario of scenarios) {
      const root = 'alpha/appdata/bench';
      await destroyIfExists(alpha, root);
      for (const name of scenario.datasets) {
        await alpha.zfs.createDataset(`${root}/${name}`);
        const perDataset = Math.floor(SIZE_MB / scenario.datasets.length);
        await alpha.transport.exec(
          command(['sh', '-c', 'head -c "$2" /dev/urandom > "$1/data.bin"', 'fill', `/srv/alpha/appdata/bench/${name}`, String(perDataset * 1024 * 1024)]),
          { timeoutMs: 600_000 },
        );
      }
      await alpha.transport.exec(command(['zfs', 'snapshot', '-r', `${root}@raw`]));
      const bytes = SIZE_MB * 1024 * 1024;

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
      const methods: Record<string, () => Promise<void>> = {
        'raw zfs send | zfs receive': async () => {
          await destroyIfExists(beta, 'beta/appdata/bench-raw');
          await beta.zfs.createDataset('beta/appdata/bench-raw');
          for (const name of scenario.datasets) await rawZfsSend(alpha.host, `${root}/${name}@raw`, beta.host, `beta/appdata/bench-raw/${name}`);
        },
        'docker-mcp (direct)': () => engine('direct'),
        'docker-mcp (relay)': () => engine('relay'),
        'syncoid (sanoid)': async () => {
          await destroyIfExists(beta, 'beta/appdata/bench-syncoid');
          // syncoid does not create the target's parent.
          await beta.zfs.createDataset('beta/appdata/bench-syncoid');
          const key = alpha.host.identity_file ?? '';
          const knownHosts = alpha.host.known_hosts_file ?? '';
          await execa('syncoid', [
            '--recursive',
            '--skip-parent',
            '--no-privilege-elevation',
            `--sshkey=${key}`,
            `--sshoption=UserKnownHostsFile=${knownHosts}`,
            '--quiet',
            // Local source: syncoid's remote snapshot listing falls back to a
            // broken command on zfs-fuse (no `zfs get -t`). The testbed's hosts
            // share this machine's pools, so alpha's dataset is local here.
            root,
            `${beta.host.user}@${beta.host.hostname}:beta/appdata/bench-syncoid`,
          ]);
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

      const samples = new Map<string, number[]>(Object.keys(methods).map((name) => [name, []]));
      // The pools are small: only one method's copy lives on beta at a time.
      const clearTargets = async () => {
        for (const dataset of ['beta/appdata/bench-raw', 'beta/appdata/bench-engine', 'beta/appdata/bench-syncoid']) await destroyIfExists(beta, dataset);
        await gamma.transport.exec(command(['rm', '-rf', '/srv/gamma/appdata/bench-rsync']));
      };
      for (let run = 0; run < RUNS; run++) {
        for (const [name, method] of Object.entries(methods)) {
          await clearTargets();
          samples.get(name)?.push(await timeMs(method));
        }
      }
      await clearTargets();
      const rawMedian = median(samples.get('raw zfs send | zfs receive') ?? []);
      for (const [name, values] of samples) {
        const ms = median(values);
        rows.push([scenario.name, name, (ms / 1000).toFixed(2), ((bytes / (ms / 1000)) / 2 ** 20).toFixed(0), (ms / rawMedian).toFixed(2), String(values.length)]);
      }
      const direct = median(samples.get('docker-mcp (direct)') ?? []);
      const relayed = median(samples.get('docker-mcp (relay)') ?? []);
      const syncoid = median(samples.get('syncoid (sanoid)') ?? []);
      notes.push(
        `${scenario.name}: docker-mcp direct/raw = ${(direct / rawMedian).toFixed(2)}, relay/raw = ${(relayed / rawMedian).toFixed(2)}, ` +
          `direct/syncoid = ${(direct / syncoid).toFixed(2)} (medians of ${RUNS}, same run).`,
      );

      await destroyIfExists(alpha, root);
    }
  } finally {
    // Also after a failure: nothing of the bench is left on the testbed.
    await destroyIfExists(alpha, 'alpha/appdata/bench').catch(() => undefined);
    for (const dataset of ['beta/appdata/bench-raw', 'beta/appdata/bench-engine', 'beta/appdata/bench-syncoid']) {
      await destroyIfExists(beta, dataset).catch(() => undefined);
    }
    await gamma.transport.exec(command(['rm', '-rf', '/srv/gamma/appdata/bench-rsync'])).catch(() => undefined);
    for (const s of [alpha, beta, gamma]) await s.transport.close();
  }
  notes.push(
    'raw and docker-mcp (relay) pass through this machine (two SSH streams); docker-mcp (direct) runs `zfs send | pv | ssh beta mbuffer | zfs receive` on alpha; ' +
      'syncoid sends from the local pool into one SSH stream with its defaults (lzop, mbuffer, pv); rsync runs on alpha and pushes to gamma. ' +
      'docker-mcp times include its checks, snapshot, verification by guid and pruning.',
  );
  return {
    name: 'transfer',
    title: 'Moving a dataset: raw pipe, docker-mcp, syncoid and rsync, side by side (testbed, loopback, zfs-fuse)',
    headers: ['scenario', 'method', 'median s', 'MiB/s', '× raw', 'runs'],
    rows,
    notes,
  };
}

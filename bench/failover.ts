/**
 * What a failover and a failback cost, alpha → beta (container testbed, ZFS),
 * side by side in one run (BENCH_FAILOVER_MB of data, default 100;
 * BENCH_RUNS rounds, default 3). Each round: a pass, the stack's containers
 * on alpha killed (the host "dies"; `primaryDead`, so the tries of the host
 * are not in the figure), `failover` until every service runs on beta, then
 * 10 MiB written on beta and `failback` (keep, move back, a pass). Against:
 * a plain restart of the same stack on alpha (down + up until running), and
 * the stack's size for the bytes a failback sent. zfs-fuse has no
 * `written@`, so its failback keeps every dataset whole on alpha (a local
 * copy); on OpenZFS only a dataset that changed is kept.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config/load.js';
import { deployStack, stackActionAt } from '../src/docker/stacks.js';
import { failback } from '../src/failover/failback.js';
import { failover } from '../src/failover/failover.js';
import { waitUntilRunning } from '../src/migration/wait-running.js';
import { command } from '../src/ssh/quote.js';
import { declareStandby, loadStandbyFile, writeStandbyFile, type StandbyDeclaration } from '../src/standby/declarations.js';
import { runStandbyPass } from '../src/standby/sync-pass.js';
import { testbedHostsFile } from '../src/testbed/layout.js';
import { clearStack, closeHosts, dataPath, fillDataset, sleeperCompose, openHosts, say, type BenchHost } from './fixture.js';
import type { BenchTable } from './report.js';
import { median } from './stats.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const STACK = 'bench-failover';
const DATA = `${STACK}-db`;
const TEN_MIB = 10 * 2 ** 20;

const compose = (dataDir: string) => sleeperCompose(dataDir, 'always');

async function clearAll(alpha: BenchHost, beta: BenchHost): Promise<void> {
  for (const side of [alpha, beta]) await clearStack(side, STACK, DATA);
  await beta.transport.exec(command(['sh', '-c', 'rm -rf -- "$1"/.docker-mcp-standby/alpha/"$2"*', 'drop-staged', beta.host.compose_path ?? '/nonexistent', STACK]));
  await alpha.transport.exec(command(['sh', '-c', 'rm -rf -- "$1"/.docker-mcp-kept/"$2"-*', 'drop-kept', alpha.host.appdata_path ?? '/nonexistent', STACK]));
}

export async function failoverBench(): Promise<BenchTable> {
  const sizeMb = Number(process.env.BENCH_FAILOVER_MB ?? 100);
  const [alpha, beta] = await openHosts('alpha', 'beta');
  const state = await mkdtemp(path.join(os.tmpdir(), 'docker-mcp-bench-failover-'));
  const hostsFile = path.join(state, 'hosts.yml');
  await copyFile(testbedHostsFile(), hostsFile);
  const config = await loadConfig(hostsFile);
  const dirs = { stateDir: path.join(state, 'standby'), journalDir: path.join(state, 'migrations') };
  const hostOf = (id: string) => (id === 'alpha' ? alpha : id === 'beta' ? beta : Promise.reject(new Error(`not a bench host: ${id}`)));
  const samples = { failover: [] as number[], restart: [] as number[], failbackTotal: [] as number[], failbackDowntime: [] as number[], failbackBytes: [] as number[], window: [] as number[] };
  try {
    await clearAll(alpha, beta);
    await fillDataset(alpha, DATA, sizeMb * 2 ** 20);
    const deployed = await deployStack(alpha, STACK, compose(dataPath(alpha, DATA).path));
    const location = { project: STACK, workingDir: path.posix.dirname(deployed.file), configFiles: [deployed.file] };
    await waitUntilRunning(alpha, STACK, ['db'], 60_000);
    const file = await loadStandbyFile(hostsFile);
    const { declaration } = declareStandby(file, config, { host: 'alpha', stack: STACK, to: 'beta' });
    await writeStandbyFile(file);
    say(`failover: first pass of ${sizeMb} MiB`);
    const first = await runStandbyPass(alpha, beta, declaration as StandbyDeclaration, dirs);
    if (!first.ok) throw new Error(`the first pass failed: ${first.error}`);

    for (let run = 0; run < RUNS; run++) {
      say(`failover: round ${run + 1} of ${RUNS}`);
      const stopping = Date.now();
      await stackActionAt(alpha, location, 'down');
      await stackActionAt(alpha, location, 'up');
      if (!(await waitUntilRunning(alpha, STACK, ['db'], 60_000)).ready) throw new Error(`${STACK} did not come back on alpha after a restart`);
      samples.restart.push((Date.now() - stopping) / 1000);

      await alpha.transport.exec(command(['sh', '-c', 'docker ps -q --filter "label=com.docker.compose.project=$1" | xargs -r docker kill >/dev/null', 'kill', STACK]));
      const over = await failover(config, hostOf, { stack: STACK, primaryDead: true, ...dirs });
      samples.failover.push(over.seconds);
      samples.window.push(over.lossWindowSeconds);

      await beta.transport.exec(command(['sh', '-c', 'head -c "$2" /dev/urandom > "$1"', 'write', `${dataPath(beta, DATA).path}/on-beta-${run}.bin`, String(TEN_MIB)]));
      const back = await failback(config, hostOf, { stack: STACK, ...dirs });
      if (!back.pass.ok) throw new Error(`the pass after the failback failed: ${back.pass.error}`);
      samples.failbackTotal.push(back.seconds);
      samples.failbackDowntime.push(back.migration.downtimeSeconds);
      samples.failbackBytes.push(back.migration.bytesSent);
    }
  } finally {
    await clearAll(alpha, beta).catch((error: unknown) => say(`failover: clearing ${STACK} failed: ${String(error)}`));
    await closeHosts([alpha, beta]);
    await rm(state, { recursive: true, force: true });
  }

  const s = (values: readonly number[]) => `${median(values).toFixed(2)} s`;
  const restart = median(samples.restart);
  const size = sizeMb * 2 ** 20;
  return {
    name: 'failover',
    title: `Failover and failback alpha ⇄ beta (zfs-fuse, container testbed), ${sizeMb} MiB of data, medians of ${RUNS} rounds`,
    headers: ['what', 'ours', 'reference', 'reference is', 'ratio'],
    rows: [
      ['failover: from the command to every service running on beta', s(samples.failover), `${restart.toFixed(2)} s`, 'plain restart on alpha (down + up until running)', (median(samples.failover) / restart).toFixed(2)],
      ['failback: bytes sent back (10 MiB written on beta)', `${median(samples.failbackBytes).toFixed(0)}`, `${size}`, "the stack's data", (median(samples.failbackBytes) / size).toFixed(3)],
      ['failback: downtime', s(samples.failbackDowntime), `${restart.toFixed(2)} s`, 'plain restart on alpha', (median(samples.failbackDowntime) / restart).toFixed(2)],
      ['failback: total (keep, move back, pass)', s(samples.failbackTotal), s(samples.failbackDowntime), 'its own downtime', (median(samples.failbackTotal) / median(samples.failbackDowntime)).toFixed(2)],
    ],
    notes: [
      'All figures from this one run, round by round; the library is called in this process (no CLI start-up).',
      'The failover is timed with primaryDead: the tries of the host (3 × 5 s by default, each a fresh SSH login) come on top when the host is tried.',
      `The data-loss windows of the failovers (time since the pass they started from): ${samples.window.map((w) => w.toFixed(1)).join(', ')} s.`,
      "On zfs-fuse (no `written@`) the failback keeps each dataset whole on alpha first, a local copy that grows with the data; on OpenZFS only a dataset written after the snapshot is kept.",
    ],
  };
}

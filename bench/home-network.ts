/**
 * A home network on this machine's loopback, for the transfer benchmark:
 * the controller's own link is slow and has latency (a laptop on Wi-Fi),
 * the hosts' link between themselves is fast (wired gigabit).
 *
 * - Rates: an htb qdisc on `lo`. Traffic from or to CONTROLLER_ADDRESS (the
 *   address the controller's ssh connections leave from) shares one class of
 *   CONTROLLER_RATE, both directions together as on Wi-Fi; traffic from or to
 *   the testbed hosts' addresses gets HOSTS_RATE. Anything else is not
 *   classified, and htb passes it at full speed.
 * - Latency: the controller's ssh runs through bench/delay-link.ts as its
 *   ProxyCommand (an `ssh` wrapper first on PATH), which binds
 *   CONTROLLER_ADDRESS and delays each direction.
 * The hosts' own ssh (a direct route) is started by their sshd with its own
 * PATH, so it is neither wrapped nor bound: it takes the hosts' class.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { DEFAULT_SSH_OPTIONS, type SshConnectionOptions } from '../src/ssh/options.js';
import { quoteArg } from '../src/ssh/quote.js';

export interface HomeNetworkShape {
  readonly controllerRate: string;
  readonly hostsRate: string;
  /** Added in each direction: the round trip grows by twice this. */
  readonly oneWayDelayMs: number;
  readonly hostAddresses: readonly string[];
}

export const CONTROLLER_ADDRESS = '127.0.0.100';

export interface HomeNetwork {
  readonly shape: HomeNetworkShape;
  /** Masters of their own: a master made before (or by another process) would bypass the shaping. */
  readonly sshOptions: SshConnectionOptions;
  close(): Promise<void>;
}

const HANDLE = '1:';
const CONTROLLER_CLASS = '1:10';
const HOSTS_CLASS = '1:20';

async function tc(args: readonly string[]): Promise<void> {
  await execa('tc', args);
}

async function loopbackQdisc(): Promise<string> {
  return (await execa('tc', ['qdisc', 'show', 'dev', 'lo'])).stdout;
}

function delayLinkScript(): string {
  const built = fileURLToPath(new URL('../dist/bench/delay-link.js', import.meta.url));
  const besideMe = fileURLToPath(new URL('./delay-link.js', import.meta.url));
  const script = [besideMe, built].find((candidate) => existsSync(candidate));
  if (!script) throw new Error(`bench/delay-link is not built: run \`npm run build\` first (looked for ${built})`);
  return script;
}

async function shapeLoopback(shape: HomeNetworkShape): Promise<void> {
  const current = await loopbackQdisc();
  if (!/qdisc noqueue/.test(current) && !/qdisc htb 1: root/.test(current)) {
    throw new Error(`lo already has a qdisc this bench did not make; not touching it:\n${current}`);
  }
  // A leftover of a killed run is ours (htb 1:); start again from nothing.
  if (/qdisc htb 1: root/.test(current)) await tc(['qdisc', 'del', 'dev', 'lo', 'root']);
  await tc(['qdisc', 'add', 'dev', 'lo', 'root', 'handle', HANDLE, 'htb']);
  // Bursts of a few of lo's 64 KiB segments; smaller ones cap the rate below the setting.
  await tc(['class', 'add', 'dev', 'lo', 'parent', HANDLE, 'classid', CONTROLLER_CLASS, 'htb', 'rate', shape.controllerRate, 'burst', '64k', 'cburst', '64k', 'quantum', '65536']);
  await tc(['class', 'add', 'dev', 'lo', 'parent', HANDLE, 'classid', HOSTS_CLASS, 'htb', 'rate', shape.hostsRate, 'burst', '256k', 'cburst', '256k', 'quantum', '65536']);
  const match = (priority: number, direction: 'src' | 'dst', address: string, flow: string) =>
    tc(['filter', 'add', 'dev', 'lo', 'parent', HANDLE, 'protocol', 'ip', 'prio', String(priority), 'u32', 'match', 'ip', direction, `${address}/32`, 'flowid', flow]);
  // The controller's class first: its packets also carry a host's address.
  await match(1, 'src', CONTROLLER_ADDRESS, CONTROLLER_CLASS);
  await match(1, 'dst', CONTROLLER_ADDRESS, CONTROLLER_CLASS);
  for (const address of shape.hostAddresses) {
    await match(2, 'src', address, HOSTS_CLASS);
    await match(2, 'dst', address, HOSTS_CLASS);
  }
}

async function writeSshWrapper(directory: string, oneWayDelayMs: number): Promise<void> {
  const realSsh = (await execa('sh', ['-c', 'command -v ssh'])).stdout.trim();
  const proxy = [process.execPath, delayLinkScript(), CONTROLLER_ADDRESS, String(oneWayDelayMs), '%h', '%p'].map(quoteArg).join(' ');
  const wrapper = ['#!/bin/sh', `exec ${quoteArg(realSsh)} -o ${quoteArg(`ProxyCommand=${proxy}`)} "$@"`, ''].join('\n');
  const file = path.join(directory, 'ssh');
  await writeFile(file, wrapper);
  await chmod(file, 0o755);
}

export async function openHomeNetwork(shape: HomeNetworkShape): Promise<HomeNetwork> {
  const directory = await mkdtemp(path.join(os.tmpdir(), 'docker-mcp-bench-home-'));
  const wrapperDir = path.join(directory, 'bin');
  const controlDir = path.join(directory, 'control');
  for (const dir of [wrapperDir, controlDir]) await mkdir(dir, { mode: 0o700 });
  await writeSshWrapper(wrapperDir, shape.oneWayDelayMs);
  const previousPath = process.env.PATH ?? '';
  await shapeLoopback(shape);
  process.env.PATH = `${wrapperDir}:${previousPath}`;
  return {
    shape,
    sshOptions: { ...DEFAULT_SSH_OPTIONS, controlDir },
    async close() {
      process.env.PATH = previousPath;
      await tc(['qdisc', 'del', 'dev', 'lo', 'root']).catch(() => undefined);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/**
 * The reference the engine is measured against: `ssh source zfs send SNAP |
 * ssh target zfs receive DATASET` run from this machine, each side on a
 * connection of its own (no multiplexing), nothing else in the stream.
 */
import { execa } from 'execa';
import type { HostConfig } from '../src/config/schema.js';
import { DEFAULT_SSH_OPTIONS, sshArguments } from '../src/ssh/options.js';
import { command, quoteArg } from '../src/ssh/quote.js';

export async function rawZfsSend(source: HostConfig, snapshot: string, target: HostConfig, dataset: string): Promise<void> {
  const pipe = `${sshLine(source, ['zfs', 'send', snapshot])} | ${sshLine(target, ['zfs', 'receive', dataset])}`;
  await execa('bash', ['-o', 'pipefail', '-c', pipe]);
}

function sshLine(host: HostConfig, argv: readonly string[]): string {
  return ['ssh', ...sshArguments(host, { ...DEFAULT_SSH_OPTIONS, multiplex: false }), command(argv).text].map(quoteArg).join(' ');
}

/** The same pipe for an incremental stream: `zfs send -i FROM SNAP | zfs receive DATASET`. */
export async function rawZfsSendIncremental(source: HostConfig, from: string, snapshot: string, target: HostConfig, dataset: string): Promise<void> {
  const pipe = `${sshLine(source, ['zfs', 'send', '-i', from, snapshot])} | ${sshLine(target, ['zfs', 'receive', dataset])}`;
  await execa('bash', ['-o', 'pipefail', '-c', pipe]);
}

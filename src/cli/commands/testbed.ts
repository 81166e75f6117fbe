import type { Command } from 'commander';
import { testbedDown, testbedStatus, testbedUp } from '../../testbed/testbed.js';
import { cleanGuests } from '../../testbed/guests/clean.js';
import { emit, table } from '../output.js';

interface JsonOption {
  json?: boolean;
}

interface UpOptions extends JsonOption {
  guests?: boolean;
}

export function registerTestbedCommands(program: Command): void {
  const testbed = program
    .command('testbed')
    .description('The local testbed: hosts alpha, beta (ZFS) and gamma (no ZFS), each with its own sshd and Docker engine');

  testbed
    .command('up')
    .description('Bring the testbed up (installs missing Debian packages as root); idempotent')
    .option('--guests', 'also boot delta and epsilon: QEMU guests with OpenZFS 2.3 in the kernel and compose v2 (the image is built once, a few minutes)')
    .option('--json', 'machine-readable output')
    .action(async (options: UpOptions) => {
      const result = await testbedUp(
        (line) => {
          if (!options.json) process.stderr.write(`  ${line}\n`);
        },
        { guests: options.guests ?? false },
      );
      emit(result, options, (r) =>
        [
          r.changes.length === 0 ? 'testbed already up; nothing changed' : `testbed up (${r.changes.length} changes)`,
          `hosts file: ${r.hostsFile}`,
          `took ${r.seconds.toFixed(1)} s`,
        ].join('\n'),
      );
    });

  testbed
    .command('down')
    .description('Stop what "testbed up" started and remove its state')
    .option('--json', 'machine-readable output')
    .action(async (options: JsonOption) => {
      const result = await testbedDown();
      emit(result, options, (r) =>
        `${r.stopped.length === 0 ? 'nothing was running' : `stopped: ${r.stopped.join(', ')}`}\ntook ${r.seconds.toFixed(1)} s`,
      );
    });

  testbed
    .command('clean')
    .description("Remove what killed test runs left on the OpenZFS guests: route keys, gate directories, and the test files' containers, datasets and folders")
    .option('--json', 'machine-readable output')
    .action(async (options: JsonOption) => {
      const results = await cleanGuests();
      emit(results, options, (rows) =>
        rows.map((r) => (r.removed.length === 0 ? `${r.host}: nothing left by earlier runs` : `${r.host}: removed\n${r.removed.map((line) => `  ${line}`).join('\n')}`)).join('\n'),
      );
    });

  testbed
    .command('status')
    .description('Say what of the testbed runs')
    .option('--json', 'machine-readable output')
    .action(async (options: JsonOption) => {
      const status = await testbedStatus();
      emit(status, options, (s) =>
        [
          `testbed is ${s.up ? 'up' : 'not (fully) up'}; zfs-fuse ${s.zfsFuse ? 'runs' : 'does not run'}`,
          table(
            ['HOST', 'ADDRESS', 'SSHD', 'DOCKERD', 'POOL'],
            s.hosts.map((h) => [h.host, h.address, h.sshd ? 'up' : 'down', h.dockerd ? 'up' : 'down', h.pool ?? '-']),
          ),
          table(
            ['GUEST', 'ADDRESS', 'QEMU', 'READY'],
            s.guests.map((g) => [g.host, g.address, g.running ? 'runs' : 'off', g.ready ? 'yes' : 'no']),
          ),
          `hosts file: ${s.hostsFile}`,
        ].join('\n'),
      );
      if (!status.up) process.exitCode = 1;
    });
}

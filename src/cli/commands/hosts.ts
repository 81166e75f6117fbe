import type { Command } from 'commander';
import { summarizeHost } from '../../config/host-summary.js';
import { findHost, loadConfig } from '../../config/load.js';
import { setHostFields, writeConfigFile } from '../../config/write.js';
import { discoverAndRecord } from '../../host/discover-and-record.js';
import { InvalidInputError } from '../../errors.js';
import { discoverHost, type HostCapabilities } from '../../host/capabilities.js';
import { testConnection, type ConnectionTest } from '../../host/connection-test.js';
import { forEachHost, type HostRow } from '../../host/fan-out.js';
import { validateHostId } from '../../names/validate.js';
import { cliContext } from '../context.js';
import { emit, table } from '../output.js';
import { formatBytes } from '../format.js';

interface JsonOption {
  json?: boolean;
}

export function registerHostsCommands(program: Command): void {
  const hosts = program.command('hosts').description('Configured Docker hosts');

  hosts
    .command('list')
    .description('List the hosts in hosts.yml')
    .option('--json', 'machine-readable output')
    .action(async (options: JsonOption, command: Command) => {
      const context = await cliContext(command);
      const rows = context.config.hosts.map(summarizeHost);
      emit({ config: context.config.location.path, hosts: rows }, options, (result) =>
        [
          context.config.location.exists ? `hosts from ${result.config}` : `no hosts: ${result.config} does not exist yet (hosts add creates it)`,
          table(
            ['HOST', 'ADDRESS', 'ENABLED', 'ZFS', 'APPDATA'],
            result.hosts.map((h) => [
              h.id,
              `${h.user}@${h.hostname}:${h.port}`,
              h.enabled ? 'yes' : 'no',
              h.zfs_capable ? (h.zfs_dataset ?? 'yes') : 'no',
              h.appdata_path ?? '-',
            ]),
          ),
        ].join('\n'),
      );
    });

  hosts
    .command('test')
    .description('Check that each host is reachable, accepts our key, and that Docker answers')
    .argument('[host...]', 'host ids (default: every enabled host)')
    .option('--json', 'machine-readable output')
    .action(async (hostIds: string[], options: JsonOption, command: Command) => {
      const context = await cliContext(command);
      const rows = await forEachHost(context.selectHosts(hostIds), (host) => testConnection(context.ssh.get(host)));
      emit(rows, options, renderTests);
      if (rows.some((row) => !row.ok || !row.value.ssh.ok || !row.value.docker?.ok)) process.exitCode = 3;
    });

  hosts
    .command('discover')
    .description('Probe hosts in parallel: Docker, compose flavour, ZFS and its features, rsync, free space')
    .argument('[host...]', 'host ids (default: every enabled host)')
    .option('--json', 'machine-readable output')
    .action(async (hostIds: string[], options: JsonOption, command: Command) => {
      const context = await cliContext(command);
      const rows = await forEachHost(context.selectHosts(hostIds), (host) => discoverHost(context.ssh.get(host), host));
      emit(rows, options, renderDiscovery);
      if (rows.some((row) => !row.ok)) process.exitCode = 3;
    });

  hosts
    .command('add')
    .description('Add a host to hosts.yml (or change fields of an existing one); other content of the file is kept')
    .argument('<host>', 'host id')
    .requiredOption('--hostname <name>', 'address or ~/.ssh/config alias')
    .requiredOption('--user <user>', 'SSH user')
    .option('--port <port>', 'SSH port', (value) => parsePort(value), 22)
    .option('--identity-file <file>', 'private key')
    .option('--description <text>', 'free text')
    .option('--compose-path <path>', 'where stacks live on the host')
    .option('--appdata-path <path>', 'where service data lives on the host')
    .option('--zfs-dataset <dataset>', 'dataset behind appdata_path (sets zfs_capable)')
    .option('--known-hosts-file <file>', 'a known_hosts file just for this host')
    .option('--no-discover', 'do not probe the host after adding it')
    .option('--json', 'machine-readable output')
    .action(async (hostId: string, options: AddOptions, command: Command) => {
      validateHostId(hostId);
      const context = await cliContext(command);
      const { document, location } = context.config;
      setHostFields(document, hostId, {
        hostname: options.hostname,
        user: options.user,
        port: options.port,
        identity_file: options.identityFile,
        description: options.description,
        compose_path: options.composePath,
        appdata_path: options.appdataPath,
        zfs_capable: options.zfsDataset ? true : undefined,
        zfs_dataset: options.zfsDataset,
        known_hosts_file: options.knownHostsFile,
      });
      await writeConfigFile(location.path, document);
      if (!options.discover) {
        emit({ hostId, config: location.path }, options, (r) => `host ${r.hostId} written to ${r.config}`);
        return;
      }
      // As the Python tool: probe the new host and record what ZFS it has. Unlike MCP's add, a host that
      // does not answer stays added: the person typing can run ssh to fix what is missing (a key to accept).
      const config = await loadConfig(location.path);
      const discovery = await discoverAndRecord(context.ssh, config, [findHost(config, hostId)], { record: true });
      const answered = discovery.hosts.every((row) => row.ok);
      emit({ hostId, config: location.path, discovery }, options, (r) =>
        [
          `host ${r.hostId} written to ${r.config}`,
          renderDiscovery(r.discovery.hosts),
          ...(r.discovery.config_updated.length > 0 ? [`recorded zfs_capable/zfs_dataset of ${r.hostId}`] : []),
          ...(answered ? [] : [`${r.hostId} does not connect yet: fix what the row above says, then run docker-mcp hosts test ${r.hostId}`]),
        ].join('\n'),
      );
      if (!answered) process.exitCode = 3;
    });
}

interface AddOptions extends JsonOption {
  hostname: string;
  user: string;
  port: number;
  identityFile?: string;
  description?: string;
  composePath?: string;
  appdataPath?: string;
  zfsDataset?: string;
  knownHostsFile?: string;
  discover: boolean;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new InvalidInputError('port', value, 'must be an integer from 1 to 65535');
  }
  return port;
}

function renderTests(rows: HostRow<ConnectionTest>[]): string {
  return table(
    ['HOST', 'SSH', 'DOCKER', 'ROUND TRIP'],
    rows.map((row) => {
      if (!row.ok) return [row.hostId, `FAILED: ${row.error.message}`, '-', '-'];
      const { ssh, docker, roundTripMs } = row.value;
      return [
        row.hostId,
        ssh.ok ? `ok (${ssh.detail})` : `FAILED: ${ssh.error}`,
        docker === null ? '-' : docker.ok ? `ok (${docker.detail})` : `FAILED: ${docker.error}`,
        roundTripMs === null ? '-' : `${roundTripMs} ms`,
      ];
    }),
  );
}

function renderDiscovery(rows: HostRow<HostCapabilities>[]): string {
  return table(
    ['HOST', 'DOCKER', 'COMPOSE', 'ZFS', 'ZFS FEATURES', 'APPDATA DATASET', 'RSYNC', 'FREE'],
    rows.map((row) => {
      if (!row.ok) return [row.hostId, `FAILED: ${row.error.message}`];
      const c = row.value;
      const features = Object.entries(c.zfs.features)
        .filter(([, on]) => on)
        .map(([name]) => name);
      return [
        c.hostId,
        c.docker ? c.docker.serverVersion : `none (${c.dockerError})`,
        c.compose ? `${c.compose.flavour} ${c.compose.version}` : 'none',
        c.zfs.available ? (c.zfs.version ?? 'yes') : 'no',
        c.zfs.available ? (features.length > 0 ? features.join(',') : 'basic send/receive only') : '-',
        c.zfs.appdataDataset ?? '-',
        c.rsync?.version ?? 'none',
        c.appdata.freeBytes === null ? '-' : formatBytes(c.appdata.freeBytes),
      ];
    }),
  );
}

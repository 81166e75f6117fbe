/**
 * `docker_hosts`: the hosts of hosts.yml, with the actions and parameters of
 * the Python docker-mcp's tool of the same name.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { summarizeHost } from '../../config/host-summary.js';
import { enabledHosts, findHost, type LoadedConfig } from '../../config/load.js';
import type { HostConfig } from '../../config/schema.js';
import { removeHost, setHostFields, writeConfigFile, type HostFieldUpdate } from '../../config/write.js';
import { listContainers } from '../../docker/containers.js';
import { ConfirmationRequiredError } from '../../docker/errors.js';
import { cleanupHost, CLEANUP_LEVELS } from '../../docker/cleanup.js';
import { InvalidInputError, UnknownHostError } from '../../errors.js';
import { discoverHost } from '../../host/capabilities.js';
import { testConnection } from '../../host/connection-test.js';
import { forEachHost } from '../../host/fan-out.js';
import { validateHostId } from '../../names/validate.js';
import { readSshAliases, resolveSshAlias } from '../../ssh/ssh-config.js';
import type { McpContext } from '../context.js';
import { answer, toolOutputShape } from '../tool-result.js';
import { required } from './params.js';

const ACTIONS = ['list', 'add', 'edit', 'remove', 'test_connection', 'discover', 'ports', 'import_ssh', 'cleanup'] as const;

const inputShape = {
  action: z.enum(ACTIONS).describe('what to do'),
  host_id: z.string().max(63).optional().describe('the host, as named in hosts.yml (test_connection, discover: all enabled hosts when absent)'),
  ssh_host: z.string().min(1).max(255).optional().describe('add/edit: address or ~/.ssh/config alias'),
  ssh_user: z.string().min(1).max(64).optional().describe('add/edit: SSH user'),
  ssh_port: z.number().int().min(1).max(65535).optional().describe('add/edit: SSH port (default 22)'),
  ssh_key_path: z.string().min(1).max(4096).optional().describe('add/edit: private key file'),
  description: z.string().max(1000).optional(),
  tags: z.array(z.string().max(64)).max(64).optional(),
  compose_path: z.string().max(4096).optional().describe('add/edit: where stacks live on the host'),
  appdata_path: z.string().max(4096).optional().describe('add/edit: where service data lives on the host'),
  zfs_capable: z.boolean().optional(),
  zfs_dataset: z.string().max(255).optional().describe('add/edit: the dataset behind appdata_path'),
  enabled: z.boolean().optional(),
  port: z.number().int().min(1).max(65535).optional().describe('ports: tell whether this host port is published by a container'),
  cleanup_type: z.enum(CLEANUP_LEVELS).optional().describe('cleanup: check (report only), safe, moderate or aggressive; volumes are never pruned'),
  ssh_config_path: z.string().max(4096).optional().describe('import_ssh: the ssh config file (default ~/.ssh/config)'),
  selected_hosts: z.array(z.string().max(255)).max(256).optional().describe('import_ssh: only these aliases'),
  confirm: z.boolean().optional().describe('must be true for remove and for cleanup other than check'),
};

type Input = z.infer<z.ZodObject<typeof inputShape>>;

export function registerHostsTool(server: McpServer, context: McpContext): void {
  server.registerTool(
    'docker_hosts',
    {
      title: 'Docker hosts',
      description:
        'Manage the Docker hosts in hosts.yml and probe them over SSH. Actions: list; add, edit, remove (remove needs confirm); ' +
        'test_connection (ssh, key and docker answer?); discover (docker, compose flavour, ZFS, rsync, free space; records zfs_capable/zfs_dataset); ' +
        'ports (published ports); import_ssh (hosts from ~/.ssh/config); cleanup (cleanup_type check|safe|moderate|aggressive, needs confirm unless check).',
      inputSchema: inputShape,
      outputSchema: toolOutputShape,
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
    },
    (input) => answer(input.action, input.host_id, () => runHostsAction(context, input)),
  );
}

async function runHostsAction(context: McpContext, input: Input): Promise<unknown> {
  const config = await context.config();
  switch (input.action) {
    case 'list':
      return { config: config.location.path, hosts: config.hosts.map(summarizeHost) };
    case 'add':
      return addHost(config, input);
    case 'edit':
      return editHost(context, config, input);
    case 'remove': {
      const hostId = existingHostId(config, input);
      if (input.confirm !== true) throw new ConfirmationRequiredError(`removing ${hostId} from ${config.location.path} needs confirm: true`);
      removeHost(config.document, hostId);
      await writeConfigFile(config.location.path, config.document);
      await context.ssh.forget(hostId);
      return { removed: hostId, config: config.location.path };
    }
    case 'test_connection':
      return forEachHost(selectHosts(config, input.host_id), (host) => testConnection(context.ssh.get(host)));
    case 'discover':
      return discoverAndRecord(context, config, input.host_id);
    case 'ports':
      return publishedPorts(context, config, input);
    case 'import_ssh':
      return importSshHosts(config, input);
    case 'cleanup': {
      const host = hostNamed(config, input.host_id);
      const level = input.cleanup_type ?? 'check';
      if (level !== 'check' && input.confirm !== true) {
        throw new ConfirmationRequiredError(`cleanup ${level} on ${host.id} deletes Docker objects: repeat with confirm: true (or use cleanup_type check to see what there is)`);
      }
      return cleanupHost(context.attach(host), level);
    }
  }
}

function hostFields(input: Input): HostFieldUpdate {
  return {
    hostname: input.ssh_host,
    user: input.ssh_user,
    port: input.ssh_port,
    identity_file: input.ssh_key_path,
    description: input.description,
    tags: input.tags,
    compose_path: input.compose_path,
    appdata_path: input.appdata_path,
    zfs_capable: input.zfs_capable ?? (input.zfs_dataset ? true : undefined),
    zfs_dataset: input.zfs_dataset,
    enabled: input.enabled,
  };
}

async function addHost(config: LoadedConfig, input: Input) {
  const hostId = validateHostId(required(input.host_id, 'host_id'));
  if (config.document.hasIn(['hosts', hostId])) throw new InvalidInputError('host_id', hostId, `is already in ${config.location.path}; use action edit`);
  required(input.ssh_host, 'ssh_host');
  required(input.ssh_user, 'ssh_user');
  setHostFields(config.document, hostId, hostFields(input));
  await writeConfigFile(config.location.path, config.document);
  return { added: hostId, config: config.location.path };
}

async function editHost(context: McpContext, config: LoadedConfig, input: Input) {
  const hostId = existingHostId(config, input);
  const fields = Object.fromEntries(Object.entries(hostFields(input)).filter(([, value]) => value !== undefined));
  if (Object.keys(fields).length === 0) throw new InvalidInputError('edit', hostId, 'names no field to change');
  setHostFields(config.document, hostId, fields);
  await writeConfigFile(config.location.path, config.document);
  await context.ssh.forget(hostId);
  return { edited: hostId, fields: Object.keys(fields), config: config.location.path };
}

/** Probe the hosts and record in hosts.yml what was found about ZFS. */
async function discoverAndRecord(context: McpContext, config: LoadedConfig, hostId: string | undefined) {
  const rows = await forEachHost(selectHosts(config, hostId), (host) => discoverHost(context.ssh.get(host), host));
  const updated: string[] = [];
  for (const row of rows) {
    if (!row.ok) continue;
    const host = hostNamed(config, row.hostId);
    const zfs = row.value.zfs;
    const capable = zfs.available && zfs.appdataDataset !== null;
    const dataset = capable ? zfs.appdataDataset : (host.zfs_dataset ?? null);
    if (host.zfs_capable !== capable || (host.zfs_dataset ?? null) !== dataset) {
      setHostFields(config.document, host.id, { zfs_capable: capable, ...(dataset ? { zfs_dataset: dataset } : {}) });
      updated.push(host.id);
    }
  }
  if (updated.length > 0) await writeConfigFile(config.location.path, config.document);
  return { hosts: rows, config_updated: updated };
}

async function publishedPorts(context: McpContext, config: LoadedConfig, input: Input) {
  const host = hostNamed(config, input.host_id);
  const containers = await listContainers(context.attach(host), { running: true });
  const published = containers.flatMap((c) =>
    c.ports
      .filter((mapping) => mapping.includes('->'))
      .map((mapping) => ({ container: c.name, stack: c.stack, mapping, host_port: Number(mapping.split('->')[0]?.split(':').at(-1)) })),
  );
  if (input.port === undefined) return { ports: published };
  const users = published.filter((p) => p.host_port === input.port);
  return { port: input.port, published_by_container: users.length > 0, used_by: users };
}

async function importSshHosts(config: LoadedConfig, input: Input) {
  const aliases = await readSshAliases(input.ssh_config_path);
  const wanted = input.selected_hosts ? aliases.filter((alias) => input.selected_hosts?.includes(alias)) : aliases;
  const missing = (input.selected_hosts ?? []).filter((alias) => !aliases.includes(alias));
  if (missing.length > 0) throw new InvalidInputError('selected_hosts', missing.join(', '), `not in the ssh config; it names: ${aliases.join(', ') || '(none)'}`);
  const imported: string[] = [];
  const skipped: { alias: string; reason: string }[] = [];
  for (const alias of wanted) {
    if (config.document.hasIn(['hosts', alias])) {
      skipped.push({ alias, reason: 'already in hosts.yml' });
      continue;
    }
    try {
      validateHostId(alias);
    } catch (error) {
      skipped.push({ alias, reason: (error as Error).message });
      continue;
    }
    const resolved = await resolveSshAlias(alias, input.ssh_config_path);
    setHostFields(config.document, alias, {
      // The alias itself, so ssh keeps applying the user's own settings for it.
      hostname: alias,
      user: resolved.user,
      port: resolved.port,
      ...(resolved.identityFile ? { identity_file: resolved.identityFile } : {}),
      description: `imported from ssh config (${resolved.hostname})`,
    });
    imported.push(alias);
  }
  if (imported.length > 0) await writeConfigFile(config.location.path, config.document);
  return { imported, skipped, config: config.location.path };
}

function selectHosts(config: LoadedConfig, hostId: string | undefined): HostConfig[] {
  return hostId === undefined ? enabledHosts(config) : [findHost(config, hostId)];
}

function hostNamed(config: LoadedConfig, hostId: string | undefined): HostConfig {
  return findHost(config, required(hostId, 'host_id'));
}

/** A host present in the file, enabled or not (edit and remove work on disabled hosts too). */
function existingHostId(config: LoadedConfig, input: Input): string {
  const id = required(input.host_id, 'host_id');
  if (!config.hosts.some((h) => h.id === id)) throw new UnknownHostError(id, config.hosts.map((h) => h.id));
  return id;
}

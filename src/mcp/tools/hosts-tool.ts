/**
 * `docker_hosts`: the hosts of hosts.yml, with the actions and parameters of
 * the Python docker-mcp's tool of the same name.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { summarizeHost } from '../../config/host-summary.js';
import { enabledHosts, findHost, parseConfigText, type LoadedConfig } from '../../config/load.js';
import type { HostConfig } from '../../config/schema.js';
import { ownKnownHostsFile, recordKnownHosts } from '../../config/own-known-hosts.js';
import { removeHost, setHostFields, writeConfigFile, type HostFieldUpdate } from '../../config/write.js';
import { cleanupHost, CLEANUP_LEVELS } from '../../docker/cleanup.js';
import { publishedPorts } from '../../docker/ports.js';
import { InvalidInputError, UnknownHostError } from '../../errors.js';
import { admitHost } from '../../host/admit-host.js';
import { testConnection } from '../../host/connection-test.js';
import { discoverAndRecord } from '../../host/discover-and-record.js';
import { forEachHost } from '../../host/fan-out.js';
import { validateHostId } from '../../names/validate.js';
import { readSshAliases, resolveSshAlias, sshConfigFileForImport } from '../../ssh/ssh-config.js';
import { describeLeftBehind, describeMove } from '../../migration/evacuate-plan.js';
import { planHostEvacuation, runEvacuation } from '../../migration/evacuate.js';
import { confirmer, type Confirm } from '../confirm.js';
import { progressReporter, type ToolExtra } from '../progress.js';
import type { McpContext } from '../context.js';
import { trustByUserOrFingerprint } from '../host-key-trust.js';
import { answer, toolOutputSchema, type ActionResult } from '../tool-result.js';
import type { ToolTable } from '../tool-table.js';
import { eachHostAnswer } from './answers.js';
import { ALL_HOSTS, offeredParameters, absentAs, commaList, offeredActions, optional, optionalText, required } from './params.js';
import { annotationsFor, type ToolVariant } from './variants.js';

const ACTIONS = ['list', 'add', 'edit', 'remove', 'test_connection', 'discover', 'ports', 'import_ssh', 'cleanup', 'evacuate'] as const;
/** discover only reports in read-only mode (it records nothing), and cleanup only checks. */
const READ_ONLY_ACTIONS = ['list', 'test_connection', 'discover', 'ports', 'cleanup'] as const;
/** The parameters the reading actions take: all the reading variant shows. */
const READ_PARAMETERS = ['host_id', 'port', 'cleanup_type'] as const;

const inputShape = {
  // The Python tool lists hosts when no action is given.
  action: absentAs(z.enum(ACTIONS).default('list')).describe('what to do; absent or null: list'),
  host_id: optionalText(z.string().max(63)).describe('the host, as named in hosts.yml (test_connection, discover: all enabled hosts when absent or "all")'),
  ssh_host: optionalText(z.string().max(255)).describe('add/edit: address or ~/.ssh/config alias'),
  ssh_user: optionalText(z.string().max(64)).describe('add/edit: SSH user'),
  ssh_port: optional(z.number().int().min(0).max(65535), [0]).describe('add/edit: SSH port; absent or 0: 22 on add, unchanged on edit'),
  ssh_key_path: optionalText(z.string().max(4096)).describe('add/edit: private key file'),
  description: optionalText(z.string().max(1000)).describe('add/edit: a note on the host, for people'),
  tags: optional(z.array(z.string().max(64)).max(64)).describe('add/edit: labels for the host (a list; replaces the old ones on edit)'),
  compose_path: optionalText(z.string().max(4096)).describe('add/edit: where stacks live on the host'),
  appdata_path: optionalText(z.string().max(4096)).describe('add/edit: where service data lives on the host'),
  zfs_capable: optional(z.boolean()).describe('add/edit: appdata_path is on ZFS (discover finds and records it; true when zfs_dataset is given)'),
  zfs_dataset: optionalText(z.string().max(255)).describe('add/edit: the dataset behind appdata_path'),
  enabled: optional(z.boolean()).describe('add/edit: false keeps the host in hosts.yml but out of every "all hosts" action; absent: true on add, unchanged on edit'),
  port: optional(z.number().int().min(0).max(65535), [0]).describe('ports: tell whether this host port is published by a container; absent or 0: list them all'),
  cleanup_type: absentAs(z.enum(CLEANUP_LEVELS).default('check')).describe('cleanup: check (report only), safe, moderate or aggressive; volumes are never pruned'),
  ssh_config_path: optionalText(z.string().max(4096)).describe("import_ssh: only ~/.ssh/config is read over MCP; kept for the Python tool's callers"),
  selected_hosts: commaList(255, 256).describe('import_ssh: only these aliases: a list, or one comma-separated string of aliases and 1-based positions; "all" for every one'),
  trust_host_key_fingerprint: optionalText(z.string().max(100)).describe(
    "add, when the new host's key is in no known_hosts file and the client cannot ask its user: the SHA256 fingerprint (as the refused add showed it) that a person checked against the host's own; only a key the host presents with exactly this fingerprint is trusted. A client that can ask is always asked",
  ),
  dry_run: z.boolean().default(false).describe('evacuate: only the plan (where each stack would go, and why the others fit nowhere); changes nothing'),
  target_host_ids: commaList(63, 64).describe('evacuate: the hosts the stacks may go to (default: every other enabled host)'),
  confirm: optional(z.boolean()).describe(
    'true confirms edit, add with ssh_key_path, remove, cleanup other than check and evacuate (unless dry_run), only when the client cannot ask its user (elicitation); a client that can is always asked',
  ),
};

type Input = z.output<z.ZodObject<typeof inputShape>>;

const hostErrors = z.array(z.looseObject({ host_id: z.string(), kind: z.string(), error: z.string() }));
const outputSchema = toolOutputSchema({
  hosts: z.array(z.looseObject({ host_id: z.string() })).optional().describe('list: the hosts of hosts.yml; test_connection, discover: what each host answered'),
  count: z.number().optional().describe('list: how many hosts'),
  host_errors: hostErrors.optional().describe('test_connection, discover: hosts that could not be probed, and why'),
  config: z.string().optional().describe('the hosts.yml read or written'),
  port_mappings: z.array(z.looseObject({ host_port: z.number(), container: z.string() })).optional().describe('ports: the host ports published by containers'),
  added: z.string().optional().describe('add: the host added (only once it connected)'),
  known_hosts_file: z.string().optional().describe("add: the tool's own known_hosts file, where the new host's key was recorded once vouched for"),
  trusted_host_keys: z.array(z.looseObject({ type: z.string(), fingerprint: z.string() })).optional().describe('add: the host keys recorded there'),
  missing: z.enum(['connection', 'login', 'matching_host_key', 'trusted_host_key']).optional().describe('a failed add: what the host lacks (nothing was written)'),
  host_keys: z.array(z.looseObject({ type: z.string(), fingerprint: z.string() })).optional().describe('a failed add whose host key nobody vouched for: the keys the host presents'),
  commands: z.array(z.string()).optional().describe('a failed add whose host key nobody vouched for: what a person can run to check the key and add the host'),
  edited: z.string().optional().describe('edit: the host edited'),
  removed: z.string().optional().describe('remove: the host removed'),
  imported: z.array(z.string()).optional().describe('import_ssh: the aliases added'),
  evacuation: z
    .looseObject({ host: z.string(), moves: z.array(z.looseObject({ stack: z.string(), to: z.string() })).optional(), left_behind: z.array(z.looseObject({ stack: z.string() })).optional() })
    .optional()
    .describe('evacuate: the plan (moves, left_behind with each candidate\'s reason, skipped), and unless dry_run what moved, what failed, and whether the host is empty (complete)'),
});

export function registerHostsTool(tools: ToolTable, server: McpServer, context: McpContext, variant: ToolVariant): void {
  const { readOnly } = variant;
  tools.add({
      name: variant.name,
      title: 'Docker hosts',
      description: readOnly
        ? 'The Docker hosts in hosts.yml (reading only: changes nothing). Actions: list; test_connection (ssh, key and docker answer?); discover (docker, compose flavour, ZFS, rsync, free space; reported, not recorded); ports (published ports); cleanup with cleanup_type check (what could be removed).'
        : 'Manage the Docker hosts in hosts.yml and probe them over SSH. Actions: list; add (only a host that connects; a host key no known_hosts file holds is shown to the user to trust, or without a way to ask needs trust_host_key_fingerprint; then discovers the host; confirmed when it names ssh_key_path), edit (confirmed, showing old and new values), remove (confirmed); ' +
          'test_connection (ssh, key and docker answer?); discover (docker, compose flavour, ZFS, rsync, free space; records zfs_capable/zfs_dataset); ' +
          'ports (published ports); import_ssh (hosts from ~/.ssh/config, then discovers them); cleanup (cleanup_type check|safe|moderate|aggressive, confirmed unless check); ' +
          'evacuate (host_id: move every stack running there to its standby, or to the host among target_host_ids or the others whose free space, ZFS, images and ports take it; stacks that fit nowhere are named with why before anything moves; dry_run plans only; confirmed).',
      inputShape: {
        ...offeredParameters(inputShape, READ_PARAMETERS, readOnly),
        action: absentAs(z.enum(offeredActions(ACTIONS, READ_ONLY_ACTIONS, readOnly)).default('list')).describe('what to do; absent or null: list'),
        ...(readOnly ? { cleanup_type: absentAs(z.enum(['check']).default('check')).describe('cleanup: check, report only (reading only: changes nothing)') } : {}),
      },
      outputSchema,
      annotations: annotationsFor(readOnly),
      // The reading variant's input has only its parameters; the others are absent, as when not sent.
      run: (parsed, extra) => {
        const input = parsed as Input;
        return answer(input.action, input.host_id, () => runHostsAction(context, input, extra, confirmer(server.server, extra), readOnly));
      },
  });
}

async function runHostsAction(context: McpContext, input: Input, extra: ToolExtra, confirm: Confirm, readOnly: boolean): Promise<ActionResult> {
  const config = await context.config();
  switch (input.action) {
    case 'list':
      return {
        config: config.location.path,
        config_exists: config.location.exists,
        hosts: config.hosts.map((host) => {
          const { id, ...rest } = summarizeHost(host);
          return { host_id: id, ...rest };
        }),
        count: config.hosts.length,
      };
    case 'add':
      return addHost(context, config, input, confirm);
    case 'edit':
      return editHost(context, config, input, confirm);
    case 'remove': {
      const hostId = existingHostId(config, input);
      await confirm(input.confirm, { effect: `removing ${hostId} from ${config.location.path}` });
      removeHost(config.document, hostId);
      await writeConfigFile(config.location.path, config.document);
      await context.ssh.forget(hostId);
      context.hostsChanged();
      return { removed: hostId, config: config.location.path };
    }
    case 'test_connection':
      return eachHostAnswer(await forEachHost(selectHosts(config, input.host_id), (host) => testConnection(context.ssh.get(host))));
    case 'discover': {
      const { hosts, config_updated } = await discoverAndRecord(context.ssh, config, selectHosts(config, input.host_id), { record: !readOnly });
      return { ...eachHostAnswer(hosts), config_updated };
    }
    case 'ports':
      return portsOf(context, config, input);
    case 'import_ssh':
      return importSshHosts(context, config, input);
    case 'evacuate':
      return evacuate(context, config, input, extra, confirm);
    case 'cleanup': {
      const host = hostNamed(config, input.host_id, input.action);
      const level = input.cleanup_type ?? 'check';
      if (level !== 'check') {
        await confirm(input.confirm, { effect: `cleanup ${level} on ${host.id} deletes Docker objects`, retry: 'repeat with confirm: true (or use cleanup_type check to see what there is)' });
      }
      return { ...(await cleanupHost(context.attach(host), level)) };
    }
  }
}

/** Plan the evacuation; unless a dry run, ask, then move what fits. Stacks left behind are in the answer with why (`complete: false`), not an error: the others moved. */
async function evacuate(context: McpContext, config: LoadedConfig, input: Input, extra: ToolExtra, confirm: Confirm): Promise<ActionResult> {
  const hostOf = (id: string) => context.dockerHost(id);
  const request = { host: required(input.host_id, 'host_id', 'evacuate'), ...(input.target_host_ids ? { to: input.target_host_ids } : {}) };
  const plan = await planHostEvacuation(config, hostOf, request);
  if (input.dry_run || plan.moves.length === 0) return { evacuation: { ...plan, dry_run: input.dry_run } };
  await confirm(input.confirm, {
    effect: `evacuate moves ${plan.moves.length} stack${plan.moves.length === 1 ? '' : 's'} off ${plan.host}: each is stopped there and started on its new host`,
    details: [...plan.moves.map(describeMove), ...plan.leftBehind.map((l) => `stays (fits nowhere): ${describeLeftBehind(l)}`)],
    retry: 'repeat with confirm: true (or dry_run: true to see the plan)',
  });
  const progress = progressReporter(extra);
  const report = await runEvacuation(config, hostOf, plan, request, { onProgress: progress.listener, ...(extra.signal ? { signal: extra.signal } : {}) });
  return { evacuation: { ...report.plan, moved: report.moved, failed: report.failed, complete: report.complete } };
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

async function addHost(context: McpContext, config: LoadedConfig, input: Input, confirm: Confirm) {
  const hostId = validateHostId(required(input.host_id, 'host_id', input.action));
  if (hostId === ALL_HOSTS) throw new InvalidInputError('host_id', hostId, 'is reserved: host_id "all" means every host');
  if (config.document.hasIn(['hosts', hostId])) throw new InvalidInputError('host_id', hostId, `is already in ${config.location.path}; use action edit`);
  const address = `${required(input.ssh_user, 'ssh_user', input.action)}@${required(input.ssh_host, 'ssh_host', input.action)}`;
  setHostFields(config.document, hostId, hostFields(input));
  const host = refuseUnreadable(config).hosts.find((candidate) => candidate.id === hostId) as HostConfig;
  // Any file the controller can read can be offered to a host as a key: the user chooses which.
  if (input.ssh_key_path !== undefined) {
    await confirm(input.confirm, { effect: `adding ${hostId} to ${config.location.path} lets this controller log in to ${address} with the private key ${input.ssh_key_path}` });
  }
  // A host that does not connect is not added: it would answer every later call with the same failure.
  const knownHostsFile = ownKnownHostsFile(config.location.path);
  const admission = await admitHost(host, trustByUserOrFingerprint(confirm, hostId, input.trust_host_key_fingerprint, { host, knownHostsFile, configFile: config.location.path }));
  const undo = admission.knownHostsLines.length > 0 ? await recordKnownHosts(knownHostsFile, admission.knownHostsLines) : undefined;
  if (undo) setHostFields(config.document, hostId, { known_hosts_file: knownHostsFile });
  try {
    await writeConfigFile(config.location.path, config.document);
  } catch (error) {
    await undo?.();
    throw error;
  }
  context.hostsChanged();
  const trusted = undo ? { known_hosts_file: knownHostsFile, trusted_host_keys: admission.trusted.map(({ type, fingerprint }) => ({ type, fingerprint })) } : {};
  return { added: hostId, config: config.location.path, ...trusted, ...(await discoverAdded(context, [hostId])) };
}

/** As the Python tool does after add and import_ssh: probe the new hosts and record what ZFS they have. */
async function discoverAdded(context: McpContext, hostIds: readonly string[]) {
  const config = await context.config();
  const hosts = config.hosts.filter((host) => hostIds.includes(host.id) && host.enabled);
  const { hosts: rows, config_updated } = await discoverAndRecord(context.ssh, config, hosts, { record: true });
  return { discovery: { ...eachHostAnswer(rows), config_updated } };
}

async function editHost(context: McpContext, config: LoadedConfig, input: Input, confirm: Confirm) {
  const hostId = existingHostId(config, input);
  const fields = Object.fromEntries(Object.entries(hostFields(input)).filter(([, value]) => value !== undefined));
  if (Object.keys(fields).length === 0) throw new InvalidInputError('edit', hostId, 'names no field to change');
  const before = config.hosts.find((h) => h.id === hostId) as HostConfig;
  const changes = Object.entries(fields).map(([field, value]) => `${field}: ${shown(before[field as keyof HostConfig])} → ${shown(value)}`);
  // Set first, so a value hosts.yml cannot hold is refused before the user is asked.
  setHostFields(config.document, hostId, fields);
  refuseUnreadable(config);
  await confirm(input.confirm, { effect: `editing ${hostId} in ${config.location.path}`, details: changes });
  await writeConfigFile(config.location.path, config.document);
  await context.ssh.forget(hostId);
  return { edited: hostId, fields: Object.keys(fields), config: config.location.path };
}

/** A document hosts.yml could not hold is refused now, with the field, rather than after the user said yes. */
function refuseUnreadable(config: LoadedConfig): ReturnType<typeof parseConfigText> {
  return parseConfigText(config.document.toString(), config.location.path);
}

/** A field's value as the user reads it in hosts.yml. */
function shown(value: unknown): string {
  if (value === undefined || value === null) return '(none)';
  return JSON.stringify(value);
}

async function portsOf(context: McpContext, config: LoadedConfig, input: Input) {
  const published = await publishedPorts(context.attach(hostNamed(config, input.host_id, input.action)));
  if (input.port === undefined) return { port_mappings: published };
  const users = published.filter((p) => p.host_port === input.port);
  return { port: input.port, published_by_container: users.length > 0, used_by: users };
}

async function importSshHosts(context: McpContext, config: LoadedConfig, input: Input) {
  // ssh -G is given this very file (-F): ssh's own idea of ~ is the passwd entry, not $HOME.
  const sshConfig = sshConfigFileForImport(input.ssh_config_path, { caller: 'mcp', hostsFile: config.location.path });
  const aliases = await readSshAliases(sshConfig);
  const wanted = selectedAliases(aliases, input.selected_hosts);
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
    const resolved = await resolveSshAlias(alias, sshConfig);
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
  if (imported.length === 0) return { imported, skipped, config: config.location.path };
  await writeConfigFile(config.location.path, config.document);
  context.hostsChanged();
  return { imported, skipped, config: config.location.path, ...(await discoverAdded(context, imported)) };
}

/** The Python tool's selection: every alias, "all", or names and 1-based positions in the ssh config's order. */
function selectedAliases(aliases: readonly string[], selected: readonly string[] | undefined): string[] {
  if (selected === undefined || (selected.length === 1 && selected[0]?.toLowerCase() === ALL_HOSTS)) return [...aliases];
  const byPosition = (item: string) => (/^\d+$/.test(item) ? aliases[Number(item) - 1] : undefined);
  const missing = selected.filter((item) => !aliases.includes(item) && byPosition(item) === undefined);
  if (missing.length > 0) throw new InvalidInputError('selected_hosts', missing.join(', '), `not in the ssh config (names or 1-based positions); it names: ${aliases.join(', ') || '(none)'}`);
  return [...new Set(selected.map((item) => (aliases.includes(item) ? item : (byPosition(item) as string))))];
}

function selectHosts(config: LoadedConfig, hostId: string | undefined): HostConfig[] {
  return hostId === undefined || hostId === ALL_HOSTS ? enabledHosts(config) : [findHost(config, hostId)];
}

function hostNamed(config: LoadedConfig, hostId: string | undefined, action: string): HostConfig {
  return findHost(config, required(hostId, 'host_id', action));
}

/** A host present in the file, enabled or not (edit and remove work on disabled hosts too). */
function existingHostId(config: LoadedConfig, input: Input): string {
  const id = required(input.host_id, 'host_id', input.action);
  if (!config.hosts.some((h) => h.id === id)) throw new UnknownHostError(id, config.hosts.map((h) => h.id));
  return id;
}

/**
 * The MCP server driven by the SDK's own Client, as an assistant would:
 * over stdio (the built binary, spawned) and over Streamable HTTP, against
 * the real testbed.
 */
import { execa, type ResultPromise } from 'execa';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { listContainers } from '../../src/docker/containers.js';
import { readAudit } from '../../src/mcp/audit.js';
import { listMigrations } from '../../src/migration/journal.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { authStackFile, cleanUpPrefix, type TestbedId } from './stack-fixture.js';
import { startStrangerSshd, type StrangerSshd } from './stranger-sshd.js';
import { TESTBED_HOST_IDS, testbedHost } from './testbed.js';

const builtBin = fileURLToPath(new URL('../../dist/src/cli/bin.js', import.meta.url));
// Runs beside other work on the same testbed can give their stacks a prefix of their own.
const prefix = process.env.DOCKER_MCP_TEST_PREFIX ?? `mcp${process.pid}`;
// DOCKER_MCP_TEST_WITHOUT_GUESTS=1: leave the QEMU guests alone (another run is using them); the container hosts only.
const withoutGuests = process.env.DOCKER_MCP_TEST_WITHOUT_GUESTS === '1';
const HOST_IDS = withoutGuests ? TESTBED_HOST_IDS.filter((id) => id !== 'delta' && id !== 'epsilon') : [...TESTBED_HOST_IDS];
const hosts = {} as Record<TestbedId, DockerHost>;
let workDir: string;
let configFile: string;
/** The state directory of the HTTP servers (the stdio server's is workDir): each has its audit trail. */
let httpState: string;
let stdioClient: Client;
/** Secrets sent in calls' environment and compose_content: the audit trail must hold none of them. */
const CANARIES = { environment: `canary-env-${process.pid}-c41d`, compose: `canary-compose-${process.pid}-7a0e` };

/** Every answer: the action's own keys at the top, beside success, action and host_id. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Envelope = { success: boolean; action: string; host_id?: string } & Record<string, any>;

function structured(result: CallToolResult): Envelope {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  // The text a model reads is the same answer, as compact JSON.
  expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual(result.structuredContent);
  return result.structuredContent as Envelope;
}

/** A failure: isError, its text "kind: message", and the same for programs in structuredContent. */
function errorText(result: CallToolResult): string {
  expect(result.isError).toBe(true);
  const text = (result.content[0] as { text: string }).text;
  const failure = result.structuredContent as { success: boolean; kind: string; error: string };
  expect(failure.success).toBe(false);
  expect(`${failure.kind}: ${failure.error}`).toBe(text);
  return text;
}

const initializeRequest = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'probe', version: '1' } } };

/** Tool calls made, per client: the audit trail must hold a record of each. */
const toolCalls = new Map<Client, number>();

function counted(client: Client): Client {
  toolCalls.set(client, (toolCalls.get(client) ?? 0) + 1);
  return client;
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const call = (client: Client, name: string, args: Record<string, unknown>) => counted(client).callTool({ name, arguments: args }) as Promise<CallToolResult>;

beforeAll(async () => {
  if (!existsSync(builtBin)) throw new Error(`${builtBin} is missing: run "npm run build" first (npm test does)`);
  workDir = await mkdtemp(path.join(os.tmpdir(), 'docker-mcp-mcp-test-'));
  configFile = path.join(workDir, 'hosts.yml');
  httpState = path.join(workDir, 'http-state');
  // The testbed's hosts plus what a user's file may hold besides hosts: both must survive edits.
  const testbed = await readFile(testbedHostsFile(), 'utf8');
  const document = parseDocument(testbed);
  if (withoutGuests) for (const guest of ['delta', 'epsilon']) document.deleteIn(['hosts', guest]);
  const hostsText = document.toString();
  await writeFile(configFile, `# my fleet, hand-written\n${hostsText}\ntransfer:\n  bandwidth_limit: 100M  # kept\nserver:\n  port: 8000\n`);
  for (const id of ['alpha', 'beta', 'gamma'] as const) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
});

afterAll(async () => {
  for (const id of ['alpha', 'beta'] as const) await cleanUpPrefix(hosts[id], id, prefix);
  for (const host of Object.values(hosts)) await host.transport.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('MCP server over stdio (the built binary)', () => {
  let client: Client;
  const stack = `${prefix}-auth`;
  const composeFile = `${authStackFile(stack, 'alpha')}# ${CANARIES.compose}\n`;

  beforeAll(async () => {
    client = new Client({ name: 'docker-mcp-test', version: '1.0.0' });
    await client.connect(
      new StdioClientTransport({ command: process.execPath, args: [builtBin, 'serve'], env: { PATH: process.env.PATH ?? '', HOME: workDir, DOCKER_MCP_CONFIG: configFile, DOCKER_MCP_STATE_DIR: workDir }, stderr: 'pipe' }),
    );
    stdioClient = client;
  });

  afterAll(async () => {
    await client.close();
  });

  it('lists the three tools of the Python docker-mcp and docker_standby, and beside each a reading one that is not flagged destructive', async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([
      'docker_compose', 'docker_compose_read', 'docker_container', 'docker_container_read', 'docker_hosts', 'docker_hosts_read', 'docker_standby', 'docker_standby_read',
    ]);
    for (const tool of tools) {
      expect(tool.annotations, tool.name).toEqual(
        tool.name.endsWith('_read')
          ? { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true }
          : { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
      );
    }
    const hostsSchema = tools.find((t) => t.name === 'docker_hosts')!.inputSchema;
    expect(hostsSchema.required ?? []).not.toContain('action');
    expect((hostsSchema.properties as Record<string, { default?: unknown; minimum?: number }>).action?.default).toBe('list');
    expect((hostsSchema.properties as Record<string, { default?: unknown; minimum?: number }>).port?.minimum).toBe(0);
    expect(Object.keys(tools.find((t) => t.name === 'docker_hosts_read')!.inputSchema.properties as object).sort()).toEqual(['action', 'cleanup_type', 'host_id', 'port']);
    expect(structured(await call(client, 'docker_hosts_read', { action: 'list' })).hosts).toHaveLength(HOST_IDS.length);
    expect(errorText(await call(client, 'docker_compose_read', { action: 'down', host_id: 'alpha', stack_name: 'x' }))).toMatch(/^bad-input: input validation error for docker_compose_read: invalid action "down"/);
    const compose = tools.find((t) => t.name === 'docker_compose')!;
    const properties = compose.inputSchema.properties as Record<string, { enum?: string[] }>;
    expect(properties.action?.enum).toEqual(['list', 'view', 'deploy', 'up', 'down', 'restart', 'build', 'pull', 'ps', 'discover', 'logs', 'migrate']);
    for (const parameter of ['host_id', 'stack_name', 'compose_content', 'environment', 'pull_images', 'recreate', 'lines', 'dry_run', 'target_host_id', 'remove_source', 'skip_stop_source', 'start_target', 'cold', 'resume']) {
      expect(properties, parameter).toHaveProperty(parameter);
    }
    for (const tool of tools) {
      expect(tool.outputSchema?.properties).toHaveProperty('success');
      expect(tool.outputSchema?.properties).toHaveProperty('error');
      for (const [name, parameter] of Object.entries(tool.inputSchema.properties as Record<string, { description?: string }>)) expect(parameter.description, `${tool.name}.${name}`).toBeTruthy();
    }
  });

  it('docker_standby declares, lists, reports and forgets a standby in standby.yml beside hosts.yml; the reading one only lists and reports', async () => {
    const added = structured(await call(client, 'docker_standby', { action: 'add', host_id: 'alpha', stack_name: 'mcp-standby-x', standby_host_id: 'beta', every: '1h', keep: 2, check: false }));
    expect(added).toMatchObject({ success: true, declared: { host: 'alpha', stack: 'mcp-standby-x', to: 'beta', every: '1h', keep: 2 }, file: path.join(workDir, 'standby.yml') });
    expect(added.replaced ?? null).toBeNull();
    expect(structured(await call(client, 'docker_standby_read', { action: 'list' })).standbys).toEqual([expect.objectContaining({ host: 'alpha', stack: 'mcp-standby-x', to: 'beta' })]);
    const status = structured(await call(client, 'docker_standby_read', { action: 'status' }));
    expect(status.statuses).toEqual([expect.objectContaining({ host: 'alpha', stack: 'mcp-standby-x', state: 'never' })]);
    expect(status.check).toEqual({ exit_code: 2, line: "STANDBY CRITICAL - alpha/mcp-standby-x never | 'alpha/mcp-standby-x_lag'=U" });
    expect(errorText(await call(client, 'docker_standby_read', { action: 'sync' }))).toMatch(/^bad-input: input validation error for docker_standby_read: invalid action "sync"/);
    expect(errorText(await call(client, 'docker_standby', { action: 'add', host_id: 'alpha', stack_name: 'mcp-standby-x' }))).toMatch(/standby_host_id.*is required for action add/);
    // beta keeps the copy: listed as one, never started there.
    const onBeta = structured(await call(client, 'docker_compose', { action: 'list', host_id: 'beta' }));
    expect(onBeta.standby_copies).toEqual([{ host_id: 'beta', stack_name: 'mcp-standby-x', standby_of: 'alpha/mcp-standby-x' }]);
    expect((onBeta.stacks as { name: string }[]).map((s) => s.name)).not.toContain('mcp-standby-x');
    for (const action of ['up', 'restart']) {
      expect(errorText(await call(client, 'docker_compose', { action, host_id: 'beta', stack_name: 'mcp-standby-x' }))).toMatch(/^bad-input: refused to (up|restart) mcp-standby-x on beta: beta keeps the standby copy of alpha\/mcp-standby-x/);
    }
    // A failover is confirmed first, then refused while alpha answers: nothing changes.
    expect(errorText(await call(client, 'docker_standby', { action: 'failover', stack_name: 'mcp-standby-x' }))).toMatch(/confirm: true/);
    expect(errorText(await call(client, 'docker_standby', { action: 'failover', stack_name: 'mcp-standby-x', confirm: true }))).toMatch(/alpha answers .*docker-mcp migrate alpha beta mcp-standby-x/);
    expect(errorText(await call(client, 'docker_standby_read', { action: 'failover', stack_name: 'mcp-standby-x' }))).toMatch(/invalid action "failover"/);
    expect(errorText(await call(client, 'docker_standby', { action: 'failback', stack_name: 'mcp-standby-x' }))).toMatch(/confirm: true/);
    expect(errorText(await call(client, 'docker_standby', { action: 'failback', stack_name: 'mcp-standby-x', confirm: true }))).toMatch(/was not failed over .*nothing to fail back/);
    expect(structured(await call(client, 'docker_standby', { action: 'remove', host_id: 'alpha', stack_name: 'mcp-standby-x' }))).toMatchObject({ removed: { stack: 'mcp-standby-x' } });
    expect(structured(await call(client, 'docker_standby_read', { action: 'list' })).standbys).toEqual([]);
  });

  it('docker_hosts list and discover: ZFS on alpha, beta and the guests, none on gamma', async () => {
    const list = structured(await call(client, 'docker_hosts', { action: 'list' }));
    expect(list.hosts.map((h: { host_id: string }) => h.host_id)).toEqual(HOST_IDS);
    expect(list.count).toBe(HOST_IDS.length);

    const discover = structured(await call(client, 'docker_hosts', { action: 'discover' }));
    const rows = discover.hosts as { host_id: string; zfs: { available: boolean; appdata_dataset: string | null } }[];
    expect(discover.host_errors).toEqual([]);
    expect(rows.map((r) => [r.host_id, r.zfs.available, r.zfs.appdata_dataset ?? null])).toEqual(
      [
        ['alpha', true, 'alpha/appdata'],
        ['beta', true, 'beta/appdata'],
        ['gamma', false, null],
        ['delta', true, 'tank/appdata'],
        ['epsilon', true, 'tank/appdata'],
      ].filter(([id]) => HOST_IDS.includes(id as (typeof HOST_IDS)[number])),
    );
  });

  it('docker_compose deploys a stack (validated first), lists it and shows its file as stored', async () => {
    const deployed = structured(await call(client, 'docker_compose', { action: 'deploy', host_id: 'alpha', stack_name: stack, compose_content: composeFile, environment: { TZ: 'UTC', API_TOKEN: CANARIES.environment } }));
    expect(deployed).toMatchObject({ stack_name: stack, created: true, compose_file: `/srv/alpha/compose/${stack}/docker-compose.yml` });
    expect((await hosts.alpha.transport.exec(command(['cat', `/srv/alpha/compose/${stack}/.env`]))).stdout).toBe(`TZ='UTC'\nAPI_TOKEN='${CANARIES.environment}'\n`);

    const listed = structured(await call(client, 'docker_compose', { action: 'list', host_id: 'alpha' }));
    expect((listed.stacks as { name: string; running: number }[]).find((s) => s.name === stack)).toMatchObject({ running: 3 });

    const viewed = structured(await call(client, 'docker_compose', { action: 'view', host_id: 'alpha', stack_name: stack }));
    expect(viewed.content).toBe(composeFile);
  });

  it('docker_container lists the containers of every host at once, with paging', async () => {
    const listed = structured(await call(client, 'docker_container', { action: 'list', limit: 2 }));
    expect(listed.containers).toHaveLength(2);
    expect(listed.pagination).toMatchObject({ limit: 2, offset: 0, returned: 2, has_next: true, has_prev: false });
    expect(listed.pagination.total).toBeGreaterThanOrEqual(3);
    expect(listed.host_errors).toEqual([]);
    const ours = structured(await call(client, 'docker_container', { action: 'list', host_id: 'alpha', limit: 1000 }));
    expect((ours.containers as { stack: string | null }[]).filter((c) => c.stack === stack)).toHaveLength(3);
  });

  it('drives the stack and its containers: ps, logs, restart, container info, stop, start, logs; ports and cleanup check', async () => {
    const ps = structured(await call(client, 'docker_compose', { action: 'ps', host_id: 'alpha', stack_name: stack }));
    const containers = ps.containers as { name: string; service: string; state: string }[];
    expect(containers.map((c) => c.service).sort()).toEqual(['authelia', 'authelia-mariadb', 'authelia-redis']);
    structured(await call(client, 'docker_compose', { action: 'restart', host_id: 'alpha', stack_name: stack }));
    const logs = structured(await call(client, 'docker_compose', { action: 'logs', host_id: 'alpha', stack_name: stack, lines: 5 }));
    expect(logs.stack_name).toBe(stack);
    expect(Array.isArray(logs.logs)).toBe(true);

    const redis = containers.find((c) => c.service === 'authelia-redis')!.name;
    const info = structured(await call(client, 'docker_container', { action: 'info', host_id: 'alpha', container_id: redis }));
    expect(info).toMatchObject({ container_id: redis, name: redis, state: 'running', stack, service: 'authelia-redis' });
    expect(structured(await call(client, 'docker_container', { action: 'stop', host_id: 'alpha', container_id: redis, timeout: 1 })).state).toBe('exited');
    expect(structured(await call(client, 'docker_container', { action: 'start', host_id: 'alpha', container_id: redis })).state).toBe('running');
    await hosts.alpha.transport.exec(command(['docker', 'exec', redis, 'sh', '-c', 'echo hello-from-redis > /proc/1/fd/1']));
    const containerLogs = structured(await call(client, 'docker_container', { action: 'logs', host_id: 'alpha', container_id: redis, lines: 10 }));
    expect(containerLogs.logs).toContain('hello-from-redis');

    const ports = structured(await call(client, 'docker_hosts', { action: 'ports', host_id: 'alpha', port: 8080 }));
    expect(ports).toMatchObject({ port: 8080, published_by_container: false, used_by: [] });
    const check = structured(await call(client, 'docker_hosts', { action: 'cleanup', host_id: 'alpha', cleanup_type: 'check' }));
    expect((check.usage_before as { type: string }[]).map((u) => u.type)).toContain('Images');
    expect(errorText(await call(client, 'docker_hosts', { action: 'cleanup', host_id: 'alpha', cleanup_type: 'aggressive' }))).toMatch(/confirm: true/);
    const tested = structured(await call(client, 'docker_hosts', { action: 'test_connection', host_id: 'gamma' }));
    expect(tested).toMatchObject({ hosts: [{ host_id: 'gamma', ssh: { ok: true }, docker: { ok: true } }], host_errors: [] });
  });

  it('refuses destructive actions without confirm, and a hostile stack_name before anything runs on a host', async () => {
    expect(errorText(await call(client, 'docker_compose', { action: 'down', host_id: 'alpha', stack_name: stack }))).toMatch(/confirm: true/);
    expect(errorText(await call(client, 'docker_compose', { action: 'migrate', host_id: 'alpha', target_host_id: 'beta', stack_name: stack }))).toMatch(/dry_run.*confirm: true/);

    const canary = path.join(workDir, 'canary');
    for (const hostile of [`x; touch ${canary}`, `$(touch ${canary})`, `a\`touch ${canary}\``, '../../etc', 'A'.repeat(64)]) {
      const text = errorText(await call(client, 'docker_compose', { action: 'deploy', host_id: 'alpha', stack_name: hostile, compose_content: 'services: {}\n' }));
      expect(text).toMatch(/stack_name/);
    }
    expect(existsSync(canary)).toBe(false);
    const folders = (await hosts.alpha.transport.exec(command(['ls', '/srv/alpha/compose']))).stdout.split('\n');
    expect(folders.filter((f) => f.includes('touch') || f.includes('etc'))).toEqual([]);
    expect(structured(await call(client, 'docker_hosts', { action: 'list' })).success).toBe(true);
  });

  it('migrate dry_run returns the plan and changes nothing', async () => {
    const before = await listContainers(hosts.beta);
    const planned = structured(await call(client, 'docker_compose', { action: 'migrate', host_id: 'alpha', target_host_id: 'beta', stack_name: stack, dry_run: true }));
    const plan = planned as unknown as { data_paths: { source_path: string; target_path: string; method: string }[]; steps: unknown[] };
    expect(plan.data_paths.map((d) => [d.target_path, d.method])).toEqual([
      [`/srv/beta/appdata/${stack}-authelia`, 'zfs'],
      [`/srv/beta/appdata/${stack}-authelia-mariadb`, 'zfs'],
      [`/srv/beta/appdata/${stack}-authelia-redis`, 'zfs'],
    ]);
    expect(plan.steps.length).toBeGreaterThan(3);
    expect(await listContainers(hosts.beta)).toEqual(before);
    expect((await hosts.beta.transport.exec(command(['test', '-e', `/srv/beta/compose/${stack}`]), { okExitCodes: [0, 1] })).exitCode).toBe(1);
  });

  it('migrates the stack to beta with its data, sending progress notifications', async () => {
    const progress: { progress: number; message?: string }[] = [];
    const result = (await counted(client).callTool(
      { name: 'docker_compose', arguments: { action: 'migrate', host_id: 'alpha', target_host_id: 'beta', stack_name: stack, confirm: true } },
      undefined,
      { onprogress: (p) => progress.push(p), timeout: 300_000, resetTimeoutOnProgress: true },
    )) as CallToolResult;
    const report = structured(result) as unknown as { stack_name: string; target: string; downtime_seconds: number; verified: unknown[] };
    expect(report.stack_name).toBe(stack);
    expect(report.target).toBe('beta');
    expect(typeof report.downtime_seconds).toBe('number');
    expect(report.verified).toHaveLength(3);

    const messages = progress.map((p) => p.message ?? '');
    for (const phase of ['preflight', 'seed', 'stop', 'final-sync', 'verify', 'start']) expect(messages.some((m) => m.startsWith(`${phase}:`)), phase).toBe(true);
    expect(progress.map((p) => p.progress)).toEqual([...progress.map((p) => p.progress)].sort((a, b) => a - b));

    expect((await listContainers(hosts.beta)).filter((c) => c.stack === stack).map((c) => c.state)).toEqual(['running', 'running', 'running']);
    expect((await listContainers(hosts.alpha)).filter((c) => c.stack === stack)).toEqual([]);
  });

  it('a cancelled migrate stops at the next phase and rolls back: the stack runs on its source again', async () => {
    const controller = new AbortController();
    const call = counted(client).callTool(
      { name: 'docker_compose', arguments: { action: 'migrate', host_id: 'beta', target_host_id: 'alpha', stack_name: stack, confirm: true } },
      undefined,
      { signal: controller.signal, timeout: 300_000, onprogress: (p) => (p.message?.startsWith('stop:') ? controller.abort('the user changed their mind') : undefined) },
    );
    await expect(call).rejects.toThrow(/changed their mind|abort/i);
    const deadline = Date.now() + 120_000;
    let entry: { status: string; detail: string | null } | undefined;
    while (Date.now() < deadline) {
      entry = (await listMigrations(path.join(workDir, 'migrations'))).filter((e) => e.stack === stack).at(-1);
      if (entry?.status !== 'running') break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(entry).toMatchObject({ status: 'failed', detail: expect.stringMatching(/cancelled before its final-sync phase.*started again on beta/s) });
    expect((await listContainers(hosts.beta)).filter((c) => c.stack === stack).map((c) => c.state)).toEqual(['running', 'running', 'running']);
    expect((await listContainers(hosts.alpha)).filter((c) => c.stack === stack)).toEqual([]);
  });

  it('migrate resume goes through to the journal: a finished migration is not resumed', async () => {
    const finished = (await listMigrations(path.join(workDir, 'migrations'))).find((e) => e.stack === stack && e.status === 'succeeded')!;
    expect(errorText(await call(client, 'docker_compose', { action: 'migrate', resume: finished.id }))).toMatch(/confirm: true/);
    expect(errorText(await call(client, 'docker_compose', { action: 'migrate', resume: finished.id, confirm: true }))).toMatch(new RegExp(`${finished.id}.*(finished|succeeded)`));
  });

  it('reads the host resources', async () => {
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(expect.arrayContaining(['stacks://alpha', 'containers://beta', 'docker://gamma/info']));
    const stacks = await client.readResource({ uri: 'stacks://beta' });
    expect(JSON.parse((stacks.contents[0] as { text: string }).text).map((s: { name: string }) => s.name)).toContain(stack);
    const info = await client.readResource({ uri: 'docker://gamma/info' });
    expect(JSON.parse((info.contents[0] as { text: string }).text)).toHaveProperty('server_version');
  });

  it('an unknown host is a tool error naming the hosts there are, and the server keeps serving', async () => {
    expect(errorText(await call(client, 'docker_container', { action: 'list', host_id: 'nosuch' }))).toMatch(/unknown host "nosuch".*alpha, beta, gamma/);
    expect(errorText(await call(client, 'docker_container', { action: 'pull', host_id: 'alpha', image_name: 'busybox; touch /tmp/x' }))).toMatch(/invalid image/);
    expect(structured(await call(client, 'docker_hosts', { action: 'list' })).success).toBe(true);
  });

  it('docker_hosts import_ssh adds the concrete aliases of an ssh config, as OpenSSH resolves them', async () => {
    // The server's HOME is workDir: over MCP, import_ssh reads only ~/.ssh/config.
    const sshConfig = path.join(workDir, '.ssh', 'config');
    await mkdir(path.dirname(sshConfig), { recursive: true });
    await writeFile(sshConfig, 'Host *\n  ServerAliveInterval 30\nHost nas-one\n  HostName 127.0.0.21\n  User backup\n  Port 2222\nHost alpha\n  HostName 127.0.0.11\n');
    const imported = structured(await call(client, 'docker_hosts', { action: 'import_ssh', ssh_config_path: '~/.ssh/config' }));
    expect(imported).toMatchObject({ imported: ['nas-one'], skipped: [{ alias: 'alpha', reason: 'already in hosts.yml' }] });
    // The Python tool's selected_hosts: one comma-separated string of aliases and 1-based positions.
    expect(errorText(await call(client, 'docker_hosts', { action: 'import_ssh', selected_hosts: 'nas-one, nope' }))).toMatch(/^bad-input: invalid selected_hosts "nope": not in the ssh config/);
    const again = structured(await call(client, 'docker_hosts', { action: 'import_ssh', selected_hosts: '1, alpha' }));
    expect(again).toMatchObject({ imported: [], skipped: [{ alias: 'nas-one' }, { alias: 'alpha' }] });
    const list = structured(await call(client, 'docker_hosts', { action: 'list' }));
    expect((list.hosts as { host_id: string }[]).find((h) => h.host_id === 'nas-one')).toMatchObject({ hostname: 'nas-one', user: 'backup', port: 2222 });
    structured(await call(client, 'docker_hosts', { action: 'remove', host_id: 'nas-one', confirm: true }));
  });

  describe('docker_hosts add, from a client that cannot ask its user (no elicitation)', () => {
    let stranger: StrangerSshd;
    let knownHosts: string;
    let zeta: Record<string, unknown>;

    beforeAll(async () => {
      const dir = path.join(workDir, 'stranger');
      await mkdir(dir);
      stranger = await startStrangerSshd(dir);
      // Beside hosts.yml: the tool's own known_hosts file, not there yet.
      knownHosts = path.join(workDir, 'known_hosts');
      const clientKey = (await testbedHost('alpha')).identity_file!;
      zeta = { action: 'add', host_id: 'zeta', ssh_host: stranger.address, ssh_port: stranger.port, ssh_user: 'docker-mcp-tb', ssh_key_path: clientKey, confirm: true, tags: ['lab'], appdata_path: '/srv/zeta/appdata' };
    });

    afterAll(async () => {
      await stranger.stop();
    });

    it('refuses a host nothing answers at, saying the connection is missing, and writes nothing', async () => {
      const before = await readFile(configFile, 'utf8');
      const refused = await call(client, 'docker_hosts', { action: 'add', host_id: 'zeta', ssh_host: '127.0.0.14', ssh_user: 'root' });
      expect(errorText(refused)).toMatch(/^unreachable: zeta was not added, and nothing was written: host zeta is unreachable: .*127\.0\.0\.14 port 22: Connection refused/);
      expect(refused.structuredContent).toMatchObject({ missing: 'connection' });
      expect(await readFile(configFile, 'utf8')).toBe(before);
    });

    it('answers a host key no known_hosts file holds with its fingerprint and the commands to check and add it, writing nothing', async () => {
      const before = await readFile(configFile, 'utf8');
      const refused = await call(client, 'docker_hosts', zeta);
      expect(errorText(refused)).toMatch(
        new RegExp(`^bad-input: zeta was not added, and nothing was written: 127\\.0\\.0\\.11 port ${stranger.port} presents host keys that no known_hosts file holds:\n {2}ssh-ed25519 ${escape(stranger.fingerprint)}\n`),
      );
      const { host_keys, commands } = refused.structuredContent as { host_keys: unknown; commands: string[] };
      expect(refused.structuredContent).toMatchObject({ missing: 'trusted_host_key' });
      expect(host_keys).toEqual([{ type: 'ssh-ed25519', fingerprint: stranger.fingerprint }]);
      expect(commands).toEqual([expect.stringMatching(new RegExp(`^ssh .*UserKnownHostsFile=${escape(knownHosts)} .*-p ${stranger.port} -l docker-mcp-tb -- 127\\.0\\.0\\.11 true$`)), expect.stringMatching(/^docker-mcp --config .* hosts add zeta .*--known-hosts-file /)]);
      // A fingerprint other than the host's is no vouching for it: the key may have changed since it was shown.
      const other = await call(client, 'docker_hosts', { ...zeta, trust_host_key_fingerprint: `SHA256:${'A'.repeat(43)}` });
      expect(errorText(other)).toMatch(/trust_host_key_fingerprint "SHA256:A+" is none of them/);
      expect(await readFile(configFile, 'utf8')).toBe(before);
      expect(existsSync(knownHosts)).toBe(false);
    });

    it("the refusal's commands, run as written by a person who answers ssh's question, add the host too", async () => {
      const refused = await call(client, 'docker_hosts', { ...zeta, host_id: 'eta' });
      const [connect, add] = (refused.structuredContent as { commands: [string, string] }).commands;
      // ssh asks on a terminal: script(1) gives it one, and the person answers once the fingerprint is shown.
      const person = execa('script', ['-qec', connect, '/dev/null'], { reject: false, stdin: 'pipe', timeout: 30_000 });
      let shown = '';
      person.stdout?.on('data', (chunk: Buffer) => {
        shown += chunk.toString();
        if (/continue connecting \(yes\/no/.test(shown)) person.stdin?.end('yes\n');
      });
      expect((await person).exitCode, shown).toBe(0);
      expect(shown).toContain(stranger.fingerprint);
      const bin = path.join(workDir, 'bin');
      await mkdir(bin, { recursive: true });
      await writeFile(path.join(bin, 'docker-mcp'), `#!/bin/sh\nexec ${process.execPath} ${builtBin} "$@"\n`);
      await chmod(path.join(bin, 'docker-mcp'), 0o755);
      const cli = await execa('sh', ['-c', add], { reject: false, env: { PATH: `${bin}:${process.env.PATH ?? ''}`, HOME: workDir, DOCKER_MCP_STATE_DIR: workDir } });
      expect(cli.exitCode, cli.stderr).toBe(0);
      const tested = structured(await call(client, 'docker_hosts', { action: 'test_connection', host_id: 'eta' }));
      expect(tested).toMatchObject({ hosts: [{ host_id: 'eta', ssh: { ok: true }, docker: { ok: true } }], host_errors: [] });
      structured(await call(client, 'docker_hosts', { action: 'remove', host_id: 'eta', confirm: true }));
    });
    it('takes the key whose fingerprint a person checked: recorded 0600 beside hosts.yml, and the host connects', async () => {
      // ssh recorded the key when the person said yes (hashed where ssh_config sets HashKnownHosts, as Debian's does).
      const recorded = await readFile(knownHosts, 'utf8');
      expect(recorded).toContain(stranger.knownHostsLine.split(' ')[2]);
      const added = structured(await call(client, 'docker_hosts', { ...zeta, trust_host_key_fingerprint: stranger.fingerprint }));
      expect(added).toMatchObject({ added: 'zeta', known_hosts_file: knownHosts, trusted_host_keys: [{ type: 'ssh-ed25519', fingerprint: stranger.fingerprint }], discovery: { hosts: [{ host_id: 'zeta' }], host_errors: [] } });
      // What the file holds already, hashed or not, is not written again.
      expect(await readFile(knownHosts, 'utf8')).toBe(recorded);
      expect((await stat(knownHosts)).mode & 0o777).toBe(0o600);
      expect(parseDocument(await readFile(configFile, 'utf8')).getIn(['hosts', 'zeta', 'known_hosts_file'])).toBe(knownHosts);
      const tested = structured(await call(client, 'docker_hosts', { action: 'test_connection', host_id: 'zeta' }));
      expect(tested).toMatchObject({ hosts: [{ host_id: 'zeta', ssh: { ok: true }, docker: { ok: true } }], host_errors: [] });
    });

  });

  it('docker_hosts add, edit and remove keep comments and the other blocks of hosts.yml, and keep a .bak', async () => {
    expect(errorText(await call(client, 'docker_hosts', { action: 'add', host_id: 'zeta', ssh_host: 'x', ssh_user: 'y' }))).toMatch(/already in/);
    // Without elicitation the refusal shows the change, old → new per field.
    expect(errorText(await call(client, 'docker_hosts', { action: 'edit', host_id: 'zeta', description: 'added over MCP', enabled: false }))).toMatch(
      /^bad-input: editing zeta in .*hosts\.yml:\n {2}description: "" → "added over MCP"\n {2}enabled: true → false\nrepeat with confirm: true$/,
    );
    structured(await call(client, 'docker_hosts', { action: 'edit', host_id: 'zeta', description: 'added over MCP', enabled: false, confirm: true }));
    let text = await readFile(configFile, 'utf8');
    expect(text).toMatch(/^# my fleet, hand-written/);
    expect(text).toMatch(/bandwidth_limit: 100M\s+# kept/);
    expect(text).toMatch(/server:\n {2}port: 8000/);
    expect(text).toMatch(/zeta:[\s\S]*description: added over MCP[\s\S]*enabled: false/);
    expect(existsSync(`${configFile}.bak`)).toBe(true);

    expect(errorText(await call(client, 'docker_hosts', { action: 'remove', host_id: 'zeta' }))).toMatch(/confirm: true/);
    structured(await call(client, 'docker_hosts', { action: 'remove', host_id: 'zeta', confirm: true }));
    text = await readFile(configFile, 'utf8');
    expect(text).not.toMatch(/zeta/);
    expect(text).toMatch(/bandwidth_limit: 100M\s+# kept/);
  });
});

describe('MCP server over Streamable HTTP', () => {
  const servers: ResultPromise[] = [];

  async function startServer(args: string[], env: Record<string, string> = {}): Promise<string> {
    const server = execa(process.execPath, [builtBin, 'serve', '--http', '--port', '0', ...args], {
      env: { DOCKER_MCP_CONFIG: configFile, HOME: workDir, DOCKER_MCP_STATE_DIR: httpState, ...env },
      reject: false,
    });
    servers.push(server);
    return new Promise((resolve, reject) => {
      let seen = '';
      server.stderr?.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
        const match = /listening on (http:\/\/\S+)/.exec(seen);
        if (match?.[1]) resolve(match[1]);
      });
      void server.then((r) => reject(new Error(`server exited ${r.exitCode}: ${seen}`)));
    });
  }

  afterAll(async () => {
    for (const server of servers) server.kill('SIGTERM');
    await Promise.all(servers);
  });

  it('answers an SDK client on 127.0.0.1: tools, hosts, containers', async () => {
    const url = await startServer([]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const client = new Client({ name: 'docker-mcp-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    expect((await client.listTools()).tools).toHaveLength(8);
    const listed = structured(await call(client, 'docker_container', { action: 'list', all_containers: true }));
    expect(listed.host_errors).toEqual([]);
    expect(errorText(await call(client, 'docker_compose', { action: 'view', host_id: 'alpha', stack_name: 'bad name' }))).toMatch(/stack_name/);
    await client.close();
  });

  it('answers 50 concurrent tool calls, each with the right result', async () => {
    const stack = `${prefix}-load`;
    const compose = `# load test, ${CANARIES.compose}\nservices:\n  web:\n    image: local/busybox:test\n    command: ["sleep", "600"]\n    network_mode: none\n    init: true\n`;
    const client = new Client({ name: 'docker-mcp-load', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(await startServer([]))));
    structured(await call(client, 'docker_compose', { action: 'deploy', host_id: 'gamma', stack_name: stack, compose_content: compose, environment: { API_TOKEN: CANARIES.environment } }));
    const calls = Array.from({ length: 50 }, (_, i) => {
      const host = (['alpha', 'beta', 'gamma'] as const)[i % 3]!;
      switch (i % 5) {
        case 0:
          return call(client, 'docker_hosts', { action: 'list' }).then((r) => expect((structured(r).hosts as { host_id: string }[]).map((h) => h.host_id)).toEqual(HOST_IDS));
        case 1:
          return call(client, 'docker_container', { action: 'list', host_id: host, all_containers: true, limit: 1000 }).then((r) => {
            const page = structured(r) as unknown as { containers: { host_id: string }[]; host_errors: unknown[] };
            expect(page.host_errors).toEqual([]);
            expect(new Set(page.containers.map((c) => c.host_id))).toEqual(new Set(page.containers.length > 0 ? [host] : []));
          });
        case 2:
          return call(client, 'docker_compose', { action: 'view', host_id: 'gamma', stack_name: stack }).then((r) => expect(structured(r).content).toBe(compose));
        case 3:
          return call(client, 'docker_compose', { action: 'ps', host_id: 'gamma', stack_name: stack }).then((r) => expect((structured(r).containers as { service: string; state: string }[]).map((c) => [c.service, c.state])).toEqual([['web', 'running']]));
        default:
          return call(client, 'docker_hosts', { action: 'test_connection', host_id: host }).then((r) => expect(structured(r)).toMatchObject({ hosts: [{ host_id: host, ssh: { ok: true } }], host_errors: [] }));
      }
    });
    await Promise.all(calls);
    structured(await call(client, 'docker_compose', { action: 'down', host_id: 'gamma', stack_name: stack, confirm: true }));
    await hosts.gamma.transport.exec(command(['rm', '-rf', '--', `/srv/gamma/compose/${stack}`]));
    await client.close();
  });

  it('rejects a Host header it does not serve (DNS rebinding)', async () => {
    const url = new URL(await startServer([]));
    // fetch does not let a caller set Host; node:http does, as a rebinding page's browser would send it.
    const status = (host: string) =>
      new Promise<number>((resolve, reject) => {
        const request = httpRequest(
          { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { host, 'content-type': 'application/json', accept: 'application/json, text/event-stream' } },
          (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
          },
        );
        request.on('error', reject);
        request.end(JSON.stringify(initializeRequest));
      });
    expect(await status(`rebound.example:${url.port}`)).toBe(403);
    expect(await status(`127.0.0.1:${url.port}`)).toBe(200);
  });

  const initializeOver = async (url: string, headers: Record<string, string> = {}) => {
    const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(initializeRequest) });
    return { status: response.status, sessionId: response.headers.get('mcp-session-id'), text: await response.text() };
  };

  it('refuses --token on the command line (ps shows it), naming --token-file and $DOCKER_MCP_TOKEN', async () => {
    const refused = await execa(process.execPath, [builtBin, 'serve', '--http', '--port', '0', '--token', 'visible-in-ps-0123456789'], { env: { DOCKER_MCP_CONFIG: configFile }, reject: false, timeout: 15_000 });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/--token-file.*\$DOCKER_MCP_TOKEN/);
    expect(refused.stderr).not.toMatch(/visible-in-ps/);
  });

  it('reads the bearer token from --token-file', async () => {
    const token = 'file-token-0123456789abcdef';
    const tokenFile = path.join(workDir, 'token');
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const url = (await startServer(['--host', '0.0.0.0', '--token-file', tokenFile], { DOCKER_MCP_TOKEN: '' })).replace('0.0.0.0', '127.0.0.1');
    expect((await initializeOver(url)).status).toBe(401);
    expect((await initializeOver(url, { authorization: `Bearer ${token}` })).status).toBe(200);
  });

  const listToolsOver = (url: string, sessionId: string) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-06-18' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }),
    }).then((response) => response.status);

  it('keeps at most --max-sessions sessions, a new one taking the place of the one idle longest, and closes one idle past --session-idle-timeout', async () => {
    const url = await startServer(['--max-sessions', '2', '--session-idle-timeout', '1']);
    const first = await initializeOver(url);
    expect(first.status).toBe(200);
    const second = await initializeOver(url);
    expect(second.status).toBe(200);
    // A client that left without DELETE (the SDK's close() sends none) does not lock the next one out.
    const third = await initializeOver(url);
    expect(third.status).toBe(200);
    expect(await listToolsOver(url, first.sessionId!)).toBe(404);
    expect(await listToolsOver(url, second.sessionId!)).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_800));
    expect(await listToolsOver(url, third.sessionId!)).toBe(404);
    expect((await initializeOver(url)).status).toBe(200);
  });

  it("takes what flags do not give from hosts.yml's server: section (the Python tool's): max_connections bounds the sessions", async () => {
    const pythonStyle = path.join(workDir, 'python-server.yml');
    await writeFile(pythonStyle, `${await readFile(testbedHostsFile(), 'utf8')}\nserver:\n  host: 127.0.0.1\n  max_connections: 1\n  log_level: WARNING\n`);
    const url = await startServer([], { DOCKER_MCP_CONFIG: pythonStyle });
    const first = await initializeOver(url);
    expect(first.status).toBe(200);
    const second = await initializeOver(url);
    expect(second.status).toBe(200);
    expect([await listToolsOver(url, first.sessionId!), await listToolsOver(url, second.sessionId!)]).toEqual([404, 200]);
  });

  it('bound off loopback, refuses to start without a token, and rejects requests without it', async () => {
    const refused = await execa(process.execPath, [builtBin, 'serve', '--http', '--host', '0.0.0.0', '--port', '0'], { env: { DOCKER_MCP_CONFIG: configFile, DOCKER_MCP_TOKEN: '' }, reject: false });
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/needs a bearer token/);

    const token = 'test-token-0123456789';
    const url = (await startServer(['--host', '0.0.0.0'], { DOCKER_MCP_TOKEN: token })).replace('0.0.0.0', '127.0.0.1');
    const post = (headers: Record<string, string>) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body: JSON.stringify(initializeRequest) });
    expect((await post({})).status).toBe(401);
    expect((await post({ authorization: 'Bearer wrong-token-000000000' })).status).toBe(401);

    const client = new Client({ name: 'docker-mcp-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    expect((await client.listTools()).tools).toHaveLength(8);
    await client.close();
  });
});

describe("the audit trail of this file's calls", () => {
  it('holds a record of every call each server answered, with what it acted on and who confirmed, and none of the secrets sent', async () => {
    const httpClients = [...toolCalls.keys()].filter((client) => client !== stdioClient);
    const stdio = await readAudit(undefined, path.join(workDir, 'audit.jsonl'));
    expect(stdio).toHaveLength(toolCalls.get(stdioClient)!);
    expect(stdio).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ tool: 'docker_compose', action: 'deploy', host_id: 'alpha', stack_name: `${prefix}-auth`, outcome: 'ok', confirmed_by: 'none' }),
        expect.objectContaining({ tool: 'docker_compose', action: 'migrate', host_id: 'alpha', target_host_id: 'beta', outcome: 'ok', confirmed_by: 'model' }),
        expect.objectContaining({ tool: 'docker_hosts', action: 'add', host_id: 'zeta', outcome: 'unreachable', confirmed_by: 'none' }),
        expect.objectContaining({ tool: 'docker_hosts', action: 'add', host_id: 'zeta', outcome: 'ok', confirmed_by: 'model' }),
      ]),
    );
    const http = await readAudit(undefined, path.join(httpState, 'audit.jsonl'));
    expect(http).toHaveLength(httpClients.reduce((sum, client) => sum + toolCalls.get(client)!, 0));
    expect(http).toEqual(expect.arrayContaining([expect.objectContaining({ tool: 'docker_compose', action: 'deploy', host_id: 'gamma', stack_name: `${prefix}-load`, outcome: 'ok' })]));
    for (const file of [path.join(workDir, 'audit.jsonl'), path.join(httpState, 'audit.jsonl')]) {
      const text = await readFile(file, 'utf8');
      for (const canary of Object.values(CANARIES)) expect(text, file).not.toContain(canary);
    }
  });
});

/**
 * What MCP clients bring: calls shaped as the Python docker-mcp's schemas
 * produce them, a read-only server, confirmation by elicitation, completions,
 * list_changed and log notifications. The server runs in this process behind
 * the SDK's in-memory transport (the wire protocol is the real one); the
 * hosts are the testbed's container hosts alpha, beta and gamma.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ResourceListChangedNotificationSchema,
  type CallToolResult,
  type ElicitResult,
  type LoggingMessageNotification,
} from '@modelcontextprotocol/sdk/types.js';
import { execa } from 'execa';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { listContainers } from '../../src/docker/containers.js';
import { readAudit } from '../../src/mcp/audit.js';
import { McpContext } from '../../src/mcp/context.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { startStrangerSshd, type StrangerSshd } from './stranger-sshd.js';
import { testbedHost } from './testbed.js';

// Runs beside other work on the same testbed can give their stacks a prefix of their own.
const prefix = `${process.env.DOCKER_MCP_TEST_PREFIX ?? 'h14'}-clients${process.pid}`;
const stack = `${prefix}-web`;
const nowhere = `${prefix}-nowhere`;
let workDir: string;
let alpha: DockerHost;
/** Secrets sent in calls' environment and compose_content: the audit trail must hold none of them. */
const CANARIES = { environment: `canary-env-${process.pid}-91fa`, compose: `canary-compose-${process.pid}-0d3b` };
/** Tool calls made in this file: the audit trail must hold a record of each. */
let toolCalls = 0;

const STACK_FILE = `# ${CANARIES.compose}
services:
  web:
    image: local/busybox:test
    command: ["sleep", "3600"]
    network_mode: none
    init: true
  worker:
    image: local/busybox:test
    command: ["sleep", "3600"]
    network_mode: none
    init: true
`;

/** What the Python tool's schemas send when the model fills in only the action and a few fields. */
const PYTHON_HOSTS_DEFAULTS = { ssh_host: '', ssh_user: '', ssh_port: 22, ssh_key_path: '', description: '', tags: null, compose_path: '', appdata_path: '', enabled: true, ssh_config_path: '', selected_hosts: '', cleanup_type: null, port: 0, host_id: '' };
const PYTHON_CONTAINER_DEFAULTS = { container_id: '', image_name: '', all_containers: false, limit: 20, offset: 0, follow: false, lines: 100, force: false, timeout: 10, host_id: '' };
const PYTHON_COMPOSE_DEFAULTS = { stack_name: '', compose_content: '', environment: null, pull_images: true, recreate: false, follow: false, lines: 100, dry_run: false, options: null, target_host_id: '', remove_source: false, skip_stop_source: false, start_target: true, host_id: '' };

/** A hosts.yml with the container hosts only, plus the Python tool's other sections. */
async function writeHostsFile(file: string, extra = ''): Promise<void> {
  const document = parseDocument(await readFile(testbedHostsFile(), 'utf8'));
  for (const guest of ['delta', 'epsilon']) document.deleteIn(['hosts', guest]);
  await writeFile(file, `${document.toString()}${extra}`);
}

interface Session {
  readonly client: Client;
  readonly logs: LoggingMessageNotification['params'][];
  listChanged: number;
  /** How the client's user answers the next elicitation: always so, or by the question. */
  answer: ElicitResult | ((question: string) => ElicitResult);
  readonly questions: string[];
}

async function connect(context: McpContext, options: { elicitation?: boolean } = {}): Promise<Session> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createMcpServer(context, 'test').connect(serverSide);
  const client = new Client({ name: 'clients-test', version: '1' }, { capabilities: options.elicitation ? { elicitation: {} } : {} });
  const session: Session = { client, logs: [], listChanged: 0, answer: { action: 'decline' }, questions: [] };
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void session.logs.push(n.params));
  client.setNotificationHandler(ResourceListChangedNotificationSchema, () => void (session.listChanged += 1));
  if (options.elicitation) {
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      session.questions.push(request.params.message);
      return typeof session.answer === 'function' ? session.answer(request.params.message) : session.answer;
    });
  }
  await client.connect(clientSide);
  return session;
}

const call = async (session: Session, name: string, args: Record<string, unknown>) => {
  toolCalls += 1;
  return (await session.client.callTool({ name, arguments: args })) as CallToolResult;
};

/** A success: the action's keys are at the top of the structured content, beside success: true. */
function ok(result: CallToolResult): Record<string, unknown> {
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  expect(result.structuredContent).toMatchObject({ success: true });
  return result.structuredContent as Record<string, unknown>;
}

function refusal(result: CallToolResult): string {
  expect(result.isError, JSON.stringify(result.structuredContent)).toBe(true);
  return (result.content[0] as { text: string }).text;
}

const runningOf = async (service?: string) => (await listContainers(alpha, { running: true })).filter((c) => c.stack === stack && (service === undefined || c.service === service));

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'h14-clients-'));
  // The audit trail of this file's calls goes to a state directory of its own.
  process.env.DOCKER_MCP_STATE_DIR = workDir;
  alpha = { host: await testbedHost('alpha'), transport: new SshTransport(await testbedHost('alpha')) };
});

afterAll(async () => {
  await cleanUpPrefix(alpha, 'alpha', prefix);
  await alpha.transport.close();
  await rm(workDir, { recursive: true, force: true });
});

describe('calls shaped as the Python docker-mcp sends them', () => {
  let session: Session;
  let context: McpContext;
  let file: string;

  beforeAll(async () => {
    file = path.join(workDir, 'python-hosts.yml');
    await writeHostsFile(file, 'server:\n  port: 8000\ntransfer:\n  method: containerized\n  docker_image: instrumentisto/rsync-ssh:latest\n');
    context = new McpContext(file);
    session = await connect(context);
  });

  afterAll(async () => {
    await session.client.close();
    await context.close();
  });

  it('docker_hosts: empty strings, port 0, null lists and a missing action mean absent; host_id "all" discovers every host', async () => {
    const listed = ok(await call(session, 'docker_hosts', { ...PYTHON_HOSTS_DEFAULTS, action: null })) as { hosts: { host_id: string }[] };
    expect(listed.hosts.map((h) => h.host_id)).toEqual(['alpha', 'beta', 'gamma']);
    // The unsupported transfer settings are named once, as a warning to the client too.
    expect(session.logs.filter((l) => l.level === 'warning').map((l) => String(l.data))).toEqual([
      expect.stringMatching(/transfer\.method is ignored: only "ssh"/),
      expect.stringMatching(/transfer\.docker_image is ignored/),
    ]);
    const ports = ok(await call(session, 'docker_hosts', { ...PYTHON_HOSTS_DEFAULTS, action: 'ports', host_id: 'alpha' }));
    expect(ports).toHaveProperty('port_mappings');
    const discovered = ok(await call(session, 'docker_hosts', { ...PYTHON_HOSTS_DEFAULTS, action: 'discover', host_id: 'all' })) as { hosts: { host_id: string }[]; host_errors: unknown[] };
    expect(discovered.hosts.map((r) => r.host_id)).toEqual(['alpha', 'beta', 'gamma']);
    expect(discovered.host_errors).toEqual([]);
    ok(await call(session, 'docker_hosts', { ...PYTHON_HOSTS_DEFAULTS, action: 'list' }));
    expect(session.logs.filter((l) => l.level === 'warning')).toHaveLength(2);
  });

  it('docker_compose: deploy, then up/restart/down with options mapped to their flags, ps filtered by services', async () => {
    const deployed = ok(await call(session, 'docker_compose', { ...PYTHON_COMPOSE_DEFAULTS, action: 'deploy', host_id: 'alpha', stack_name: stack, compose_content: STACK_FILE, environment: { API_TOKEN: CANARIES.environment }, pull_images: false }));
    expect(deployed).toMatchObject({ stack_name: stack, created: true });
    const before = (await runningOf('web'))[0]!.id;
    ok(await call(session, 'docker_compose', { ...PYTHON_COMPOSE_DEFAULTS, action: 'up', host_id: 'alpha', stack_name: stack, options: { force_recreate: 'true', services: 'web' } }));
    const web = await runningOf('web');
    expect(web).toHaveLength(1);
    expect(web[0]!.id, 'force_recreate made a new web container').not.toBe(before);
    ok(await call(session, 'docker_compose', { ...PYTHON_COMPOSE_DEFAULTS, action: 'restart', host_id: 'alpha', stack_name: stack, options: { timeout: '1' } }));
    const ps = ok(await call(session, 'docker_compose', { ...PYTHON_COMPOSE_DEFAULTS, action: 'ps', host_id: 'alpha', stack_name: stack, options: { services: 'worker' } })) as { containers: { service: string }[] };
    expect(ps.containers.map((c) => c.service)).toEqual(['worker']);
    const listedEverywhere = ok(await call(session, 'docker_compose', { ...PYTHON_COMPOSE_DEFAULTS, action: 'list', host_id: 'all', limit: 1000 })) as { stacks: { host_id: string; name: string }[]; host_errors: unknown[] };
    expect(listedEverywhere.stacks).toContainEqual(expect.objectContaining({ host_id: 'alpha', name: stack }));
    expect(listedEverywhere.host_errors).toEqual([]);
  });

  it('refuses, saying why, what it cannot honour: unknown options, follow, pull_images of a local image', async () => {
    expect(refusal(await call(session, 'docker_compose', { ...PYTHON_COMPOSE_DEFAULTS, action: 'up', host_id: 'alpha', stack_name: stack, options: { detach: 'false' } }))).toMatch(
      /^bad-input: invalid options\.detach "false": is not an option of up; it takes: force_recreate, build, pull, pull_policy, services/,
    );
    expect(refusal(await call(session, 'docker_compose', { ...PYTHON_COMPOSE_DEFAULTS, action: 'logs', host_id: 'alpha', stack_name: stack, follow: true }))).toMatch(/^bad-input: invalid follow "true": is not supported over MCP/);
    const container = (await runningOf('web'))[0]!.name;
    expect(refusal(await call(session, 'docker_container', { ...PYTHON_CONTAINER_DEFAULTS, action: 'logs', host_id: 'alpha', container_id: container, follow: true }))).toMatch(/follow .*not supported over MCP/);
    expect(refusal(await call(session, 'docker_container', { ...PYTHON_CONTAINER_DEFAULTS, action: 'restart', host_id: 'alpha', container_id: container, force: true }))).toMatch(/force .*applies to stop and remove only/);
    const logs = ok(await call(session, 'docker_container', { ...PYTHON_CONTAINER_DEFAULTS, action: 'logs', host_id: 'alpha', container_id: container })) as { container_id: string; logs: string[] };
    expect(logs.container_id).toBe(container);
    expect(Array.isArray(logs.logs)).toBe(true);
    const page = ok(await call(session, 'docker_container', { ...PYTHON_CONTAINER_DEFAULTS, action: 'list', host_id: 'alpha' })) as { containers: unknown[] };
    expect(page.containers.length).toBeGreaterThanOrEqual(2);
  });

  it('serves the resources ports://, stacks://{host_id}/{stack_name} and containers://{host_id}/{container_id}', async () => {
    const read = async (uri: string) => JSON.parse(((await session.client.readResource({ uri })).contents[0] as { text: string }).text) as Record<string, unknown>;
    expect(await read('ports://alpha')).toHaveProperty('port_mappings');
    const one = await read(`stacks://alpha/${stack}`);
    expect(one).toMatchObject({ stack_name: stack, content: STACK_FILE });
    expect((one.containers as unknown[]).length).toBe(2);
    const container = (await runningOf('web'))[0]!.name;
    expect((await read(`containers://alpha/${container}`)).name).toBe(`/${container}`);
  });

  it('takes the query parameters the Python tool documented, refuses others by name, and says "resource not found" (-32002) of what is not there', async () => {
    const read = async (uri: string) => JSON.parse(((await session.client.readResource({ uri })).contents[0] as { text: string }).text) as Record<string, unknown>;
    const all = await read('containers://alpha?all=true&limit=1');
    expect(all.containers).toHaveLength(1);
    expect(all.pagination).toMatchObject({ limit: 1, offset: 0, has_next: true });
    expect(((await read('containers://alpha?all=1&limit=1000')).containers as { name: string }[]).map((c) => c.name)).toEqual(expect.arrayContaining((await runningOf()).map((c) => c.name)));
    await expect(session.client.readResource({ uri: 'containers://alpha?bogus=1' })).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/unknown query parameter "bogus" .*it takes all, limit, offset/) });
    await expect(session.client.readResource({ uri: 'containers://alpha?limit=x' })).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/limit="x"/) });
    await expect(session.client.readResource({ uri: 'stacks://alpha?all=true' })).rejects.toMatchObject({ code: -32602, message: expect.stringMatching(/it takes none/) });
    expect(await read('ports://alpha?include_stopped=true')).toHaveProperty('port_mappings');
    for (const uri of ['stacks://nosuch', `stacks://alpha/${prefix}-nosuch`, `containers://alpha/${prefix}-nosuch`, 'docker://nosuch/info']) {
      await expect(session.client.readResource({ uri }), uri).rejects.toMatchObject({ code: -32002, message: expect.stringMatching(/resource not found/) });
    }
  });

  it('completes host_id, and stack_name on the host already chosen', async () => {
    const hostIds = await session.client.complete({ ref: { type: 'ref/resource', uri: 'stacks://{host_id}/{stack_name}' }, argument: { name: 'host_id', value: 'b' } });
    expect(hostIds.completion.values).toEqual(['beta']);
    const stacks = await session.client.complete({ ref: { type: 'ref/resource', uri: 'stacks://{host_id}/{stack_name}' }, argument: { name: 'stack_name', value: prefix }, context: { arguments: { host_id: 'alpha' } } });
    expect(stacks.completion.values).toEqual([stack]);
  });
});

describe('a server started with --read-only', () => {
  let session: Session;
  let file: string;

  beforeAll(async () => {
    file = path.join(workDir, 'read-only-hosts.yml');
    await writeHostsFile(file);
    // Make discover want to record something, to see that it does not.
    await writeFile(file, (await readFile(file, 'utf8')).replace('zfs_dataset: alpha/appdata', 'zfs_dataset: alpha/elsewhere'));
    session = await connect(new McpContext(file, { readOnly: true }));
  });

  afterAll(() => session.client.close());

  it('offers only actions that change nothing, and refuses the others as unknown', async () => {
    const { tools } = await session.client.listTools();
    const actions = Object.fromEntries(tools.map((t) => [t.name, (t.inputSchema.properties as { action: { enum: string[] } }).action.enum]));
    expect(actions).toEqual({
      docker_hosts: ['list', 'test_connection', 'discover', 'ports', 'cleanup'],
      docker_container: ['list', 'info', 'logs'],
      docker_compose: ['list', 'view', 'ps', 'discover', 'logs'],
      docker_standby: ['list', 'status'],
    });
    for (const tool of tools) expect(tool.annotations).toMatchObject({ readOnlyHint: true, destructiveHint: false });
    expect(refusal(await call(session, 'docker_compose', { action: 'down', host_id: 'alpha', stack_name: stack, confirm: true }))).toMatch(/input validation error.*action/is);
    expect(refusal(await call(session, 'docker_hosts', { action: 'remove', host_id: 'gamma', confirm: true }))).toMatch(/input validation error.*action/is);
    expect(refusal(await call(session, 'docker_hosts', { action: 'cleanup', host_id: 'alpha', cleanup_type: 'aggressive', confirm: true }))).toMatch(/input validation error.*cleanup_type/is);
  });

  it('discover reports what it found and leaves hosts.yml as it was', async () => {
    const before = await readFile(file, 'utf8');
    const found = ok(await call(session, 'docker_hosts', { action: 'discover', host_id: 'alpha' })) as { hosts: { zfs: { appdata_dataset: string } }[]; config_updated: string[] };
    expect(found.hosts[0]!.zfs.appdata_dataset).toBe('alpha/appdata');
    expect(found.config_updated).toEqual([]);
    expect(await readFile(file, 'utf8')).toBe(before);
  });
});

describe('confirmation by elicitation, and list_changed', () => {
  let session: Session;
  let context: McpContext;
  let file: string;

  beforeAll(async () => {
    file = path.join(workDir, 'elicit-hosts.yml');
    await writeHostsFile(file);
    // A host nothing answers at (loopback, closed port): an action that went ahead would fail there, not be refused.
    const document = parseDocument(await readFile(file, 'utf8'));
    document.setIn(['hosts', nowhere], { hostname: '127.0.0.99', user: 'nobody', compose_path: '/srv/nowhere/compose', appdata_path: '/srv/nowhere/appdata' });
    await writeFile(file, document.toString());
    context = new McpContext(file);
    session = await connect(context, { elicitation: true });
  });

  it("asks the user even when the call says confirm: true (the model's word is not the user's); a decline or a cancel changes nothing and says which", async () => {
    expect(await runningOf()).toHaveLength(2);
    session.questions.length = 0;
    session.answer = { action: 'decline' };
    expect(refusal(await call(session, 'docker_compose', { action: 'down', host_id: 'alpha', stack_name: stack, options: { volumes: 'true' }, confirm: true }))).toMatch(
      /^bad-input: not confirmed \(the user declined\): down stops and removes the containers of .*, and its named volumes with their data; nothing was changed$/,
    );
    expect(await runningOf(), 'declined: the stack still runs').toHaveLength(2);
    session.answer = { action: 'cancel' };
    const container = (await runningOf('web'))[0]!.name;
    expect(refusal(await call(session, 'docker_container', { action: 'remove', host_id: 'alpha', container_id: container, force: true, confirm: true }))).toMatch(
      /^bad-input: not confirmed \(the user cancelled\): removing container .*; nothing was changed$/,
    );
    expect(await runningOf('web')).toHaveLength(1);
    session.answer = { action: 'decline' };
    expect(refusal(await call(session, 'docker_hosts', { action: 'cleanup', host_id: nowhere, cleanup_type: 'aggressive', confirm: true }))).toMatch(/^bad-input: not confirmed \(the user declined\): cleanup aggressive on /);
    expect(refusal(await call(session, 'docker_compose', { action: 'migrate', host_id: nowhere, target_host_id: 'beta', stack_name: stack, remove_source: true, confirm: true }))).toMatch(
      /^bad-input: not confirmed \(the user declined\): migrating .* then deletes its folder and data on /,
    );
    expect(session.questions).toHaveLength(4);
  });

  it('asks before a host edit, showing each field old → new, and before an add that names a key file', async () => {
    const before = await readFile(file, 'utf8');
    session.questions.length = 0;
    session.answer = { action: 'decline' };
    // edit alpha to point at beta's address and compose folder: what a model could do to redirect a migration.
    expect(refusal(await call(session, 'docker_hosts', { action: 'edit', host_id: 'alpha', ssh_host: '127.0.0.12', compose_path: '/srv/beta/compose' }))).toMatch(/^bad-input: not confirmed \(the user declined\): editing alpha in /);
    expect(session.questions).toEqual([`editing alpha in ${file}:\n  hostname: "127.0.0.11" → "127.0.0.12"\n  compose_path: "/srv/alpha/compose" → "/srv/beta/compose"\nGo ahead?`]);
    const key = (await testbedHost('alpha')).identity_file!;
    expect(refusal(await call(session, 'docker_hosts', { action: 'add', host_id: `${prefix}-k`, ssh_host: '127.0.0.99', ssh_user: 'nobody', ssh_key_path: key }))).toMatch(
      new RegExp(`^bad-input: not confirmed \\(the user declined\\): adding ${prefix}-k to .* lets this controller log in to nobody@127\\.0\\.0\\.99 with the private key ${key}`),
    );
    expect(await readFile(file, 'utf8'), 'declined: hosts.yml as it was').toBe(before);
    session.answer = { action: 'accept', content: { confirm: true } };
    ok(await call(session, 'docker_hosts', { action: 'edit', host_id: nowhere, description: 'edited' }));
    expect(parseDocument(await readFile(file, 'utf8')).getIn(['hosts', nowhere, 'description'])).toBe('edited');
  });

  afterAll(async () => {
    await session.client.close();
    await context.close();
  });

  it('asks the user before down; a decline changes nothing, an accept goes ahead', async () => {
    expect(await runningOf()).toHaveLength(2);
    session.questions.length = 0;
    session.answer = { action: 'decline' };
    expect(refusal(await call(session, 'docker_compose', { action: 'down', host_id: 'alpha', stack_name: stack }))).toMatch(/^bad-input: not confirmed \(the user declined\): down stops and removes the containers of .* nothing was changed$/);
    expect(session.questions).toEqual([expect.stringMatching(new RegExp(`^down stops and removes the containers of ${stack} on alpha. Go ahead\\?$`))]);
    expect(await runningOf(), 'declined: the stack still runs').toHaveLength(2);
    session.answer = { action: 'accept', content: { confirm: false } };
    refusal(await call(session, 'docker_compose', { action: 'down', host_id: 'alpha', stack_name: stack }));
    expect(await runningOf()).toHaveLength(2);
    session.answer = { action: 'accept', content: { confirm: true } };
    ok(await call(session, 'docker_compose', { action: 'down', host_id: 'alpha', stack_name: stack }));
    expect(await runningOf()).toHaveLength(0);
  });

  it('tells every connected client when hosts are added or removed', async () => {
    const other = await connect(context);
    const clientKey = (await testbedHost('alpha')).identity_file;
    // The new host is alpha by another name, without the testbed's known_hosts file: when no known_hosts
    // file of the user's holds alpha's key, the user is asked to trust it too, and says yes to everything.
    session.answer = { action: 'accept', content: { confirm: true } };
    const added = ok(await call(session, 'docker_hosts', { ...PYTHON_HOSTS_DEFAULTS, action: 'add', host_id: `${prefix}-a`, ssh_host: '127.0.0.11', ssh_user: 'docker-mcp-tb', ssh_key_path: clientKey, appdata_path: '/srv/alpha/appdata' }));
    // add is followed by discovery, which records what ZFS the host has.
    expect(added).toMatchObject({ added: `${prefix}-a`, discovery: { hosts: [{ host_id: `${prefix}-a` }], host_errors: [], config_updated: [`${prefix}-a`] } });
    expect(parseDocument(await readFile(file, 'utf8')).getIn(['hosts', `${prefix}-a`, 'zfs_dataset'])).toBe('alpha/appdata');
    session.answer = { action: 'accept', content: { confirm: true } };
    ok(await call(session, 'docker_hosts', { action: 'remove', host_id: `${prefix}-a` }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([session.listChanged, other.listChanged]).toEqual([2, 2]);
    await other.client.close();
  });
});

describe('no hosts.yml yet', () => {
  it('serves with no hosts, and an add of a host that does not connect creates nothing', async () => {
    const file = path.join(workDir, 'new', 'hosts.yml');
    const context = new McpContext(file);
    const session = await connect(context);
    expect(ok(await call(session, 'docker_hosts', { action: 'list' }))).toEqual({ success: true, action: 'list', config: file, config_exists: false, hosts: [], count: 0 });
    const refused = await call(session, 'docker_hosts', { ...PYTHON_HOSTS_DEFAULTS, action: 'add', host_id: `${prefix}-b`, ssh_host: 'b.invalid', ssh_user: 'root' });
    expect(refusal(refused)).toMatch(new RegExp(`^unreachable: ${prefix}-b was not added, and nothing was written: host ${prefix}-b is unreachable: .*Could not resolve hostname b\\.invalid`));
    expect(refused.structuredContent).toMatchObject({ success: false, kind: 'unreachable', missing: 'connection' });
    expect(existsSync(path.dirname(file))).toBe(false);
    await session.client.close();
    await context.close();
  });
});

describe('adding a host whose key no known_hosts file holds, from a client that asks its user', () => {
  let stranger: StrangerSshd;
  let context: McpContext;
  let session: Session;
  let file: string;
  let knownHosts: string;
  let clientKey: string;
  const host = `${prefix}-new`;
  const yes: ElicitResult = { action: 'accept', content: { confirm: true } };
  const addArgs = (hostId: string, extra: Record<string, unknown> = {}) => ({
    ...PYTHON_HOSTS_DEFAULTS,
    action: 'add',
    host_id: hostId,
    ssh_host: stranger.address,
    ssh_port: stranger.port,
    ssh_user: 'docker-mcp-tb',
    ssh_key_path: clientKey,
    compose_path: '/srv/alpha/compose',
    appdata_path: '/srv/alpha/appdata',
    ...extra,
  });
  /** Yes to the key file, and `answer` to the host key. */
  const onHostKey = (answer: ElicitResult) => (question: string) => (question.startsWith('trust the host key') ? answer : yes);
  const filesNow = async () => Promise.all([file, knownHosts].map((f) => readFile(f, 'utf8').catch(() => 'absent')));

  beforeAll(async () => {
    const dir = path.join(workDir, 'stranger');
    await mkdir(dir);
    stranger = await startStrangerSshd(dir);
    // A fresh folder: the first host the user trusts creates hosts.yml and the known_hosts beside it.
    file = path.join(dir, 'config', 'hosts.yml');
    knownHosts = path.join(dir, 'config', 'known_hosts');
    clientKey = (await testbedHost('alpha')).identity_file!;
    context = new McpContext(file);
    session = await connect(context, { elicitation: true });
  });

  afterAll(async () => {
    await session.client.close();
    await context.close();
    await stranger.stop();
  });

  it('shows the fingerprint and asks; a decline or a cancel writes nothing and says which', async () => {
    session.questions.length = 0;
    session.answer = onHostKey({ action: 'decline' });
    expect(refusal(await call(session, 'docker_hosts', addArgs(host)))).toMatch(
      new RegExp(`^bad-input: not confirmed \\(the user declined\\): trust the host key that 127\\.0\\.0\\.11 port ${stranger.port} presents for ${host}, which no known_hosts file holds \\(recorded in ${knownHosts}\\); nothing was changed$`),
    );
    expect(session.questions[1]).toBe(
      `trust the host key that 127.0.0.11 port ${stranger.port} presents for ${host}, which no known_hosts file holds (recorded in ${knownHosts}):\n  ssh-ed25519 ${stranger.fingerprint}\n  (the host's own: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub, run on it)\nGo ahead?`,
    );
    session.answer = onHostKey({ action: 'cancel' });
    expect(refusal(await call(session, 'docker_hosts', addArgs(host)))).toMatch(/^bad-input: not confirmed \(the user cancelled\): trust the host key/);
    expect(await filesNow()).toEqual(['absent', 'absent']);
  });

  it('a yes records the key 0600 in known_hosts beside hosts.yml, and the host is added and connects', async () => {
    session.answer = yes;
    const added = ok(await call(session, 'docker_hosts', addArgs(host)));
    expect(added).toMatchObject({ added: host, known_hosts_file: knownHosts, trusted_host_keys: [{ type: 'ssh-ed25519', fingerprint: stranger.fingerprint }], discovery: { hosts: [{ host_id: host }], host_errors: [] } });
    expect(await readFile(knownHosts, 'utf8')).toBe(`${stranger.knownHostsLine}\n`);
    expect((await stat(knownHosts)).mode & 0o777).toBe(0o600);
    expect(parseDocument(await readFile(file, 'utf8')).getIn(['hosts', host, 'known_hosts_file'])).toBe(knownHosts);
    const tested = ok(await call(session, 'docker_hosts', { action: 'test_connection', host_id: host }));
    expect(tested).toMatchObject({ hosts: [{ host_id: host, ssh: { ok: true }, docker: { ok: true } }], host_errors: [] });
  });

  it('another host declined: hosts.yml and known_hosts stay byte for byte as they were', async () => {
    const before = await filesNow();
    session.answer = onHostKey({ action: 'decline' });
    expect(refusal(await call(session, 'docker_hosts', addArgs(`${host}2`)))).toMatch(/^bad-input: not confirmed \(the user declined\): trust the host key/);
    expect(await filesNow()).toEqual(before);
  });

  it('a host that refuses the login is not added though its key was trusted: nothing is written, and the answer says the login is missing', async () => {
    const before = await filesNow();
    const strangerKey = path.join(workDir, 'stranger', 'not-authorized');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', strangerKey]);
    session.answer = yes;
    const refused = await call(session, 'docker_hosts', addArgs(`${host}3`, { ssh_key_path: strangerKey }));
    expect(refusal(refused)).toMatch(new RegExp(`^unreachable: ${host}3 was not added, and nothing was written: host ${host}3 refused our SSH key`));
    expect(refused.structuredContent).toMatchObject({ missing: 'login' });
    expect(await filesNow()).toEqual(before);
  });
});

describe("the audit trail of this file's calls", () => {
  it('holds a record of every call, with what it acted on and who confirmed, and none of the secrets sent', async () => {
    const records = await readAudit();
    expect(records).toHaveLength(toolCalls);
    expect(records).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ tool: 'docker_compose', action: 'deploy', host_id: 'alpha', stack_name: stack, outcome: 'ok', confirmed_by: 'none' }),
        expect.objectContaining({ tool: 'docker_hosts', action: 'add', host_id: `${prefix}-new`, outcome: 'declined', confirmed_by: 'none' }),
        expect.objectContaining({ tool: 'docker_hosts', action: 'add', host_id: `${prefix}-new`, outcome: 'cancelled', confirmed_by: 'none' }),
        expect.objectContaining({ tool: 'docker_hosts', action: 'add', host_id: `${prefix}-new`, outcome: 'ok', confirmed_by: 'user' }),
      ]),
    );
    const text = await readFile(path.join(workDir, 'audit.jsonl'), 'utf8');
    for (const canary of Object.values(CANARIES)) expect(text).not.toContain(canary);
  });
});

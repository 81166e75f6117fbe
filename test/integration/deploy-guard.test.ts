/**
 * A deploy asked for by a model or a user knows what it does: over an
 * existing stack it asks first and keeps the old compose file and .env; a
 * file that reaches outside the stack's data is confirmed with exactly those
 * lines (the same in a dry run and in the CLI); a project name other than
 * the folder's is refused. alpha runs compose v1, beta v2. Names start with `b-dg`.
 */
import { execa } from 'execa';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { McpContext } from '../../src/mcp/context.js';
import { createMcpServer } from '../../src/mcp/server.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { CLI_BIN, runCli } from './cli.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

const prefix = `b-dg${process.pid}`;
const hosts = {} as Record<'alpha' | 'beta', DockerHost>;
let context: McpContext;

interface Session {
  readonly client: Client;
  answer: ElicitResult;
  readonly questions: string[];
}

async function connect(elicitation: boolean): Promise<Session> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await createMcpServer(context, 'test').connect(serverSide);
  const client = new Client({ name: 'deploy-guard', version: '1' }, { capabilities: elicitation ? { elicitation: {} } : {} });
  const session: Session = { client, answer: { action: 'decline' }, questions: [] };
  if (elicitation) {
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      session.questions.push(request.params.message);
      return session.answer;
    });
  }
  await client.connect(clientSide);
  return session;
}

const deploy = async (session: Session, args: Record<string, unknown>) => (await session.client.callTool({ name: 'docker_compose', arguments: { action: 'deploy', ...args } })) as CallToolResult;
const textOf = (result: CallToolResult) => (result.content[0] as { text: string }).text;
function ok(result: CallToolResult): Record<string, unknown> {
  expect(result.isError, textOf(result)).toBeFalsy();
  // The action's keys are at the top of the answer, beside success.
  return result.structuredContent as Record<string, unknown>;
}
const sh = async (id: 'alpha' | 'beta', script: string, ...args: string[]) => (await hosts[id].transport.exec(command(['sh', '-c', script, 'sh', ...args]), { okExitCodes: [0, 1] })).stdout;
const exists = async (id: 'alpha' | 'beta', file: string) => (await sh(id, '[ -e "$1" ] && echo yes || echo no', file)).trim() === 'yes';

const service = (marker: string) => `services:\n  web:\n    image: local/busybox:test\n    command: ["sh", "-c", "echo ${marker}; exec sleep 3600"]\n    network_mode: none\n    init: true\n`;

let plain: Session;
let asking: Session;

beforeAll(async () => {
  for (const id of ['alpha', 'beta'] as const) {
    const host = await testbedHost(id);
    hosts[id] = { host, transport: new SshTransport(host) };
  }
  context = new McpContext(testbedHostsFile());
  plain = await connect(false);
  asking = await connect(true);
});

afterAll(async () => {
  await plain.client.close();
  await asking.client.close();
  for (const id of ['alpha', 'beta'] as const) {
    await cleanUpPrefix(hosts[id], id, prefix);
    await hosts[id].transport.close();
  }
  await context.close();
});

describe('deploying over an existing stack', () => {
  const stack = `${prefix}-app`;
  const dir = `/srv/alpha/compose/${stack}`;

  it('asks first, and keeps the previous compose file and .env as .bak (0600)', async () => {
    expect(ok(await deploy(plain, { host_id: 'alpha', stack_name: stack, compose_content: service('one'), environment: { SECRET: 'first-secret' } }))).toMatchObject({ created: true, backups: [] });
    const second = { host_id: 'alpha', stack_name: stack, compose_content: service('two'), environment: { SECRET: 'second-secret' } };
    const question = `deploying project ${stack} on alpha replaces ${dir}/docker-compose.yml and ${dir}/.env (the old ones kept as .bak)`;
    // A client that cannot ask its user: refused until the call says confirm: true.
    expect(textOf(await deploy(plain, second))).toBe(`bad-input: ${question}: run with dry_run to see it, then repeat with confirm: true`);
    // A client that can: its user is asked, whatever the call says.
    expect(textOf(await deploy(asking, { ...second, confirm: true }))).toBe(`bad-input: not confirmed (the user declined): ${question}; nothing was changed`);
    expect(asking.questions).toEqual([`${question}. Go ahead?`]);
    expect(await sh('alpha', 'cat "$1/.env" "$1/docker-compose.yml"', dir)).toBe(`SECRET='first-secret'\n${service('one')}`);
    expect(await exists('alpha', `${dir}/.env.bak`)).toBe(false);

    asking.answer = { action: 'accept', content: { confirm: true } };
    expect(ok(await deploy(asking, second))).toMatchObject({ created: false, backups: [`${dir}/docker-compose.yml.bak`, `${dir}/.env.bak`] });
    expect(await sh('alpha', 'cat "$1/.env" "$1/docker-compose.yml"', dir)).toBe(`SECRET='second-secret'\n${service('two')}`);
    expect(await sh('alpha', 'cat "$1/.env.bak" "$1/docker-compose.yml.bak"', dir)).toBe(`SECRET='first-secret'\n${service('one')}`);
    expect(await sh('alpha', 'stat -c %a "$1/.env.bak" "$1/docker-compose.yml.bak"', dir)).toBe('600\n600\n');
  });

  it('the CLI asks too: without a terminal it needs --yes, and changes nothing without it', async () => {
    const refused = await runCli(['stacks', 'deploy', 'alpha', stack, '-f', '-'], {}, service('three'));
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`replaces ${dir}/docker-compose.yml \\(the old one kept as \\.bak\\); nothing was changed: add --yes`));
    expect(await sh('alpha', 'cat "$1/docker-compose.yml"', dir)).toBe(service('two'));
    const done = await runCli(['stacks', 'deploy', 'alpha', stack, '-f', '-', '--yes', '--json'], {}, service('three'));
    expect(done.exitCode, done.stderr).toBe(0);
    expect(await sh('alpha', 'cat "$1/docker-compose.yml.bak" "$1/docker-compose.yml"', dir)).toBe(`${service('two')}${service('three')}`);
  });
});

describe('a compose file that reaches outside its stack', () => {
  const stack = `${prefix}-root`;
  const risky = `services:\n  web:\n    image: local/busybox:test\n    command: ["sleep", "60"]\n    network_mode: none\n    privileged: true\n    cap_add: [SYS_ADMIN]\n    volumes:\n      - \${HOST_ROOT}:/host\n      - /var/run/docker.sock:/var/run/docker.sock\n      - /srv/alpha/appdata/${stack}:/data\n`;
  const lines = ['web: bind / → /host (outside appdata and the stack folder)', 'web: bind /var/run/docker.sock → /var/run/docker.sock (the Docker socket: root on the host)', 'web: privileged: true', 'web: cap_add: SYS_ADMIN'];

  it('is confirmed with exactly those lines, .env variables resolved as compose resolves them; dry_run shows the same and writes nothing', async () => {
    const args = { host_id: 'alpha', stack_name: stack, compose_content: risky, environment: { HOST_ROOT: '/' } };
    const preview = ok(await deploy(plain, { ...args, dry_run: true }));
    expect(preview).toMatchObject({ dry_run: true, project: stack, risky: lines, replaces: [], question: { details: lines } });
    asking.questions.length = 0;
    asking.answer = { action: 'decline' };
    expect(textOf(await deploy(asking, args))).toMatch(/^bad-input: not confirmed \(the user declined\): deploying project .*; its compose file reaches outside the stack's own data; nothing was changed$/);
    expect(asking.questions).toEqual([`${(preview.question as { effect: string }).effect}:\n${lines.map((l) => `  ${l}`).join('\n')}\nGo ahead?`]);
    expect(await exists('alpha', `/srv/alpha/compose/${stack}`)).toBe(false);
  });

  it('the CLI --dry-run shows the same summary as its prompt, and without --yes deploys nothing', async () => {
    const literal = risky.replace('${HOST_ROOT}', '/');
    const dry = await runCli(['stacks', 'deploy', 'alpha', stack, '-f', '-', '--dry-run'], {}, literal);
    expect(dry.exitCode, dry.stderr).toBe(0);
    expect(`${dry.stdout}\n`, 'execa drops the last newline').toBe(`would ask: deploying project ${stack} on alpha writes /srv/alpha/compose/${stack}/docker-compose.yml; its compose file reaches outside the stack's own data:\n${lines.map((l) => `  ${l}\n`).join('')}`);
    const refused = await runCli(['stacks', 'deploy', 'alpha', stack, '-f', '-'], {}, literal);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(lines.map((l) => `  ${l}\n`).join(''));
    expect(await exists('alpha', `/srv/alpha/compose/${stack}`)).toBe(false);
  });
});

describe('the CLI at a terminal', () => {
  const stack = `${prefix}-tty`;
  const privileged = `services:\n  web:\n    image: local/busybox:test\n    command: ["sleep", "60"]\n    network_mode: none\n    privileged: true\n`;
  let file: string;

  beforeAll(async () => {
    file = path.join(await mkdtemp(path.join(os.tmpdir(), 'b-tty-')), 'compose.yml');
    await writeFile(file, privileged);
  });

  afterAll(() => rm(path.dirname(file), { recursive: true, force: true }));

  // script(1) gives the CLI a terminal, as a user's shell would.
  // --no-start: the testbed's nested engine cannot start a privileged container.
  const atTerminal = (answer: string) =>
    execa('script', ['-qec', `${process.execPath} ${CLI_BIN} stacks deploy alpha ${stack} -f ${file} --no-start`, '/dev/null'], {
      input: answer,
      reject: false,
      env: { DOCKER_MCP_CONFIG: testbedHostsFile() },
    });

  it('asks with the same lines, and only y goes ahead', async () => {
    const declined = await atTerminal('n\n');
    expect(declined.exitCode).toBe(2);
    expect(declined.stdout).toContain(`deploying project ${stack} on alpha writes /srv/alpha/compose/${stack}/docker-compose.yml; its compose file reaches outside the stack's own data:\r\n  web: privileged: true\r\nGo ahead? [y/N]`);
    expect(declined.stdout).toMatch(/not confirmed: .*; nothing was changed/);
    expect(await exists('alpha', `/srv/alpha/compose/${stack}`)).toBe(false);
    const accepted = await atTerminal('y\n');
    expect(accepted.exitCode, accepted.stdout).toBe(0);
    expect(await sh('alpha', 'cat "$1"', `/srv/alpha/compose/${stack}/docker-compose.yml`)).toBe(privileged);
  });
});

describe('the project name (compose v2 on beta)', () => {
  const victim = `${prefix}-victim`;

  it("refuses a name: or COMPOSE_PROJECT_NAME other than the folder's, from the call or from the folder's .env", async () => {
    const named = `name: ${victim}\n${service('evil')}`;
    expect(textOf(await deploy(plain, { host_id: 'beta', stack_name: `${prefix}-evil`, compose_content: named, confirm: true }))).toMatch(new RegExp(`name: says project "${victim}", not the stack's folder name "${prefix}-evil"`));
    expect(textOf(await deploy(plain, { host_id: 'beta', stack_name: `${prefix}-evil`, compose_content: service('evil'), environment: { COMPOSE_PROJECT_NAME: victim }, confirm: true }))).toMatch(/COMPOSE_PROJECT_NAME says project/);
    expect(await exists('beta', `/srv/beta/compose/${prefix}-evil`)).toBe(false);
    // A folder whose .env already names another project: compose v2 reads it there.
    await sh('beta', 'mkdir -p "$1" && printf "COMPOSE_PROJECT_NAME=%s\\n" "$2" > "$1/.env"', `/srv/beta/compose/${prefix}-envname`, victim);
    expect(textOf(await deploy(plain, { host_id: 'beta', stack_name: `${prefix}-envname`, compose_content: service('evil'), confirm: true }))).toMatch(new RegExp(`compose resolves .* says project "${victim}"`));
    expect(await exists('beta', `/srv/beta/compose/${prefix}-envname/docker-compose.yml`)).toBe(false);
  });

  it("refuses a stack name that another folder's stack runs as", async () => {
    const other = `/srv/beta/compose/${prefix}-other`;
    await sh('beta', 'mkdir -p "$1" && printf "%s" "$2" > "$1/docker-compose.yml"', other, `name: ${prefix}-taken\n${service('other')}`);
    expect(textOf(await deploy(plain, { host_id: 'beta', stack_name: `${prefix}-taken`, compose_content: service('mine'), confirm: true }))).toMatch(
      new RegExp(`invalid stack "${prefix}-taken": is already the project of ${other} on beta`),
    );
    expect(await exists('beta', `/srv/beta/compose/${prefix}-taken`)).toBe(false);
  });
});

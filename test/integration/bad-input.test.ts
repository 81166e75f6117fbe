/**
 * Hostile input through the CLI and the MCP tools: names full of shell
 * metacharacters, quotes, newlines, "..", very long and ill-formed strings,
 * and hostile compose files. Each is refused with a clear error or handled
 * safely, and a canary file that any injected command would create never
 * appears.
 */
import { execa } from 'execa';
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DockerHost } from '../../src/docker/docker-host.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { cleanUpPrefix } from './stack-fixture.js';
import { testbedHost } from './testbed.js';

const builtBin = fileURLToPath(new URL('../../dist/src/cli/bin.js', import.meta.url));
const prefix = `bad${process.pid}`;
const canary = `/tmp/docker-mcp-canary-${process.pid}`;
let workDir: string;
let configFile: string;
let alpha: DockerHost;

/** Strings an attacker (or a confused model) might send, many carrying a command that would create the canary. */
const hostile = fc.oneof(
  fc.constantFrom(
    `x;touch ${canary}`,
    `$(touch ${canary})`,
    `\`touch ${canary}\``,
    `x|touch ${canary}`,
    `x&&touch ${canary}`,
    `x\ntouch ${canary}`,
    `x\ttouch ${canary}`,
    `-oProxyCommand=touch ${canary}`,
    `'; touch ${canary}; '`,
    `"; touch ${canary}; "`,
    '../../../etc/passwd',
    '..',
    '-rf',
    '--help',
    'a'.repeat(300),
    '\uD800broken-utf16',
    'name with spaces',
    'UPPER',
    '',
  ),
  fc.tuple(fc.string(), fc.constantFrom(';', '$(', '`', '|', '&', '\n', "'", '"', '>', '<', '*', '?', '\\', ' ')).map(([s, meta]) => `${s}${meta}touch ${canary}`),
);

async function cli(args: string[]) {
  return execa(process.execPath, [builtBin, ...args], { env: { DOCKER_MCP_CONFIG: configFile, DOCKER_MCP_STATE_DIR: workDir }, reject: false, timeout: 60_000 });
}

async function canaryAnywhere(): Promise<boolean> {
  const remote = await alpha.transport.exec(command(['test', '-e', canary]), { okExitCodes: [0, 1] });
  return existsSync(canary) || remote.exitCode === 0;
}

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'docker-mcp-bad-input-'));
  configFile = path.join(workDir, 'hosts.yml');
  await copyFile(testbedHostsFile(), configFile);
  const host = await testbedHost('alpha');
  alpha = { host, transport: new SshTransport(host) };
});

afterAll(async () => {
  await cleanUpPrefix(alpha, 'alpha', prefix);
  await alpha.transport.close();
  await rm(workDir, { recursive: true, force: true });
  await rm(canary, { force: true });
});

describe('hostile names through the CLI', () => {
  it('refuses them as bad input (exit 2) in every position, and runs nothing', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (value) => {
        // After "--", so that a value like --help reaches the name checks instead of commander's options.
        const attempts = [
          ['stacks', 'up', '--', 'alpha', value],
          ['containers', 'start', '--', 'alpha', value],
          ['migrate', '--dry-run', '--', 'alpha', 'beta', value],
          ['stacks', 'view', '--', value, 'web'],
        ];
        // Host ids may have capitals; a value that is a fine host id is no attack on `hosts add`.
        if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(value)) attempts.push(['hosts', 'add', '--hostname', '127.0.0.99', '--user', 'root', '--', value]);
        for (const args of attempts) {
          const run = await cli(args);
          expect(run.exitCode, `${JSON.stringify(args)}: ${run.stderr}`).toBe(2);
          expect(run.stderr).toMatch(/invalid|unknown host|no stack|no container|unknown option|error:/);
        }
      }),
      { numRuns: 8 },
    );
    expect(await canaryAnywhere()).toBe(false);
  });
});

describe('hostile input through the MCP tools', () => {
  let client: Client;

  beforeAll(async () => {
    client = new Client({ name: 'bad-input', version: '1' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [builtBin, 'serve'], env: { PATH: process.env.PATH ?? '', DOCKER_MCP_CONFIG: configFile, DOCKER_MCP_STATE_DIR: workDir }, stderr: 'pipe' }));
  });

  afterAll(async () => {
    await client.close();
  });

  const call = async (name: string, args: Record<string, unknown>) => (await client.callTool({ name, arguments: args })) as CallToolResult;

  it('refuses hostile names in every tool, and the server keeps answering', async () => {
    await fc.assert(
      fc.asyncProperty(hostile, async (value) => {
        const attempts: [string, Record<string, unknown>][] = [
          ['docker_compose', { action: 'up', host_id: 'alpha', stack_name: value }],
          ['docker_compose', { action: 'view', host_id: value, stack_name: 'web' }],
          ['docker_compose', { action: 'migrate', host_id: 'alpha', target_host_id: value, stack_name: 'web', dry_run: true }],
          ['docker_container', { action: 'logs', host_id: 'alpha', container_id: value }],
          ['docker_container', { action: 'pull', host_id: 'alpha', image_name: value }],
        ];
        // An empty host_id is the Python tool's "not given": discover then means every host (checked below).
        if (value !== '') attempts.push(['docker_hosts', { action: 'discover', host_id: value }]);
        // A hostile variable name (the benign-looking ones in the list are valid names, and fine).
        if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(value)) {
          attempts.push(['docker_compose', { action: 'deploy', host_id: 'alpha', stack_name: `${prefix}-env`, compose_content: 'services:\n  web:\n    image: local/busybox:test\n', environment: { [value]: 'x' } }]);
        }
        for (const [tool, args] of attempts) {
          const result = await call(tool, args);
          expect(result.isError, `${tool} ${JSON.stringify(args)}`).toBe(true);
          expect((result.content[0] as { text: string }).text).toMatch(/invalid|Input validation error|unknown host|no stack|no container/);
        }
      }),
      { numRuns: 25 },
    );
    expect(await canaryAnywhere()).toBe(false);
    expect((await call('docker_hosts', { action: 'list' })).isError).toBeFalsy();
    const discoverEveryHost = await call('docker_hosts', { action: 'discover', host_id: '' });
    expect(discoverEveryHost.isError, JSON.stringify(discoverEveryHost.content)).toBeFalsy();
  });

  it('docker_hosts refuses control characters in every field, dashes and whitespace in ssh_host/ssh_user, and leaves hosts.yml as it was', async () => {
    const before = await readFile(configFile, 'utf8');
    const control = fc.constantFrom('\n', '\t', '\r', '\0', '\u001b', '\u007f');
    const smuggled = fc.tuple(fc.string({ maxLength: 8 }), control, fc.string({ maxLength: 8 })).map(([a, c, b]) => `${a}${c}Match exec "touch ${canary}"${c}Host ${b}`);
    const notAnSshWord = fc.oneof(smuggled, fc.constantFrom(`-oProxyCommand=touch ${canary}`, '-lroot', 'a b', ' x', `$(touch ${canary})x y`));
    const field = fc.constantFrom('description', 'ssh_key_path', 'compose_path', 'zfs_dataset', 'tags');
    await fc.assert(
      fc.asyncProperty(smuggled, field, notAnSshWord, fc.constantFrom('ssh_host', 'ssh_user'), async (value, name, sshWord, sshField) => {
        const base = { action: 'add', host_id: `${prefix}-h`, ssh_host: '127.0.0.99', ssh_user: 'root' };
        for (const args of [{ ...base, [name]: name === 'tags' ? ['ok', value] : value }, { ...base, [sshField]: sshWord }]) {
          const result = await call('docker_hosts', args);
          expect(result.isError, JSON.stringify(args)).toBe(true);
          expect((result.content[0] as { text: string }).text).toMatch(/invalid/i);
        }
        const edit = await call('docker_hosts', { action: 'edit', host_id: 'alpha', description: value });
        expect(edit.isError).toBe(true);
      }),
      { numRuns: 20 },
    );
    expect(await readFile(configFile, 'utf8')).toBe(before);
    expect(await canaryAnywhere()).toBe(false);
  });

  it('import_ssh over MCP reads no file but ~/.ssh/config: not hosts.yml, not a file the client names', async () => {
    for (const file of [configFile, `${configFile}.bak`, '/etc/passwd', `/tmp/$(touch ${canary})`, `-F${configFile}`]) {
      const result = await call('docker_hosts', { action: 'import_ssh', ssh_config_path: file });
      expect(result.isError, file).toBe(true);
      expect((result.content[0] as { text: string }).text).toMatch(/only ~\/\.ssh\/config/);
    }
    expect(await canaryAnywhere()).toBe(false);
  });

  it('refuses hostile compose files before they reach the host: alias bomb, huge, no services, injected env value', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (const [i, letter] of [...'bcdefghi'].entries()) levels.push(`${letter}: &${letter} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(', ')}]`);
    const bomb = `x-bomb:\n  ${levels.join('\n  ')}\nservices:\n  web:\n    image: local/busybox:test\n`;
    const stack = `${prefix}-hostile`;
    const deploy = (compose_content: string, environment?: Record<string, string>) =>
      call('docker_compose', { action: 'deploy', host_id: 'alpha', stack_name: stack, compose_content, ...(environment ? { environment } : {}) });
    expect((await deploy(bomb)).content[0]).toMatchObject({ text: expect.stringMatching(/cannot be expanded/) });
    expect((await deploy(`services:\n  web:\n    image: x\n#${'y'.repeat(1_100_000)}\n`)).content[0]).toMatchObject({ text: expect.stringMatching(/too big|larger than/i) });
    expect((await deploy('just: text\n')).content[0]).toMatchObject({ text: expect.stringMatching(/no "services" mapping/) });
    expect((await deploy('services:\n  web:\n    image: local/busybox:test\n', { A: `x\ntouch ${canary}` })).content[0]).toMatchObject({ text: expect.stringMatching(/single line/) });
    const folder = await alpha.transport.exec(command(['test', '-e', `/srv/alpha/compose/${stack}`]), { okExitCodes: [0, 1] });
    expect(folder.exitCode).toBe(1);
    expect(await canaryAnywhere()).toBe(false);
  });

  it('a stack binding / and paths outside appdata is deployed only when confirmed, naming those lines, but a migration refuses to leave that data behind', async () => {
    const stack = `${prefix}-root`;
    const compose = `services:\n  web:\n    image: local/busybox:test\n    command: ["sleep", "60"]\n    network_mode: none\n    init: true\n    volumes:\n      - /:/host:ro\n      - /srv/alpha/appdata/../../../etc:/etc-outside:ro\n`;
    const unconfirmed = await call('docker_compose', { action: 'deploy', host_id: 'alpha', stack_name: stack, compose_content: compose });
    expect((unconfirmed.content[0] as { text: string }).text).toBe(
      `bad-input: deploying project ${stack} on alpha writes /srv/alpha/compose/${stack}/docker-compose.yml; its compose file reaches outside the stack's own data:\n` +
        '  web: bind / → /host, read-only (outside appdata and the stack folder)\n  web: bind /etc → /etc-outside, read-only (outside appdata and the stack folder)\n' +
        'run with dry_run to see it, then repeat with confirm: true',
    );
    expect((await alpha.transport.exec(command(['test', '-e', `/srv/alpha/compose/${stack}`]), { okExitCodes: [0, 1] })).exitCode, 'nothing written').toBe(1);
    const deployed = await call('docker_compose', { action: 'deploy', host_id: 'alpha', stack_name: stack, compose_content: compose, confirm: true });
    expect(deployed.isError, JSON.stringify(deployed.content)).toBeFalsy();
    const plan = await call('docker_compose', { action: 'migrate', host_id: 'alpha', target_host_id: 'beta', stack_name: stack, dry_run: true });
    const planned = plan.structuredContent as { not_moved: { source: string; reason: string }[]; host_provided: { source: string; what: string }[] };
    // "/" read-only is the host's own view (what node-exporter or cadvisor mount): not data. /etc is input the stack was given: refused.
    expect(planned.host_provided.map((h) => [h.source, h.what])).toEqual([['/', "the host's root filesystem"]]);
    expect(planned.not_moved.map((m) => m.source)).toEqual(['/etc']);
    expect(planned.not_moved[0]?.reason).toMatch(/^a read-only bind outside appdata_path and the stack folder/);
    const refused = await call('docker_compose', { action: 'migrate', host_id: 'alpha', target_host_id: 'beta', stack_name: stack, confirm: true });
    expect(refused.isError).toBe(true);
    expect((refused.content[0] as { text: string }).text).toMatch(/would not move with it/);
    const running = await alpha.transport.exec(command(['docker', 'ps', '--filter', `label=com.docker.compose.project=${stack}`, '--format', '{{.State}}']));
    expect(running.stdout.trim()).toBe('running');
  });
});

/**
 * The README's MCP client examples, run as written: every `npx` line of its
 * "As an MCP server" section (the servers, and the MCP Inspector's CLI over
 * stdio and Streamable HTTP) and every `mcpServers` configuration (spawned as
 * a client spawns it; the HTTP one reached with its url and headers). They
 * are read out of the README, so a changed example is a changed test.
 *
 * They run in a folder where the packed package and the pinned Inspector are
 * installed, with npm offline: `npx -y stackferry` and `npx -y
 * @modelcontextprotocol/inspector@…` run those, never the registry's. HOME is
 * the test's: ~/.config/docker-mcp/hosts.yml holds the testbed's container
 * hosts, ~/fleet/hosts.yml gamma alone. Placeholders are filled in: /home/me
 * is that HOME, YOUR_TOKEN a token the server is started with.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testbedHostsFile } from '../../src/testbed/layout.js';

const sourceTree = fileURLToPath(new URL('../..', import.meta.url));
const manifest = JSON.parse(await readFile(path.join(sourceTree, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
const INSPECTOR = '@modelcontextprotocol/inspector';
const examples = readmeExamples(await readFile(path.join(sourceTree, 'README.md'), 'utf8'));
const TOKEN = `readme-token-${process.pid}-5c0ffee`;

let workDir: string;
let project: string;
let home: string;
const servers: ResultPromise[] = [];

/** What the README's MCP section shows a user to run. */
interface ReadmeExamples {
  readonly serveLines: string[];
  readonly inspectorLines: string[];
  readonly otherLines: string[];
  readonly configs: { readonly command?: string; readonly args?: string[]; readonly env?: Record<string, string>; readonly type?: string; readonly url?: string; readonly headers?: Record<string, string> }[];
}

function readmeExamples(readme: string): ReadmeExamples {
  const start = readme.indexOf('### As an MCP server');
  const section = readme.slice(start, readme.indexOf('\n### ', start + 1));
  const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map(([, language, body]) => ({ language, body: body! }));
  // A comment after the command is for the reader: "   # stdio: what an MCP client spawns".
  const lines = blocks.filter((b) => b.language === 'sh').flatMap((b) => b.body.split('\n').map((line) => line.replace(/\s+#\s.*$/, '').trim()).filter(Boolean));
  return {
    serveLines: lines.filter((line) => line.startsWith('npx -y stackferry serve')),
    inspectorLines: lines.filter((line) => line.startsWith(`npx -y ${INSPECTOR}@`)),
    otherLines: lines.filter((line) => !line.startsWith('npx -y stackferry serve') && !line.startsWith(`npx -y ${INSPECTOR}@`)),
    configs: blocks.filter((b) => b.language === 'json').map((b) => (JSON.parse(b.body) as { mcpServers: Record<string, ReadmeExamples['configs'][number]> }).mcpServers['docker-mcp']!),
  };
}

/** A serve line this test runs: stdio, or HTTP on the loopback default. */
const runHere = (line: string) => !/--host\s/.test(line);

/** `[--port 8765]` is an option shown as optional: run with it. */
const asRun = (line: string) => line.replace(/\[([^\]]+)\]/g, '$1');

function environment(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    // The packages are installed here: npm must not reach for the registry's.
    npm_config_offline: 'true',
    npm_config_cache: path.join(os.homedir(), '.npm'),
    npm_config_update_notifier: 'false',
    DOCKER_MCP_STATE_DIR: path.join(workDir, 'state'),
    ...extra,
  };
}

/** Run a README line with sh in the install folder; its JSON output. */
async function runLine(line: string): Promise<Record<string, unknown>> {
  const run = await execa('sh', ['-c', asRun(line)], { cwd: project, env: environment(), extendEnv: false, reject: false, timeout: 120_000 });
  expect(run.exitCode, `${line}\n${run.stderr}`).toBe(0);
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

/** A README `serve --http` line, started in its own process group (sh, npx, node): stopped by that group's id. */
async function startHttpLine(line: string, extra: Record<string, string> = {}): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = execa('sh', ['-c', asRun(line)], { cwd: project, env: environment(extra), extendEnv: false, reject: false, detached: true });
  servers.push(server);
  const url = await new Promise<string>((resolve, reject) => {
    let seen = '';
    server.stderr?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(seen);
      if (match?.[1]) resolve(match[1]);
    });
    void server.then((r) => reject(new Error(`${line} exited ${r.exitCode}: ${seen}`)));
  });
  return { url, stop: () => stopGroup(server) };
}

async function stopGroup(server: ResultPromise): Promise<void> {
  if (server.exitCode === null && server.pid !== undefined) {
    try {
      process.kill(-server.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await server;
}

async function connected(transport: StdioClientTransport | StreamableHTTPClientTransport): Promise<Client> {
  const client = new Client({ name: 'readme-clients', version: '1' });
  await client.connect(transport);
  return client;
}

async function testConnection(client: Client): Promise<Record<string, unknown>> {
  const result = (await client.callTool({ name: 'docker_hosts_read', arguments: { action: 'test_connection' } })) as CallToolResult;
  expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
  return result.structuredContent as Record<string, unknown>;
}

const everyHostAnswers = (hostIds: string[]) => ({ hosts: hostIds.map((id) => ({ host_id: id, ssh: { ok: true }, docker: { ok: true } })), host_errors: [] });

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'mk-readme-clients-'));
  home = path.join(workDir, 'home');
  project = path.join(workDir, 'project');
  const testbed = parseDocument(await readFile(testbedHostsFile(), 'utf8'));
  for (const guest of ['delta', 'epsilon']) testbed.deleteIn(['hosts', guest]);
  await mkdir(path.join(home, '.config', 'docker-mcp'), { recursive: true });
  await writeFile(path.join(home, '.config', 'docker-mcp', 'hosts.yml'), testbed.toString());
  for (const other of ['alpha', 'beta']) testbed.deleteIn(['hosts', other]);
  await mkdir(path.join(home, 'fleet'));
  await writeFile(path.join(home, 'fleet', 'hosts.yml'), testbed.toString());
  // dist/ is current (global-setup builds it): pack it as it is.
  const packed = await execa('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', workDir], { cwd: sourceTree });
  const tarball = path.join(workDir, packed.stdout.trim().split('\n').at(-1)!);
  await mkdir(project);
  await writeFile(path.join(project, 'package.json'), '{ "name": "readme-clients", "private": true }\n');
  await execa('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel', 'error', tarball, `${INSPECTOR}@${manifest.devDependencies[INSPECTOR]}`], { cwd: project });
}, 300_000);

afterAll(async () => {
  await Promise.all(servers.map(stopGroup));
  await rm(workDir, { recursive: true, force: true });
});

describe("the README's MCP client examples, run as written", () => {
  it('are the lines and configurations this test runs, with the Inspector at the version this repository pins', () => {
    // The one other command there measures answers from a clone (bench/); it is no client example.
    expect(examples.otherLines.filter((line) => !line.startsWith('node --import tsx bench/')), 'a line of the MCP section no test runs').toEqual([]);
    // Bound to every interface: tests on this shared machine use loopback only (mcp.test.ts starts a server off loopback with --token-file).
    expect(examples.serveLines.filter((line) => !runHere(line))).toEqual(['npx -y stackferry serve --http --host 0.0.0.0 --allowed-host server.lan --token-file ~/.config/docker-mcp/token']);
    expect(examples.serveLines.filter(runHere).length).toBeGreaterThanOrEqual(3);
    expect(examples.inspectorLines.length).toBeGreaterThanOrEqual(2);
    for (const line of examples.inspectorLines) expect(line, 'the Inspector the README names is the one pinned in package.json').toContain(`${INSPECTOR}@${manifest.devDependencies[INSPECTOR]} --cli `);
    expect(examples.configs.map((c) => c.type ?? 'stdio')).toEqual(['stdio', 'http']);
  });

  it('the stdio configuration, spawned as a client spawns it, serves the hosts of the file its env names', async () => {
    const config = examples.configs.find((c) => c.command !== undefined)!;
    const env = Object.fromEntries(Object.entries(config.env ?? {}).map(([key, value]) => [key, value.replace('/home/me', home)]));
    const client = await connected(new StdioClientTransport({ command: config.command!, args: config.args!, env: environment(env), cwd: project, stderr: 'pipe' }));
    try {
      expect(await testConnection(client)).toMatchObject(everyHostAnswers(['alpha', 'beta', 'gamma']));
    } finally {
      await client.close();
    }
  });

  it('each stdio serve line answers a client: the full tools, or with --read-only only the reading ones', async () => {
    const stdioLines = examples.serveLines.filter((line) => !line.includes('--http'));
    expect(stdioLines.every(runHere)).toBe(true);
    expect(stdioLines.length).toBeGreaterThanOrEqual(2);
    for (const line of stdioLines) {
      const client = await connected(new StdioClientTransport({ command: 'sh', args: ['-c', asRun(line)], env: environment(), cwd: project, stderr: 'pipe' }));
      try {
        const { tools } = await client.listTools();
        const readOnly = line.includes('--read-only');
        expect(tools.map((t) => t.name).sort(), line).toEqual(readOnly ? ['docker_compose', 'docker_container', 'docker_hosts', 'docker_standby'] : ['docker_compose', 'docker_compose_read', 'docker_container', 'docker_container_read', 'docker_hosts', 'docker_hosts_read', 'docker_standby', 'docker_standby_read']);
        if (readOnly) for (const tool of tools) expect(tool.annotations?.readOnlyHint, `${line}: ${tool.name}`).toBe(true);
      } finally {
        await client.close();
      }
    }
  });

  it("the Inspector's CLI over stdio lists the tools, and calls one against the hosts.yml that -e names", async () => {
    const stdio = examples.inspectorLines.filter((line) => !line.includes('http://'));
    expect(stdio.length).toBeGreaterThanOrEqual(2);
    for (const line of stdio) {
      const answer = await runLine(line);
      if (line.includes('--method tools/list')) {
        expect((answer.tools as { name: string }[]).map((t) => t.name), line).toContain('docker_hosts');
        continue;
      }
      expect(answer.isError ?? false, line).toBe(false);
      const hosts = line.includes('-e DOCKER_MCP_CONFIG=') ? ['gamma'] : ['alpha', 'beta', 'gamma'];
      expect(answer.structuredContent, line).toMatchObject({ success: true, ...(line.includes('test_connection') ? everyHostAnswers(hosts) : {}) });
    }
  });

  it("the serve --http line serves the Inspector's CLI over Streamable HTTP on 127.0.0.1:8765", async () => {
    const httpLine = examples.serveLines.find((line) => line.includes('--http') && runHere(line))!;
    const server = await startHttpLine(httpLine);
    try {
      expect(server.url).toBe('http://127.0.0.1:8765/mcp');
      const inspectorLines = examples.inspectorLines.filter((line) => line.includes(server.url));
      expect(inspectorLines.length).toBeGreaterThanOrEqual(1);
      for (const line of inspectorLines) expect((await runLine(line)).structuredContent, line).toMatchObject({ success: true, host_errors: [] });
    } finally {
      await server.stop();
    }
  });

  it('the HTTP configuration reaches that server with its url and bearer token, which the server then requires', async () => {
    const httpLine = examples.serveLines.find((line) => line.includes('--http') && runHere(line))!;
    const config = examples.configs.find((c) => c.type === 'http')!;
    const server = await startHttpLine(httpLine, { DOCKER_MCP_TOKEN: TOKEN });
    try {
      expect(config.url).toBe(server.url);
      const headers = Object.fromEntries(Object.entries(config.headers ?? {}).map(([key, value]) => [key, value.replace('YOUR_TOKEN', TOKEN)]));
      const client = await connected(new StreamableHTTPClientTransport(new URL(config.url!), { requestInit: { headers } }));
      try {
        expect(await testConnection(client)).toMatchObject(everyHostAnswers(['alpha', 'beta', 'gamma']));
      } finally {
        await client.close();
      }
      const withoutToken = await fetch(config.url!, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{}' });
      expect(withoutToken.status).toBe(401);
    } finally {
      await server.stop();
    }
  });
});

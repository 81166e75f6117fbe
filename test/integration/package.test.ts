/**
 * The package as a user gets it: `npm pack` of this tree, installed from the
 * tarball into an empty prefix (dependencies from the npm registry), run from
 * outside the source tree: `docker-mcp --help`, and `docker-mcp serve`
 * driven by the SDK's client over stdio against a testbed host.
 */
import { execa } from 'execa';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testbedHostsFile } from '../../src/testbed/layout.js';

const sourceTree = fileURLToPath(new URL('../..', import.meta.url));
const manifest = JSON.parse(await readFile(path.join(sourceTree, 'package.json'), 'utf8')) as { name: string; version: string };
let workDir: string;
let tarball: string;
let bin: string;

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'h14-package-'));
  const packed = await execa('npm', ['pack', '--silent', '--pack-destination', workDir], { cwd: sourceTree });
  tarball = path.join(workDir, packed.stdout.trim().split('\n').at(-1) as string);
  const prefix = path.join(workDir, 'prefix');
  // From an empty folder: nothing of the source tree is on the way (no node_modules, no package.json above).
  await execa('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel', 'error', tarball], { cwd: workDir });
  bin = path.join(prefix, 'bin', 'docker-mcp');
}, 300_000);

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe(`the ${manifest.name} package`, () => {
  it('ships what a user runs: the built bin, README, LICENSE; no sources and no source maps', async () => {
    const files = (await execa('tar', ['-tzf', tarball])).stdout.split('\n');
    expect(files).toEqual(expect.arrayContaining(['package/package.json', 'package/README.md', 'package/LICENSE', 'package/dist/src/cli/bin.js', 'package/dist/src/mcp/server.js']));
    expect(files.filter((f) => f.endsWith('.map') || f.endsWith('.ts') || f.startsWith('package/test/') || f.startsWith('package/src/'))).toEqual([]);
    const installed = path.join(workDir, 'prefix', 'lib', 'node_modules', manifest.name, 'dist', 'src');
    const withMapComment = await execa('grep', ['-rl', 'sourceMappingURL', installed], { reject: false });
    expect(withMapComment.stdout).toBe('');
  });

  it('docker-mcp --help runs from the installed prefix', async () => {
    const help = await execa(bin, ['--help'], { cwd: workDir, env: { PATH: process.env.PATH ?? '', HOME: workDir } });
    expect(help.stdout).toMatch(/^Usage: docker-mcp /);
    expect(help.stdout).toMatch(/serve/);
  });

  it('docker-mcp serve answers the SDK client over stdio, against a testbed host', async () => {
    const config = path.join(workDir, 'hosts.yml');
    const document = parseDocument(await readFile(testbedHostsFile(), 'utf8'));
    for (const other of ['beta', 'gamma', 'delta', 'epsilon']) document.deleteIn(['hosts', other]);
    await writeFile(config, document.toString());
    const client = new Client({ name: 'package-test', version: '1' });
    await client.connect(
      new StdioClientTransport({ command: bin, args: ['serve'], cwd: workDir, env: { PATH: process.env.PATH ?? '', HOME: workDir, DOCKER_MCP_CONFIG: config, DOCKER_MCP_STATE_DIR: workDir }, stderr: 'pipe' }),
    );
    try {
      expect(client.getServerVersion()).toMatchObject({ name: 'docker-mcp', version: manifest.version });
      const tested = (await client.callTool({ name: 'docker_hosts', arguments: { action: 'test_connection', host_id: 'alpha' } })) as CallToolResult;
      expect(tested.isError, JSON.stringify(tested.content)).toBeFalsy();
      expect(tested.structuredContent).toMatchObject({ success: true, hosts: [{ host_id: 'alpha', ssh: { ok: true }, docker: { ok: true } }], host_errors: [] });
    } finally {
      await client.close();
    }
  });
});

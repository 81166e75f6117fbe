/**
 * A hosts.yml left in the folder the tool runs in (a cloned repository's
 * `config/hosts.yml`) does not redirect the user's hosts: the CLI, run there
 * with no hosts file of the user's, uses the testbed's and says which file it
 * did not read.
 */
import { execa } from 'execa';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { cliCommand } from './cli.js';

let folder: string;

beforeAll(async () => {
  folder = await mkdtemp(path.join(os.tmpdir(), 'b-cloned-repo-'));
  await mkdir(path.join(folder, 'config'));
  // alpha pointed at beta's address, vouched for by a known_hosts in the folder itself.
  await writeFile(path.join(folder, 'config/hosts.yml'), 'hosts:\n  alpha:\n    hostname: 127.0.0.12\n    user: docker-mcp-tb\n    known_hosts_file: /srv/elsewhere/known_hosts\n');
});

afterAll(() => rm(folder, { recursive: true, force: true }));

describe("the current folder's config/hosts.yml", () => {
  it('is not read unless named: alpha stays the testbed alpha, and a warning names the file', async () => {
    const home = path.join(folder, 'home');
    await mkdir(home);
    const run = (args: string[]) => execa(...cliCommand(args), { cwd: folder, reject: false, env: { HOME: home, DOCKER_MCP_CONFIG: '', DOCKER_HOSTS_CONFIG: '' } });
    const listed = await run(['hosts', 'list', '--json']);
    expect(listed.exitCode, listed.stderr).toBe(0);
    const result = JSON.parse(listed.stdout) as { config: string; hosts: { id: string; hostname: string }[] };
    expect(result.config).toBe(testbedHostsFile());
    expect(result.hosts.find((h) => h.id === 'alpha')?.hostname).toBe('127.0.0.11');
    expect(listed.stderr).toContain(`NOT reading ${path.join(folder, 'config/hosts.yml')}`);
    const tested = await run(['hosts', 'test', 'alpha', '--json']);
    expect(tested.exitCode, tested.stderr).toBe(0);
  });
});

import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostRow } from '../../src/host/fan-out.js';
import type { ContainerSummary } from '../../src/docker/inspect.js';
import type { StackDataReport } from '../../src/docker/stack-source.js';
import type { StackSummary } from '../../src/docker/stacks.js';
import { command } from '../../src/ssh/quote.js';
import { SshTransport } from '../../src/ssh/transport.js';
import { readSeenStacks } from '../../src/standby/seen-stacks.js';
import { runCli } from './cli.js';
import { testbedHostsFile } from '../../src/testbed/layout.js';
import { TESTBED_HOST_IDS, testbedHost } from './testbed.js';

const stack = `t3s${process.pid}`;
// The shape of an authelia stack: three services, each with its own data path under appdata.
const composeFile = (marker: string) => `# ${marker}
services:
  authelia:
    image: local/busybox:test
    command: ["sh", "-c", "echo started-${marker}; exec sleep 3600"]
    network_mode: none
    init: true
    volumes:
      - /srv/alpha/appdata/${stack}-authelia:/config
      - ./conf:/conf:ro
  authelia-mariadb:
    image: local/busybox:test
    command: ["sleep", "3600"]
    network_mode: none
    init: true
    volumes:
      - type: bind
        source: /srv/alpha/appdata/${stack}-authelia-mariadb
        target: /var/lib/mysql
  authelia-redis:
    image: local/busybox:test
    command: ["sleep", "3600"]
    network_mode: none
    init: true
    volumes:
      - /srv/alpha/appdata/${stack}-authelia-redis:/data
      - cache:/cache
volumes:
  cache: {}
`;
let alpha: SshTransport;

beforeAll(async () => {
  alpha = new SshTransport(await testbedHost('alpha'));
  // Long-syntax binds need their source to exist (short syntax creates it).
  await alpha.exec(command(['mkdir', '-p', `/srv/alpha/appdata/${stack}-authelia-mariadb`]));
});

afterAll(async () => {
  await runCli(['stacks', 'down', 'alpha', stack]);
  await alpha.exec(command(['sh', '-c', 'rm -rf "$1" "$2"-*', 'clean', `/srv/alpha/compose/${stack}`, `/srv/alpha/appdata/${stack}`]));
  await alpha.exec(command(['docker', 'volume', 'rm', '-f', `${stack}_cache`]));
  await alpha.close();
});

describe('docker-mcp stacks', () => {
  it('deploys a stack from stdin, validated first, and it runs; the host\'s last-seen list names it (for failover --host)', async () => {
    const state = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-deploy-state-'));
    const run = await runCli(['stacks', 'deploy', 'alpha', stack, '-f', '-', '--json'], { DOCKER_MCP_STATE_DIR: state }, composeFile('v1'));
    expect(run.stderr).toBe('');
    expect(Object.keys((await readSeenStacks('alpha', path.join(state, 'standby'))).stacks)).toEqual([stack]);
    rmSync(state, { recursive: true, force: true });
    expect(JSON.parse(run.stdout)).toMatchObject({ stack, created: true, file: `/srv/alpha/compose/${stack}/docker-compose.yml` });
    const ps = JSON.parse((await runCli(['stacks', 'ps', 'alpha', stack, '--json'])).stdout) as ContainerSummary[];
    expect(ps.map((c) => [c.service, c.state]).sort()).toEqual([
      ['authelia', 'running'],
      ['authelia-mariadb', 'running'],
      ['authelia-redis', 'running'],
    ]);
  });

  it('lists it from the engine and from the compose folder; view shows the file as stored', async () => {
    const rows = JSON.parse((await runCli(['stacks', 'list', '--json'])).stdout) as HostRow<StackSummary[]>[];
    expect(rows.map((r) => r.hostId)).toEqual([...TESTBED_HOST_IDS]);
    const alphaRow = rows[0];
    const listed = alphaRow?.ok ? alphaRow.value.find((s) => s.name === stack) : undefined;
    expect(listed).toMatchObject({ foundIn: 'both', running: 3 });
    const view = JSON.parse((await runCli(['stacks', 'view', 'alpha', stack, '--json'])).stdout) as { content: string };
    expect(view.content).toBe(composeFile('v1'));
  });

  it('logs and restart work on the running stack', async () => {
    const logs = await runCli(['stacks', 'logs', 'alpha', stack, '--tail', '5']);
    expect(logs.stdout).toContain('started-v1');
    const restart = await runCli(['stacks', 'restart', 'alpha', stack]);
    expect(restart.exitCode).toBe(0);
  });

  it('discover finds the three data paths under appdata, and tells other binds and named volumes apart', async () => {
    const rows = JSON.parse((await runCli(['stacks', 'discover', 'alpha', '--stack', stack, '--json'])).stdout) as HostRow<StackDataReport[]>[];
    const report = rows[0]?.ok ? rows[0].value[0] : undefined;
    expect(report?.dataPaths.map((p) => [p.service, p.source, p.kind, p.underAppdata])).toEqual([
      ['authelia', `/srv/alpha/appdata/${stack}-authelia`, 'bind', true],
      ['authelia', `/srv/alpha/compose/${stack}/conf`, 'bind', false],
      ['authelia-mariadb', `/srv/alpha/appdata/${stack}-authelia-mariadb`, 'bind', true],
      ['authelia-redis', `/srv/alpha/appdata/${stack}-authelia-redis`, 'bind', true],
      ['authelia-redis', 'cache', 'volume', false],
    ]);
    expect(report?.mountsInUse.some((m) => m.source === `/srv/alpha/appdata/${stack}-authelia-redis` && m.destination === '/data')).toBe(true);
  });

  it('refuses a compose file that does not validate, and the deployed file stays as it was', async () => {
    // Broken YAML never leaves this machine; YAML that compose itself rejects is refused by the host's compose.
    const broken = await runCli(['stacks', 'deploy', 'alpha', stack, '-f', '-'], {}, 'services:\n  app:\n    image: [unclosed\n');
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toMatch(/invalid compose file .*Flow sequence/);
    const run = await runCli(['stacks', 'deploy', 'alpha', stack, '-f', '-'], {}, 'services:\n  app:\n    image: local/busybox:test\n    bogus_option: 1\n');
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/does not validate on alpha \(nothing was changed\)/);
    const view = JSON.parse((await runCli(['stacks', 'view', 'alpha', stack, '--json'])).stdout) as { content: string };
    expect(view.content).toBe(composeFile('v1'));
  });

  it('refuses a stack name with shell metacharacters, and creates nothing', async () => {
    const run = await runCli(['stacks', 'deploy', 'alpha', 'x;touch${IFS}/tmp/pwned', '-f', '-'], {}, composeFile('x'));
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/invalid stack name/);
    const listing = await alpha.exec(command(['ls', '/srv/alpha/compose']));
    expect(listing.stdout).not.toMatch(/touch|pwned/);
  });

  it('an unknown stack is bad input naming the stacks there are', async () => {
    const run = await runCli(['stacks', 'up', 'alpha', 'no-such-stack']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('no stack "no-such-stack" on alpha');
    expect(run.stderr).toContain(stack);
  });

  it('standby add looks the stack up on the host it runs on: the deployed one is declared, an unknown one is refused naming those there are', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'docker-mcp-standby-'));
    try {
      const config = path.join(dir, 'hosts.yml');
      copyFileSync(testbedHostsFile(), config);
      const added = await runCli(['--config', config, 'standby', 'add', stack, '--on', 'alpha', '--to', 'beta', '--every', '1h', '--json']);
      expect(added.exitCode, added.stderr).toBe(0);
      expect(JSON.parse(added.stdout)).toMatchObject({ declared: { host: 'alpha', stack, to: 'beta', every: '1h' }, replaced: null });
      const unknown = await runCli(['--config', config, 'standby', 'add', 'no-such-stack', '--on', 'alpha', '--to', 'beta']);
      expect(unknown.exitCode).toBe(2);
      expect(unknown.stderr).toContain('no stack "no-such-stack" on alpha');
      expect(unknown.stderr).toContain(stack);
      expect(readFileSync(path.join(dir, 'standby.yml'), 'utf8')).not.toContain('no-such-stack');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('down stops and removes its containers', async () => {
    expect((await runCli(['stacks', 'down', 'alpha', stack])).exitCode).toBe(0);
    const ps = JSON.parse((await runCli(['stacks', 'ps', 'alpha', stack, '--json'])).stdout) as ContainerSummary[];
    expect(ps).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { runCli } from './cli.js';

describe('docker-mcp testbed', () => {
  it('a second "up" finds everything in place and changes nothing', async () => {
    const run = await runCli(['testbed', 'up', '--json']);
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(run.stdout) as { changes: string[]; hostsFile: string; seconds: number };
    expect(result.changes).toEqual([]);
    expect(result.hostsFile).toMatch(/hosts\.yml$/);
    expect(result.seconds).toBeGreaterThan(0);
  });

  it('status reports each host with its own sshd, engine and (for alpha and beta) pool', async () => {
    const run = await runCli(['testbed', 'status', '--json']);
    expect(run.exitCode).toBe(0);
    const status = JSON.parse(run.stdout) as { up: boolean; hosts: { host: string; sshd: boolean; dockerd: boolean; pool: string | null }[] };
    expect(status.up).toBe(true);
    expect(status.hosts).toEqual([
      { host: 'alpha', address: '127.0.0.11', sshd: true, dockerd: true, pool: 'ONLINE' },
      { host: 'beta', address: '127.0.0.12', sshd: true, dockerd: true, pool: 'ONLINE' },
      { host: 'gamma', address: '127.0.0.13', sshd: true, dockerd: true, pool: null },
    ]);
  });
});

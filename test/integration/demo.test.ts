import { afterAll, describe, expect, it } from 'vitest';
import type { MigrationReport } from '../../src/migration/execute.js';
import { command } from '../../src/ssh/quote.js';
import { SshPool } from '../../src/ssh/pool.js';
import { runCli } from './cli.js';
import { testbedHost } from './testbed.js';

describe('docker-mcp demo (the README\'s first command)', () => {
  const pool = new SshPool();
  afterAll(() => pool.closeAll());

  it('deploys the sample stack on alpha and migrates it to beta, twice in a row', async () => {
    for (let run = 0; run < 2; run++) {
      // Under the whole suite's load (two lanes, two emulated guests) one demo run has taken over a minute.
      const result = await runCli(['demo', '--json'], {}, undefined, 300_000);
      expect(result.stderr).toBe('');
      const { report } = JSON.parse(result.stdout) as { report: MigrationReport };
      expect(report).toMatchObject({ stack: 'demo-authelia', source: 'alpha', target: 'beta', mode: 'low-downtime' });
      expect(report.final.services_transferred).toBe(3);
      expect(report.final.results.map((r) => r.mode)).toEqual(['incremental', 'incremental', 'incremental']);
      expect(report.verified).toHaveLength(3);
      const stacks = JSON.parse((await runCli(['stacks', 'ps', 'beta', 'demo-authelia', '--json'])).stdout) as { state: string }[];
      expect(stacks.map((c) => c.state)).toEqual(['running', 'running', 'running']);
      // The next demo must also clear containers whose compose folder is gone
      // (as when the folder is deleted by hand, or lost with its pool).
      const beta = await testbedHost('beta');
      await pool.get(beta).exec(command(['rm', '-rf', '--', `${beta.compose_path}/demo-authelia`]));
    }
  }, 660_000);
});

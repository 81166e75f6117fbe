import { describe, expect, it } from 'vitest';
import type { MigrationReport } from '../../src/migration/execute.js';
import { runCli } from './cli.js';

describe('docker-mcp demo (the README\'s first command)', () => {
  it('deploys the sample stack on alpha and migrates it to beta, twice in a row', async () => {
    for (let run = 0; run < 2; run++) {
      const result = await runCli(['demo', '--json']);
      expect(result.stderr).toBe('');
      const { report } = JSON.parse(result.stdout) as { report: MigrationReport };
      expect(report).toMatchObject({ stack: 'demo-authelia', source: 'alpha', target: 'beta', mode: 'low-downtime' });
      expect(report.final.services_transferred).toBe(3);
      expect(report.final.results.map((r) => r.mode)).toEqual(['incremental', 'incremental', 'incremental']);
      expect(report.verified).toHaveLength(3);
      const stacks = JSON.parse((await runCli(['stacks', 'ps', 'beta', 'demo-authelia', '--json'])).stdout) as { state: string }[];
      expect(stacks.map((c) => c.state)).toEqual(['running', 'running', 'running']);
    }
  });
});

import type { Command } from 'commander';
import { runDemo } from '../../demo/demo.js';
import { emit } from '../output.js';
import { progressView } from '../progress-view.js';
import { renderReport } from './migrate.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('The main job on the local testbed: bring it up, deploy a sample 3-service stack on alpha, migrate it to beta')
    .option('--json', 'machine-readable output')
    .action(async (options: { json?: boolean }) => {
      const say = (line: string) => {
        if (!options.json) process.stderr.write(`${line}\n`);
      };
      const result = await runDemo(say, options.json ? undefined : progressView());
      emit(result, options, (r) => `${renderReport(r.report)}\nhosts file: ${r.hostsFile}`);
    });
}

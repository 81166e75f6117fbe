/** A corpus app's dry-run plan as a page of docs/corpus/. */
import type { CliRun } from '../cli.js';
import type { CorpusApp } from './apps.js';

export interface PlanSetting {
  readonly source: string;
  readonly target: string;
  /** Why the app was not running on the source when planned, or null. */
  readonly stopped: string | null;
}

export function planPage(app: CorpusApp, setting: PlanSetting, commandLine: string, run: CliRun): string {
  const output = [run.stdout, run.stderr].filter((text) => text.trim() !== '').join('\n');
  const state = setting.stopped === null ? 'deployed by hand and running on' : `its folder written on (not running: ${setting.stopped})`;
  return [
    `# ${app.app}: what a dry run shows`,
    '',
    `The corpus's ${app.app} (\`test/fixtures/corpus/${app.app}/\`, written from the app's published compose files: see SOURCE.md there), ${state} the testbed host ${setting.source}, planned for ${setting.target}.`,
    `It shows: ${app.shows}.`,
    '',
    'Written by `npm run corpus:plans` from a real run; do not edit by hand.',
    '',
    '```console',
    `$ ${commandLine}`,
    output.trimEnd(),
    ...(run.exitCode === 0 ? [] : [`(exit code ${run.exitCode})`]),
    '```',
    '',
  ].join('\n');
}

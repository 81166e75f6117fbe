/** A corpus app's dry-run plan as a page of docs/corpus/. */
import type { CliRun } from '../cli.js';
import type { CorpusApp } from './apps.js';

export function planPage(app: CorpusApp, commandLine: string, run: CliRun): string {
  const output = [run.stdout, run.stderr].filter((text) => text.trim() !== '').join('\n');
  return [
    `# ${app.app}: what a dry run shows`,
    '',
    `The corpus's ${app.app} (test/fixtures/corpus/${app.app}/, written from the app's published compose files: see SOURCE.md there), deployed by hand on the OpenZFS guest delta and planned for epsilon. It shows: ${app.shows}.`,
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

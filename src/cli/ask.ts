/**
 * A yes/no question to the user at a terminal, for what the CLI does only
 * when confirmed. Without a terminal (a script, a pipe, a file on standard
 * input) there is no one to ask: the caller needs `--yes` instead.
 */
import { createInterface } from 'node:readline/promises';
import { ConfirmationRequiredError } from '../docker/errors.js';

export interface Question {
  readonly effect: string;
  readonly details?: readonly string[];
}

/** Go ahead when `yes` was given or the user answers y at a terminal; otherwise throw, saying what was not done. */
export async function confirmAtTerminal(question: Question, yes: boolean): Promise<void> {
  if (yes) return;
  const details = (question.details ?? []).map((line) => `  ${line}\n`).join('');
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new ConfirmationRequiredError(`${question.effect}${details ? `:\n${details}` : '; '}nothing was changed: add --yes to confirm (no terminal to ask on)`);
  }
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await terminal.question(`${question.effect}${details ? `:\n${details}` : '.\n'}Go ahead? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new ConfirmationRequiredError(`not confirmed: ${question.effect}; nothing was changed`);
  } finally {
    terminal.close();
  }
}

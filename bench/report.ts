/**
 * Print a benchmark's table and record it in bench/results.md with the
 * machine it ran on and the command that made it. Figures are this machine's.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { table } from '../src/cli/output.js';

export interface BenchTable {
  readonly name: string;
  readonly title: string;
  readonly headers: readonly string[];
  readonly rows: readonly (readonly string[])[];
  readonly notes: readonly string[];
}

const RESULTS = fileURLToPath(new URL('./results.md', import.meta.url));

export function report(result: BenchTable): void {
  process.stdout.write(`\n${result.title}\n${table(result.headers, result.rows)}\n${result.notes.map((n) => `  ${n}`).join('\n')}\n`);
  record(result);
}

/** The BENCH_* settings the run was given, as they would be typed before the command. */
function benchEnvironment(): string {
  return Object.entries(process.env)
    .filter(([name]) => name.startsWith('BENCH_'))
    .map(([name, value]) => `${name}=${/^[\w.,/-]*$/.test(value ?? '') ? value : `'${(value ?? '').replaceAll("'", "'\\''")}'`} `)
    .join('');
}

function record(result: BenchTable): void {
  const machine = `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}`;
  const section = [
    `<!-- bench:${result.name} -->`,
    `## ${result.title}`,
    '',
    `Command: \`${benchEnvironment()}npm run bench -- ${result.name}\` — ${new Date().toISOString()} — ${machine}`,
    '',
    `| ${result.headers.join(' | ')} |`,
    `| ${result.headers.map(() => '---').join(' | ')} |`,
    ...result.rows.map((row) => `| ${row.join(' | ')} |`),
    '',
    ...result.notes.map((note) => `- ${note}`),
    `<!-- /bench:${result.name} -->`,
  ].join('\n');
  const header = '# Benchmark results\n\nAbsolute times are this machine\'s; compare the side-by-side figures of one run.\n';
  let text = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : header;
  const pattern = new RegExp(`<!-- bench:${result.name} -->[\\s\\S]*?<!-- /bench:${result.name} -->`);
  text = pattern.test(text) ? text.replace(pattern, section) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(RESULTS, text);
}

import { DockerMcpError } from '../errors.js';

/** hosts.yml could not be parsed or a field is wrong. Names file, host, field and line. */
export class ConfigInvalidError extends DockerMcpError {
  readonly kind = 'config' as const;

  constructor(
    readonly file: string,
    readonly problems: readonly ConfigProblem[],
  ) {
    super(`${file}: invalid configuration:\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`);
  }
}

export interface ConfigProblem {
  readonly host?: string;
  readonly field?: string;
  readonly line?: number;
  readonly message: string;
}

function formatProblem(problem: ConfigProblem): string {
  const where: string[] = [];
  if (problem.line !== undefined) where.push(`line ${problem.line}`);
  if (problem.host !== undefined) where.push(`host "${problem.host}"`);
  if (problem.field !== undefined) where.push(`field "${problem.field}"`);
  return where.length > 0 ? `${where.join(', ')}: ${problem.message}` : problem.message;
}

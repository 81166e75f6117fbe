import { DockerMcpError } from '../errors.js';

/** A migration that pre-flight refused: nothing was stopped or changed. */
export class MigrationRefusedError extends DockerMcpError {
  readonly kind = 'bad-input' as const;
}

/** A migration that failed after it started; `rolledBack` says what was done about it. */
export class MigrationFailedError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    message: string,
    readonly rolledBack: readonly string[],
    options?: { cause?: unknown },
  ) {
    super(`${message}; rolled back: ${rolledBack.length > 0 ? rolledBack.join('; ') : 'nothing to roll back'}`, options);
  }
}

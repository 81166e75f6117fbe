import { DockerMcpError } from '../errors.js';

/** A migration that pre-flight refused: nothing was stopped or changed. */
export class MigrationRefusedError extends DockerMcpError {
  readonly kind = 'bad-input' as const;
}

/** Pre-flight's refusal: `reason` is what it found, without the words around it (a dry run lists it). */
export class PreflightRefusedError extends MigrationRefusedError {
  constructor(
    stack: string,
    source: string,
    target: string,
    readonly reason: string,
  ) {
    super(`migration of ${stack} from ${source} to ${target} refused (nothing was changed): ${reason}`);
  }
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

/**
 * The stack was migrated and runs on the target, but removing the source's
 * copy (--remove-source) failed part way: nothing is rolled back.
 */
export class SourceRemovalFailedError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(id: string, stack: string, source: string, target: string, reason: string, options?: { cause?: unknown }) {
    super(
      `migration ${id} succeeded (${stack} runs on ${target}), but removing its copy on ${source} failed: ${reason}. ` +
        `What is left on ${source} is stopped; remove it by hand`,
      options,
    );
  }
}

/** The caller cancelled (an MCP request was cancelled, the CLI got SIGINT or SIGTERM): raised at the start of the next phase, or when a transfer was ended. */
export class MigrationCancelledError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly migrationId: string,
    readonly beforePhase: string,
    when: 'before' | 'during' = 'before',
  ) {
    super(`migration ${migrationId} was cancelled ${when} its ${beforePhase} phase`);
  }
}

/** An evacuation that left stacks on the host: those that fit nowhere, and those whose migration failed. The others moved. */
export class EvacuationIncompleteError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly host: string,
    readonly moved: number,
    readonly left: readonly string[],
  ) {
    super(
      `${host} is not empty: ${moved} stack${moved === 1 ? '' : 's'} moved, ${left.length} left on it:\n${left.map((line) => `  ${line}`).join('\n')}\n` +
        `Make room or free what each reason names, then run evacuate ${host} again (it moves only what is still there)`,
    );
  }
}

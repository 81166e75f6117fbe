/**
 * Typed errors shared by every layer. Each carries a `kind` that the CLI maps
 * to an exit code and the MCP layer to a tool error, and a message written for
 * the person who has to act on it.
 */

export type ErrorKind =
  | 'bad-input' // the caller asked for something invalid: nothing was done
  | 'config' // hosts.yml is missing or wrong
  | 'unreachable' // a host could not be reached or refused us
  | 'failed'; // an operation ran and failed

export abstract class DockerMcpError extends Error {
  abstract readonly kind: ErrorKind;
  /** What a program reads by key beside the message (over MCP, in the failure's structured content). */
  readonly facts?: Readonly<Record<string, unknown>>;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that does not pass validation (a name, a path, a CLI argument). */
export class InvalidInputError extends DockerMcpError {
  readonly kind = 'bad-input' as const;

  constructor(
    readonly what: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`invalid ${what} ${JSON.stringify(value)}: ${reason}`);
  }
}

export class UnknownHostError extends DockerMcpError {
  readonly kind = 'bad-input' as const;

  constructor(
    readonly hostId: string,
    readonly knownHosts: readonly string[],
    hint?: string,
  ) {
    super(
      `unknown host ${JSON.stringify(hostId)}; configured hosts: ${
        knownHosts.length > 0 ? knownHosts.join(', ') : '(none)'
      }${hint ? ` (${hint})` : ''}`,
    );
  }
}

/** Exit codes the CLI uses, so scripts can tell failures apart. */
export const EXIT_CODES: Record<ErrorKind, number> = {
  failed: 1,
  'bad-input': 2,
  config: 2,
  unreachable: 3,
};

export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

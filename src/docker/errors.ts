/** Typed errors of the docker layer; each says what was wrong and what there is instead. */
import { DockerMcpError } from '../errors.js';

export class UnknownStackError extends DockerMcpError {
  readonly kind = 'bad-input' as const;

  constructor(
    readonly hostId: string,
    readonly stackName: string,
    readonly knownStacks: readonly string[],
  ) {
    super(`no stack ${JSON.stringify(stackName)} on ${hostId}; stacks there: ${knownStacks.length > 0 ? knownStacks.join(', ') : '(none)'}`);
  }
}

/** A project the engine runs whose labels do not lead to a stack folder under compose_path: nothing of it is read or changed. */
export class StackOutsideComposePathError extends DockerMcpError {
  readonly kind = 'bad-input' as const;

  constructor(
    readonly hostId: string,
    readonly stackName: string,
    readonly reason: string,
  ) {
    super(`stack ${JSON.stringify(stackName)} on ${hostId} is left alone: ${reason}`);
  }
}

export class UnknownContainerError extends DockerMcpError {
  readonly kind = 'bad-input' as const;

  constructor(
    readonly hostId: string,
    readonly container: string,
  ) {
    super(`no container ${JSON.stringify(container)} on ${hostId}`);
  }
}

/** The compose file does not pass compose's own `config` check. Nothing was written. */
export class ComposeValidationError extends DockerMcpError {
  readonly kind = 'bad-input' as const;

  constructor(
    readonly hostId: string,
    readonly stackName: string,
    readonly details: string,
  ) {
    super(`the compose file for ${stackName} does not validate on ${hostId} (nothing was changed): ${details.trim()}`);
  }
}

export class ConfirmationRequiredError extends DockerMcpError {
  readonly kind = 'bad-input' as const;
}

export class HostSetupError extends DockerMcpError {
  readonly kind = 'config' as const;
}

/** Typed ZFS errors, each saying what happened and what to do next. */
import { DockerMcpError } from '../errors.js';

export class DatasetMountMismatchError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly hostId: string,
    readonly dataset: string,
    readonly expectedMountpoint: string,
    readonly actualMountpoint: string,
  ) {
    super(
      `on ${hostId}: dataset ${dataset} is mounted at ${actualMountpoint}, not at ${expectedMountpoint}; ` +
        `fix its mountpoint (zfs set mountpoint=${expectedMountpoint} ${dataset}) or the service's path`,
    );
  }
}

/** The target dataset exists but the tool did not create it and has none of its snapshots. */
export class RefusingToOverwriteError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly hostId: string,
    readonly dataset: string,
    readonly targetSnapshots: readonly string[],
  ) {
    super(
      `on ${hostId}: refusing to overwrite ${dataset}: it exists, was not created by docker-mcp and shares no snapshot ` +
        `with the source (its snapshots: ${targetSnapshots.length > 0 ? targetSnapshots.join(', ') : 'none'}). ` +
        `Move or rename it (zfs rename ${dataset} ${dataset}-old), or pick another target path.`,
    );
  }
}

/** Both sides share a snapshot, but the target has newer snapshots the tool did not make. */
export class DivergedTargetError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly hostId: string,
    readonly dataset: string,
    readonly common: string,
    readonly targetOnly: readonly string[],
  ) {
    super(
      `on ${hostId}: ${dataset} has diverged from the source since ${common}: it has snapshots the source lacks ` +
        `(${targetOnly.join(', ')}). Receiving would roll them back; destroy or rename them first if that is what you want.`,
    );
  }
}

export class ServicePathInUseError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly hostId: string,
    readonly path: string,
    readonly containers: readonly string[],
  ) {
    super(
      `on ${hostId}: ${path} is used by running containers (${containers.join(', ')}); stop them before it is converted into a dataset`,
    );
  }
}

export class ConversionError extends DockerMcpError {
  readonly kind = 'failed' as const;
}

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

/** Other filesystems are mounted inside a directory: copying or deleting it would reach into them. */
export class MountsInsideError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly hostId: string,
    readonly path: string,
    readonly mounts: readonly string[],
  ) {
    super(
      `on ${hostId}: ${path} holds other mounted filesystems (${mounts.join(', ')}); docker-mcp neither copies ` +
        'nor deletes into another filesystem. Unmount them (or move them out of the directory) and try again',
    );
  }
}

/** Converting a directory would hold two copies of it for a while: the pool must have room for the second. */
export class InsufficientSpaceError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly hostId: string,
    readonly path: string,
    readonly dataset: string,
    readonly neededBytes: number,
    readonly availableBytes: number,
  ) {
    super(
      `on ${hostId}: converting ${path} into ${dataset} needs ${neededBytes} bytes free (its allocated size plus headroom: ` +
        `the original stays until the copy is verified), and ${dataset.slice(0, dataset.lastIndexOf('/'))} has ${availableBytes} available. ` +
        'Nothing was changed: make room on the pool (or raise its quota) first',
    );
  }
}

/** A plain send would decrypt an encrypted dataset on the way: refused, with what to run instead. */
export class EncryptedDatasetError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly hostId: string,
    readonly dataset: string,
    readonly encryption: string,
    readonly encryptionRoot: string,
    readonly targetHostId: string,
    readonly targetDataset: string,
  ) {
    super(
      `on ${hostId}: ${dataset} is encrypted (${encryption}, encryption root ${encryptionRoot}); docker-mcp refuses to send it: ` +
        `a plain zfs send would decrypt it into plaintext on ${targetHostId}. To move it encrypted, send it raw yourself ` +
        `(zfs send -w ${dataset}@<snapshot> | ssh ${targetHostId} zfs receive -u ${targetDataset}), then on ${targetHostId} ` +
        `load its key and mount it (zfs load-key ${targetDataset} && zfs mount ${targetDataset}) before migrating the stack.`,
    );
  }
}

/** The target holds a partial `receive -s` that docker-mcp did not start. */
export class ForeignReceiveStateError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly hostId: string,
    readonly dataset: string,
    readonly partialSnapshot: string,
  ) {
    super(
      `on ${hostId}: ${dataset} holds a partially received stream of ${partialSnapshot}, not docker-mcp's; it is left as it is. ` +
        `Finish it (zfs send -t <its receive_resume_token>) or discard it (zfs receive -A ${dataset}) yourself first.`,
    );
  }
}

/** The target copy was written to since the common snapshot: an incremental would discard that. */
export class TargetModifiedError extends DockerMcpError {
  readonly kind = 'failed' as const;

  constructor(
    readonly hostId: string,
    readonly dataset: string,
    readonly snapshot: string,
    readonly changed: readonly string[],
  ) {
    const shown = changed.slice(0, 10).join(', ') + (changed.length > 10 ? ` and ${changed.length - 10} more` : '');
    super(
      `on ${hostId}: ${dataset} has changed since @${snapshot}, which the incoming stream starts from (${shown}); ` +
        'receiving would discard those changes. Copy them away and roll it back yourself (zfs rollback), or move the dataset aside.',
    );
  }
}

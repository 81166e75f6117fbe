/**
 * The stack's named volumes on the standby, filled from the tar files a pass
 * staged (stage-volumes.ts): created under their names with the labels they
 * had (compose's among them, so compose adopts them), then unpacked. A
 * volume of that name already on the standby is not docker-mcp's to fill:
 * the failover stops before it, naming it.
 */
import type { DockerHost } from '../docker/docker-host.js';
import { chooseHelperImage, createVolume, inspectVolume, volumeHostPath, volumeUntarCommand } from '../docker/volumes.js';
import { command } from '../ssh/quote.js';
import type { StagedVolume } from '../standby/stage-volumes.js';
import { TAR_KEEP } from '../migration/stream-copy.js';
import { relay } from '../transfer/relay.js';
import { FailoverRefusedError } from './bring-up-copies.js';

/** Refuse before anything changes: a volume of one of these names is already on the standby. */
export async function refuseExistingVolumes(standby: DockerHost, volumes: readonly StagedVolume[]): Promise<void> {
  const present = (await Promise.all(volumes.map(async (v) => ((await inspectVolume(standby.transport, v.volume)) ? v.volume : null)))).filter((v): v is string => v !== null);
  if (present.length > 0) {
    throw new FailoverRefusedError(`${standby.host.id} already has volumes ${present.join(', ')}: filling them would replace data that is not docker-mcp's. Nothing was changed; remove or rename them there first`);
  }
}

/**
 * Create and fill each volume; `helperImages`: images the standby has that
 * can run tar (the stack's own, then busybox). One there already was created
 * by this failover cut off earlier (refuseExistingVolumes ran before it
 * started): unpacking the same tar again completes it.
 */
export async function restoreVolumes(standby: DockerHost, volumes: readonly StagedVolume[], helperImages: readonly string[]): Promise<string[]> {
  let helper: string | null | undefined;
  for (const staged of volumes) {
    if (!(await inspectVolume(standby.transport, staged.volume))) await createVolume(standby.transport, staged.volume, staged.labels);
    const hostPath = await volumeHostPath(standby.transport, staged.volume);
    if (hostPath !== null) {
      await standby.transport.exec(command(['tar', '-C', hostPath, ...TAR_KEEP, '-xpf', staged.file]), { timeoutMs: 3_600_000 });
      continue;
    }
    helper ??= (await chooseHelperImage(standby.transport, helperImages))?.image ?? null;
    if (helper === null) throw new Error(`no image on ${standby.host.id} with sh and tar to fill volume ${staged.volume} with (tried ${helperImages.join(', ')}): pull busybox there`);
    const receiving = await standby.transport.stream(volumeUntarCommand(helper, staged.volume), { stdin: 'pipe' });
    const sending = await standby.transport.stream(command(['cat', '--', staged.file]));
    await relay(sending, receiving, () => {});
  }
  return volumes.map((v) => v.volume);
}

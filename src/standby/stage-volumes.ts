/**
 * The stack's named volumes, staged on the standby by a pass: each one's
 * contents as a tar file in docker-mcp's directory under the standby's
 * appdata_path (`.docker-mcp-standby/HOST/STACK.volumes/VOLUME.tar`), which
 * no stack uses, so that a failover can fill the volume from it. Read while
 * the stack runs, a volume is copied file by file, like a copy by rsync: not
 * one instant. A volume's file is replaced only once its new copy arrived
 * whole.
 */
import path from 'node:path';
import type { HostConfig } from '../config/schema.js';
import type { DockerHost } from '../docker/docker-host.js';
import { chooseHelperImage, inspectVolume, volumeHostPath, volumeTarCommand } from '../docker/volumes.js';
import { describeError } from '../errors.js';
import type { MigrationPlan } from '../migration/plan.js';
import { helperCandidates } from '../migration/preflight.js';
import { TAR_KEEP, toleratingChangedFiles, type Throttle } from '../migration/stream-copy.js';
import { validateHostId, validateStackName, validateVolumeName } from '../names/validate.js';
import { command } from '../ssh/quote.js';
import { relay } from '../transfer/relay.js';
import { STAGING_DIRECTORY } from './staging.js';

export interface StagedVolume {
  readonly volume: string;
  /** Its labels on the source (compose's among them, so that compose adopts the volume made from it). */
  readonly labels: Readonly<Record<string, string>>;
  /** The tar file on the standby. */
  readonly file: string;
  readonly bytes: number;
}

export interface StagedVolumes {
  readonly staged: readonly StagedVolume[];
  readonly problems: readonly string[];
  readonly warnings: readonly string[];
}

/** Where `standby` keeps the named volumes of `sourceHostId`'s `stack`, or null without an appdata_path. */
export function stagedVolumesDir(standby: HostConfig, sourceHostId: string, stack: string): string | null {
  if (!standby.appdata_path) return null;
  // A project name has no dot, so this never meets the directory of a stack called so.
  return path.posix.join(standby.appdata_path, STAGING_DIRECTORY, validateHostId(sourceHostId), `${validateStackName(stack)}.volumes`);
}

// $1 the directory, $2 the file: written to a name of its own, renamed once whole.
const RECEIVE_SCRIPT = 'set -e; mkdir -p -- "$1"; chmod 700 -- "$1"; cat > "$1/.$2.partial"; mv -f -- "$1/.$2.partial" "$1/$2"';

/** Copy each named volume the stack's compose declares (and the source has) into its tar file on the standby. */
export async function stageVolumes(source: DockerHost, standby: DockerHost, plan: MigrationPlan, sourceHostId: string, throttle?: Throttle): Promise<StagedVolumes> {
  const copied = (plan.volumes ?? []).filter((volume) => volume.handling === 'copy');
  if (copied.length === 0) return { staged: [], problems: [], warnings: [] };
  const dir = stagedVolumesDir(standby.host, sourceHostId, plan.stack);
  if (dir === null) return { staged: [], problems: [`named volumes ${copied.map((v) => v.name).join(', ')}: ${standby.host.id} has no appdata_path in hosts.yml to keep them under`], warnings: [] };
  const inspected = await Promise.all(copied.map((volume) => inspectVolume(source.transport, volume.name)));
  const labelsOf = new Map(inspected.flatMap((state) => (state ? [[state.name, state.labels] as const] : [])));
  const onSource = copied.map((volume) => volume.name).filter((name) => labelsOf.has(name));
  const warnings = copied.filter((volume) => !onSource.includes(volume.name)).map((volume) => `named volume ${volume.name} is not on ${source.host.id} yet: nothing to stage`);
  if (onSource.length === 0) return { staged: [], problems: [], warnings };
  warnings.push(`named volumes ${onSource.join(', ')} copied by tar while ${plan.stack} ran: each file as it was when read, not all at one instant`);
  const staged: StagedVolume[] = [];
  const problems: string[] = [];
  let helper: string | null | undefined;
  for (const volume of onSource) {
    try {
      const hostPath = await volumeHostPath(source.transport, volume);
      let sending;
      if (hostPath !== null) {
        sending = await source.transport.stream(toleratingChangedFiles(['tar', '-C', hostPath, ...TAR_KEEP, '--sparse', '--ignore-failed-read', '-cf', '-', '.']));
      } else {
        helper ??= (await chooseHelperImage(source.transport, helperCandidates(plan)))?.image ?? null;
        if (helper === null) throw new Error(`no image on ${source.host.id} with sh and tar to read it with (tried ${helperCandidates(plan).join(', ')}): pull busybox there`);
        sending = await source.transport.stream(volumeTarCommand(helper, volume));
      }
      const file = `${validateVolumeName(volume)}.tar`;
      const receiving = await standby.transport.stream(command(['sh', '-c', RECEIVE_SCRIPT, 'stage-volume', dir, file]), { stdin: 'pipe' });
      const { bytes } = await relay(sending, receiving, () => {}, throttle);
      staged.push({ volume, labels: labelsOf.get(volume) ?? {}, file: path.posix.join(dir, file), bytes });
    } catch (error) {
      problems.push(`named volume ${volume}: ${describeError(error)}`);
    }
  }
  return { staged, problems, warnings };
}

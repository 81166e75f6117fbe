/**
 * The named volumes of a migration: created on the target under the same
 * name and labels (compose's among them, so compose there adopts them as its
 * own), filled from the source after the stop (their data is live), and
 * proven equal by a checksum manifest of both sides before anything runs.
 */
import type { DockerHost } from '../docker/docker-host.js';
import { createVolume, inspectVolume, volumeManifest } from '../docker/volumes.js';
import type { ProgressListener } from '../transfer/progress.js';
import type { MigrationJournal, VerifiedVolume } from './journal.js';
import type { MigrationPlan } from './plan.js';
import type { PreflightResult } from './preflight.js';
import { carryImages, copyVolume } from './stream-copy.js';

/** Copy every volume pre-flight found on the source; each one created on the target is journalled first. */
export async function copyVolumes(journal: MigrationJournal, source: DockerHost, target: DockerHost, checked: PreflightResult, onProgress?: ProgressListener): Promise<void> {
  const volumes = (checked.volumes ?? []).filter((v) => v.onSource);
  const helpers = checked.volumeHelpers;
  if (volumes.length === 0 || !helpers) return;
  if (helpers.carry) {
    onProgress?.({ type: 'transfer-step', service: '-', message: `carrying ${helpers.source} to ${target.host.id} to copy volumes with` });
    await carryImages(source.transport, target.transport, [helpers.source]);
  }
  for (const volume of volumes) {
    if ((await inspectVolume(target.transport, volume.name)) === null) {
      await journal.record({ volumesCreated: [...new Set([...(journal.entry.volumesCreated ?? []), volume.name])] });
      await createVolume(target.transport, volume.name, volume.labels);
    }
    onProgress?.({ type: 'transfer-step', service: volume.name, message: `copying named volume ${volume.name} to ${target.host.id}` });
    const copied = await copyVolume(source.transport, helpers.source, target.transport, helpers.target, volume.name);
    onProgress?.({ type: 'transfer-step', service: volume.name, message: `copied ${copied.bytes} bytes of tar (${copied.keeps} kept)` });
  }
}

/** Compare the checksum manifests of each copied volume on both hosts. */
export async function verifyVolumes(plan: MigrationPlan, source: DockerHost, target: DockerHost, checked: PreflightResult): Promise<VerifiedVolume[]> {
  const helpers = checked.volumeHelpers;
  const verified: VerifiedVolume[] = [];
  for (const volume of (checked.volumes ?? []).filter((v) => v.onSource)) {
    if (!helpers) break;
    const [before, after] = await Promise.all([volumeManifest(source.transport, helpers.source, volume.name), volumeManifest(target.transport, helpers.target, volume.name)]);
    const onTarget = new Set(after.lines);
    const onSource = new Set(before.lines);
    const missing = before.lines.filter((line) => !onTarget.has(line));
    const extra = after.lines.filter((line) => !onSource.has(line));
    if (missing.length > 0 || extra.length > 0) {
      const show = (lines: string[]) => lines.slice(0, 5).join('; ') + (lines.length > 5 ? ` (and ${lines.length - 5} more)` : '');
      throw new Error(
        `named volume ${volume.name} differs on ${plan.target}: ${missing.length > 0 ? `only on ${plan.source}: ${show(missing)}` : ''}` +
          `${missing.length > 0 && extra.length > 0 ? '; ' : ''}${extra.length > 0 ? `only on ${plan.target}: ${show(extra)}` : ''}`,
      );
    }
    verified.push({ volume: volume.name, entries: after.entries, bytes: after.bytes });
  }
  return verified;
}

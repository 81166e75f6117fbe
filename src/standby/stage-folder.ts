/**
 * What a pass stages on the standby besides the data, so that the stack can
 * start there without its host (a failover): the stack folder, with the
 * files rewritten for the standby as a migration there would write them and
 * read back through the standby's own compose, in docker-mcp's directory
 * under compose_path (`.docker-mcp-standby/HOST/STACK`, which no listing of
 * stacks reads); the images the standby lacks, carried from the source
 * (those compose built there too); and the named volumes (stage-volumes.ts).
 */
import path from 'node:path';
import type { HostConfig } from '../config/schema.js';
import type { DockerHost } from '../docker/docker-host.js';
import { describeError } from '../errors.js';
import type { MigrationPlan } from '../migration/plan.js';
import { tagImage } from '../docker/images.js';
import { builtImagesToCarry } from '../migration/preflight.js';
import { copyFolder, carryImages, missingImages } from '../migration/stream-copy.js';
import { checkTargetConfig, writeTargetFiles } from '../migration/target-config.js';
import { validateHostId, validateStackName } from '../names/validate.js';
import type { StandbyDeclaration } from './declarations.js';
import { removeStaged, STAGING_DIRECTORY } from './staging.js';
import { stageVolumes, type StagedVolume } from './stage-volumes.js';
import type { StandbyPassOptions } from './sync-pass.js';

/** How the stack starts from its staged folder on the standby: what a failover runs. */
export interface StagedCompose {
  /** Where a migration to the standby would put the folder, and a failover moves the staged one. */
  readonly stackDir: string;
  /** The compose files by name in the folder, in compose's order; null: the folder's default file. */
  readonly files: readonly string[] | null;
  readonly profiles: readonly string[];
  readonly services: readonly string[];
  readonly oneShot: readonly string[];
  /** The images it runs (builds aside): a failover fills volumes with one of them. */
  readonly images?: readonly string[];
  /** Compose builds some image: started with --no-build, from the builds carried. */
  readonly built: boolean;
}

export interface StagedStack {
  /** The staged folder on the standby, checked by its compose; null when it could not be staged (see `problems`). */
  readonly folder: string | null;
  /** How to start it there; null when the folder could not be staged. */
  readonly compose: StagedCompose | null;
  /** Images carried to the standby by this pass. */
  readonly imagesCarried: readonly string[];
  /** Named volumes staged as tar files (stage-volumes.ts). */
  readonly volumes: readonly StagedVolume[];
  /** What could not be staged, and why: a failover could not start the stack from this pass alone. */
  readonly problems: readonly string[];
  /** What a failover would still need from elsewhere, though the pass did its part. */
  readonly warnings: readonly string[];
}

/** Where `standby` keeps the stack folder of `sourceHostId`'s `stack`, or null without a compose_path. */
export function stagedFolderDir(standby: HostConfig, sourceHostId: string, stack: string): string | null {
  if (!standby.compose_path) return null;
  return path.posix.join(standby.compose_path, STAGING_DIRECTORY, validateHostId(sourceHostId), validateStackName(stack));
}

/**
 * Stage the folder (afresh each pass: a folder is small, and what the stack
 * changed in it since is then in the copy) and the missing images. Failures
 * are returned, not thrown: the data the pass sent stands.
 */
export async function stageStack(source: DockerHost, standby: DockerHost, plan: MigrationPlan, sourceHostId: string, throttle?: { bytesPerSecond: number }): Promise<StagedStack> {
  const problems: string[] = [];
  const warnings: string[] = [];
  let folder: string | null = stagedFolderDir(standby.host, sourceHostId, plan.stack);
  if (folder === null) {
    problems.push(`the stack folder: ${standby.host.id} has no compose_path in hosts.yml`);
  } else {
    try {
      await removeStaged(standby, folder, true);
      await copyFolder(source.transport, plan.sourceStackDir, standby.transport, folder, throttle, { whileInUse: true });
      const staged = { ...plan, targetStackDir: folder };
      await writeTargetFiles(standby, staged);
      await checkTargetConfig(standby, staged, source.host.appdata_path ?? '/');
    } catch (error) {
      problems.push(`the stack folder ${plan.sourceStackDir}: ${describeError(error)}`);
      folder = null;
    }
  }
  let imagesCarried: string[] = [];
  try {
    const lacking = await missingImages(standby.transport, plan.images);
    const notOnSource = await missingImages(source.transport, lacking);
    const pulled = lacking.filter((image) => !notOnSource.includes(image));
    if (notOnSource.length > 0) warnings.push(`images ${notOnSource.join(', ')} are on neither host: compose would pull them on a failover`);
    // What compose built on the source goes as it is: the standby never builds, and its build could differ.
    const built = await builtImagesToCarry(plan, source, standby);
    for (const b of built.missingOnSource) {
      problems.push(`image ${b.image}, which compose builds for ${b.service}: ${source.host.id} has none, so none was staged (compose build ${b.service} there)`);
    }
    imagesCarried = [...pulled, ...built.carry.map((b) => b.image)];
    await carryImages(source.transport, standby.transport, imagesCarried, throttle);
    for (const b of built.carry) if (b.as !== b.image) await tagImage(standby.transport, b.image, b.as);
    imagesCarried = [...pulled, ...built.carry.map((b) => b.as)];
  } catch (error) {
    problems.push(`images ${imagesCarried.join(', ')}: ${describeError(error)}`);
    imagesCarried = [];
  }
  const volumes = await stageVolumes(source, standby, plan, sourceHostId, throttle);
  const compose: StagedCompose | null =
    folder === null
      ? null
      : {
          stackDir: plan.targetStackDir,
          files: plan.composeFiles ? [...plan.composeFiles] : null,
          profiles: [...(plan.profiles ?? [])],
          services: [...plan.services],
          oneShot: [...(plan.oneShot ?? [])],
          images: [...plan.images],
          built: (plan.builtImages ?? []).length > 0,
        };
  return { folder, compose, imagesCarried, volumes: volumes.staged, problems: [...problems, ...volumes.problems], warnings: [...warnings, ...volumes.warnings] };
}

/** After the data arrived: the folder and the images, said as a phase. */
export async function stageFolderAndImages(source: DockerHost, standby: DockerHost, plan: MigrationPlan, declaration: StandbyDeclaration, options: StandbyPassOptions): Promise<StagedStack> {
  options.onProgress?.({ type: 'migration-phase', phase: 'stage', message: `the stack folder, missing images and named volumes to ${declaration.to}, the folder checked by its compose` });
  return stageStack(source, standby, plan, declaration.host, options.bwlimit ? { bytesPerSecond: options.bwlimit } : undefined);
}

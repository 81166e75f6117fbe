/**
 * A migration plan is a value: what moves where, by which method, and the
 * ordered steps. It is computed without touching a host (from the stack's
 * compose file and the two hosts' configuration), printed by --dry-run, and
 * walked by the executor.
 */
import path from 'node:path';
import type { HostConfig } from '../config/schema.js';
import { parseComposeFile } from '../docker/compose-file.js';
import { InvalidInputError } from '../errors.js';
import { relativePathInside, validateStackName } from '../names/validate.js';
import { chooseMethod, type ServicePaths } from '../transfer/transfer-services.js';
import { rewriteComposePaths } from './rewrite-compose.js';

export interface PlannedDataPath extends ServicePaths {
  /** Services of the stack that mount it. */
  readonly usedBy: readonly string[];
  readonly method: 'zfs' | 'rsync';
}

export interface PlanStep {
  readonly phase: 'preflight' | 'seed' | 'stop' | 'final-sync' | 'stack-folder' | 'images' | 'start' | 'verify';
  readonly host: string;
  readonly description: string;
}

export interface MigrationPlan {
  readonly id: string;
  readonly stack: string;
  readonly source: string;
  readonly target: string;
  readonly mode: 'low-downtime' | 'cold';
  readonly sourceStackDir: string;
  readonly targetStackDir: string;
  readonly composeFileName: string;
  readonly services: readonly string[];
  readonly dataPaths: readonly PlannedDataPath[];
  /** Named volumes and binds outside appdata and the stack folder: not moved. */
  readonly notMoved: readonly { readonly service: string; readonly source: string; readonly reason: string }[];
  readonly images: readonly string[];
  readonly composeChanges: readonly string[];
  readonly targetComposeText: string;
  readonly steps: readonly PlanStep[];
}

export interface PlanInput {
  readonly id: string;
  readonly stack: string;
  readonly source: HostConfig;
  readonly target: HostConfig;
  /** The compose file as stored on the source, and its path there. */
  readonly composeText: string;
  readonly composeFile: string;
  readonly cold?: boolean;
  readonly method?: 'auto' | 'zfs' | 'rsync';
}

function needs(host: HostConfig, field: 'compose_path' | 'appdata_path'): string {
  const value = host[field];
  if (!value) throw new InvalidInputError('host', host.id, `needs ${field} in hosts.yml to take part in a migration`);
  return value;
}

export function planMigration(input: PlanInput): MigrationPlan {
  const stack = validateStackName(input.stack);
  if (input.source.id === input.target.id) throw new InvalidInputError('target host', input.target.id, 'is the source host');
  const sourceAppdata = needs(input.source, 'appdata_path');
  const targetAppdata = needs(input.target, 'appdata_path');
  const sourceStackDir = path.posix.dirname(input.composeFile);
  const targetStackDir = `${needs(input.target, 'compose_path')}/${stack}`;
  const summary = parseComposeFile(input.composeText, sourceStackDir, sourceAppdata);

  const byPath = new Map<string, Set<string>>();
  const notMoved: { service: string; source: string; reason: string }[] = [];
  for (const mount of summary.dataPaths) {
    if (mount.kind === 'volume') {
      notMoved.push({ service: mount.service, source: mount.source, reason: 'a named volume: docker-mcp moves bind mounts under appdata_path' });
    } else if (mount.hasVariables) {
      notMoved.push({ service: mount.service, source: mount.source, reason: 'the path holds ${VAR}; write it out in the compose file' });
    } else if (mount.underAppdata) {
      byPath.set(mount.source, (byPath.get(mount.source) ?? new Set()).add(mount.service));
    } else if (mount.source !== sourceStackDir && !mount.source.startsWith(`${sourceStackDir}/`)) {
      notMoved.push({ service: mount.service, source: mount.source, reason: 'outside appdata_path and the stack folder' });
    }
  }
  // A path inside another moved path travels with it.
  const paths = [...byPath.keys()].sort();
  const outer = paths.filter((p) => !paths.some((other) => other !== p && p.startsWith(`${other}/`)));
  const dataPaths = outer.map((sourcePath): PlannedDataPath => {
    const relative = relativePathInside(sourceAppdata, sourcePath, 'service data path');
    const service: ServicePaths = { service: relative, sourcePath, targetPath: `${targetAppdata}/${relative}` };
    const usedBy = paths.filter((p) => p === sourcePath || p.startsWith(`${sourcePath}/`)).flatMap((p) => [...(byPath.get(p) ?? [])]);
    return {
      ...service,
      usedBy: [...new Set(usedBy)].sort(),
      method: chooseMethod({ source: { host: input.source }, target: { host: input.target }, method: input.method ?? 'auto' }, service),
    };
  });

  const rewritten = rewriteComposePaths(input.composeText, sourceAppdata, targetAppdata);
  const images = [...new Set(Object.values(summary.images).filter((image): image is string => image !== null))].sort();
  const cold = input.cold ?? false;
  const s = input.source.id;
  const t = input.target.id;
  const moves = dataPaths.map((d) => `${d.sourcePath} → ${t}:${d.targetPath} (${d.method})`);
  const steps: PlanStep[] = [
    { phase: 'preflight', host: t, description: `check that no stack "${stack}" exists on ${t}, that its appdata has room, and which images it lacks` },
    ...(cold ? [] : moves.map((move): PlanStep => ({ phase: 'seed', host: s, description: `seed while the stack runs: ${move}` }))),
    { phase: 'stop', host: s, description: `stop the stack (compose down) on ${s}` },
    ...moves.map((move): PlanStep => ({ phase: 'final-sync', host: s, description: `${cold ? 'copy' : 'send what changed since the seed'}: ${move}` })),
    { phase: 'verify', host: t, description: 'compare a manifest of every data path on both hosts (nothing runs on either copy yet)' },
    { phase: 'stack-folder', host: t, description: `copy ${sourceStackDir} to ${t}:${targetStackDir}, compose file rewritten (${rewritten.changes.length} paths)` },
    { phase: 'images', host: t, description: `carry images ${t} lacks (docker save | docker load): checked among ${images.join(', ') || 'none'}` },
    { phase: 'start', host: t, description: `compose up -d on ${t}, wait until every service runs (healthy where it has a healthcheck)` },
  ];
  return {
    id: input.id,
    stack,
    source: s,
    target: t,
    mode: cold ? 'cold' : 'low-downtime',
    sourceStackDir,
    targetStackDir,
    composeFileName: path.posix.basename(input.composeFile),
    services: summary.services,
    dataPaths,
    notMoved,
    images,
    composeChanges: rewritten.changes,
    targetComposeText: rewritten.text,
    steps,
  };
}

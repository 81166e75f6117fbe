/**
 * The stack folder on the target: the files rewritten for it written in
 * place, then the result read back through compose's own `config` there, so
 * that every bind that lay under the source's appdata is known to resolve
 * under the target's before anything starts.
 */
import path from 'node:path';
import { readResolvedProject, type ResolvedProject } from '../docker/compose-config.js';
import type { DockerHost } from '../docker/docker-host.js';
import { hostCompose } from '../docker/stacks.js';
import { andThen, command, redirect } from '../ssh/quote.js';
import type { MigrationPlan } from './plan.js';

export async function writeTargetFiles(target: DockerHost, plan: MigrationPlan): Promise<void> {
  for (const file of plan.targetFiles ?? []) {
    if (!file.changed) continue;
    // Staged next to the final name, then renamed: compose never reads half a file. 0600: .env holds secrets.
    const final = path.posix.join(plan.targetStackDir, file.name);
    const staged = `${final}.docker-mcp-new`;
    await target.transport.exec(andThen(command(['umask', '077']), redirect(command(['cat']), { stdoutFile: staged }), command(['mv', '-f', '--', staged, final])), { input: file.text });
  }
}

/** Compose's resolved config of the stack on the target; throws naming each bind that does not land under the target's appdata. */
export async function checkTargetConfig(target: DockerHost, plan: MigrationPlan, sourceAppdata: string): Promise<ResolvedProject> {
  const configFiles = (plan.composeFiles ?? [plan.composeFileName]).map((name) => path.posix.join(plan.targetStackDir, name));
  const resolved = await readResolvedProject(target, await hostCompose(target), { project: plan.stack, workingDir: plan.targetStackDir, configFiles }, plan.profiles ?? []);
  const wrong = misplacedBinds(plan, resolved, sourceAppdata);
  if (wrong.length > 0) throw new Error(`on ${plan.target}, compose resolves these mounts elsewhere than their data was moved to: ${wrong.join('; ')}`);
  return resolved;
}

/** Each bind under the source's appdata must resolve, on the target, to the path its data went to. Pure. */
export function misplacedBinds(plan: MigrationPlan, resolved: ResolvedProject, sourceAppdata: string): string[] {
  const wrong: string[] = [];
  for (const mount of plan.mounts ?? []) {
    if (mount.kind !== 'bind' || !(mount.source === sourceAppdata || mount.source.startsWith(`${sourceAppdata}/`))) continue;
    const moved = plan.dataPaths.find((d) => mount.source === d.sourcePath || mount.source.startsWith(`${d.sourcePath}/`));
    if (!moved) continue;
    const expected = `${moved.targetPath}${mount.source.slice(moved.sourcePath.length)}`;
    const onTarget = resolved.mounts.find((m) => m.service === mount.service && m.target === mount.target);
    const volume = onTarget?.type === 'volume' ? resolved.volumes.find((v) => v.key === onTarget.source) : undefined;
    const actual = onTarget?.type === 'bind' ? onTarget.source : (volume?.bindDevice ?? onTarget?.source ?? '(not mounted)');
    if (actual !== expected) wrong.push(`${mount.service}:${mount.target} is ${actual}, its data is at ${expected}`);
  }
  return wrong;
}

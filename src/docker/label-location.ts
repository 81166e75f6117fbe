/**
 * The engine's compose labels (`com.docker.compose.project.working_dir` and
 * `.config_files`) are hints: anybody who can start a container writes them.
 * They say where a stack lives only when they resolve, on the host, to a
 * compose file name in one stack folder directly under compose_path
 * (`<compose_path>/<name>/<compose or override file>`), with the working
 * directory that folder. Anything else (`/etc/shadow`, compose_path itself,
 * a folder deeper down or elsewhere) is ignored, and the stack has no place
 * docker-mcp reads, changes or removes.
 */
import path from 'node:path';
import { resolvePaths, type ResolvedPath } from '../host/resolve-paths.js';
import type { SshTransport } from '../ssh/transport.js';
import type { StackLocation } from './compose-config.js';
import { stackNameOfComposeFile, stackNameOfFolder } from './stack-folder-layout.js';

/** What one project's containers say about where it was started. */
export interface LabelHint {
  readonly project: string;
  readonly workingDir: string | null;
  /** As the labels write them: compose v1 writes them relative to the working directory. */
  readonly configFiles: readonly string[];
}

export type LabelVerdict = { readonly location: StackLocation } | { readonly ignored: string };

/** Every project's labels checked on the host, in one round trip, by project name. */
export async function checkLabelHints(transport: SshTransport, composeRoot: string, hints: readonly LabelHint[]): Promise<Map<string, LabelVerdict>> {
  if (hints.length === 0) return new Map();
  const asked = new Set<string>([composeRoot]);
  for (const hint of hints) for (const p of pathsOf(hint) ?? []) asked.add(p);
  const resolved = new Map((await resolvePaths(transport, [...asked])).map((r) => [r.path, r]));
  return new Map(hints.map((hint) => [hint.project, judgeLabelHint(hint, composeRoot, resolved)]));
}

/** The verdict on one project's labels, from where each path resolved on the host. Pure. */
export function judgeLabelHint(hint: LabelHint, composeRoot: string, resolved: ReadonlyMap<string, ResolvedPath>): LabelVerdict {
  const paths = pathsOf(hint);
  if (paths === null) return { ignored: 'its containers carry no usable working_dir and config_files labels' };
  const [workingDir, ...files] = paths as [string, ...string[]];
  const realRoot = resolved.get(composeRoot)?.real ?? composeRoot;
  const at = (p: string) => resolved.get(p) ?? { path: p, real: p, kind: 'missing' as const };
  const folder = at(workingDir);
  const name = folder.kind === 'directory' ? stackNameOfFolder(realRoot, folder.real) : null;
  const where = `docker-mcp reads a stack only from a compose file in a folder directly under compose_path ${composeRoot}`;
  if (name === null) return { ignored: `its working_dir label ${JSON.stringify(workingDir)} resolves to ${JSON.stringify(folder.real)}, not a stack folder: ${where}` };
  const configFiles: string[] = [];
  for (const file of files) {
    const real = at(file);
    if (real.kind !== 'file' || stackNameOfComposeFile(realRoot, real.real, { overrides: true }) !== name) {
      return { ignored: `its config_files label names ${JSON.stringify(file)}, which resolves to ${JSON.stringify(real.real)}, not a compose file in ${composeRoot}/${name}: ${where}` };
    }
    configFiles.push(`${composeRoot}/${name}/${path.posix.basename(real.real)}`);
  }
  return { location: { project: hint.project, workingDir: `${composeRoot}/${name}`, configFiles } };
}

/** The working directory, then the config files made absolute; null when the labels give no usable pair. */
export function pathsOf(hint: LabelHint): string[] | null {
  const { workingDir, configFiles } = hint;
  const usable = (p: string) => p !== '' && !p.includes('\0');
  if (!workingDir || !workingDir.startsWith('/') || !usable(workingDir) || configFiles.length === 0 || !configFiles.every(usable)) return null;
  return [workingDir, ...configFiles.map((file) => path.posix.resolve(workingDir, file))];
}

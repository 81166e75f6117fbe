/**
 * What a stack folder looks like: `<compose_path>/<stack name>/<compose file>`,
 * with the compose file one of the names compose looks for, or its
 * `*.override.*` file. Pure.
 */
import { validateStackName } from '../names/validate.js';

export const COMPOSE_FILE_NAMES = ['docker-compose.yml', 'docker-compose.yaml', 'compose.yml', 'compose.yaml'] as const;

/** The override file compose reads beside each compose file name. */
export const OVERRIDE_FILE_NAMES: readonly string[] = COMPOSE_FILE_NAMES.map((name) => name.replace(/\.(ya?ml)$/, '.override.$1'));

/** The stack folder's name when `folder` is `<root>/<valid stack name>` exactly; null for anything else. */
export function stackNameOfFolder(root: string, folder: string): string | null {
  if (!folder.startsWith(`${root}/`)) return null;
  const name = folder.slice(root.length + 1);
  if (name.includes('/')) return null;
  try {
    return validateStackName(name);
  } catch {
    return null;
  }
}

/** `<root>/<name>/<compose file name>` exactly, with a valid stack name; null for anything else. */
export function stackNameOfComposeFile(root: string, file: string, options: { overrides?: boolean } = {}): string | null {
  const slash = file.lastIndexOf('/');
  const fileName = file.slice(slash + 1);
  const allowed: readonly string[] = options.overrides ? [...COMPOSE_FILE_NAMES, ...OVERRIDE_FILE_NAMES] : COMPOSE_FILE_NAMES;
  return allowed.includes(fileName) ? stackNameOfFolder(root, file.slice(0, slash)) : null;
}

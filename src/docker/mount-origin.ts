/**
 * Where a mount's host path is written: the compose file (and line) that
 * declares the mount, or, when its source is a `${VAR}`, the `.env` line that
 * sets VAR. Compose tells what a mount resolves to; only the files' own text
 * tells where to change it. Pure.
 */
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { normaliseHostPath } from '../names/validate.js';

export interface StackFile {
  readonly path: string;
  readonly text: string;
}

export interface StackFiles {
  /** In compose's order: later files override earlier ones. */
  readonly composeFiles: readonly StackFile[];
  /** The project directory's `.env`, when there is one. */
  readonly envFile: StackFile | null;
}

export interface MountOrigin {
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** The variable the path comes from, when it does. */
  readonly variable: string | null;
  /** What is written there: the raw volume entry, or the .env line. */
  readonly written: string;
}

/** A source that starts with a variable: `${NAME}`, `${NAME:-default}`, `$NAME`. */
const LEADING_VARIABLE = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)/;

/** Where the mount of `service` at `target` gets its source: null when no file declares it. */
export function mountOrigin(files: StackFiles, service: string, target: string): MountOrigin | null {
  for (const file of [...files.composeFiles].reverse()) {
    const entry = volumeEntry(file, service, target);
    if (!entry) continue;
    const variable = LEADING_VARIABLE.exec(entry.source)?.[1] ?? null;
    if (variable !== null && files.envFile) {
      const line = envLine(files.envFile.text, variable);
      if (line !== null) return { file: files.envFile.path, line: line.number, variable, written: line.text };
    }
    return { file: file.path, line: entry.line, variable, written: entry.raw };
  }
  return null;
}

/** The 1-based line of `.env` that sets `name` (the last one wins, as in compose), or null. */
export function envLine(text: string, name: string): { readonly number: number; readonly text: string } | null {
  const lines = text.split('\n');
  const setter = new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=`);
  for (let index = lines.length - 1; index >= 0; index--) {
    if (setter.test(lines[index] as string)) return { number: index + 1, text: (lines[index] as string).replace(/\r$/, '') };
  }
  return null;
}

function volumeEntry(file: StackFile, service: string, target: string): { source: string; raw: string; line: number } | null {
  const counter = new LineCounter();
  const document = parseDocument(file.text, { lineCounter: counter });
  if (document.errors.length > 0) return null;
  const services = document.get('services');
  if (!isMap(services)) return null;
  const definition = services.get(service, true);
  if (!isMap(definition)) return null;
  const volumes = definition.get('volumes', true);
  if (!isSeq(volumes)) return null;
  const lineOf = (node: Node) => counter.linePos(node.range?.[0] ?? 0).line;
  for (const item of volumes.items) {
    if (isScalar(item) && typeof item.value === 'string') {
      const [source = '', entryTarget] = splitVolumeSpec(item.value);
      if (entryTarget !== undefined && normaliseHostPath(entryTarget) === normaliseHostPath(target)) return { source, raw: item.value, line: lineOf(item) };
    } else if (isMap(item)) {
      const sourceNode = item.get('source', true);
      const entryTarget = item.get('target');
      if (typeof entryTarget === 'string' && normaliseHostPath(entryTarget) === normaliseHostPath(target) && isScalar(sourceNode) && typeof sourceNode.value === 'string') {
        return { source: sourceNode.value, raw: sourceNode.value, line: lineOf(sourceNode) };
      }
    }
  }
  return null;
}

/** Split "SOURCE:TARGET[:MODE]" on colons outside `${...}` (whose `:-default` has one). */
export function splitVolumeSpec(spec: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (let i = 0; i < spec.length; i++) {
    const char = spec[i] as string;
    if (char === '$' && spec[i + 1] === '{') depth++;
    else if (char === '}' && depth > 0) depth--;
    if (char === ':' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current);
  return parts;
}

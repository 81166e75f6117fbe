/**
 * The compose file for the target host: bind-mount sources under the
 * source's appdata path are moved to the target's; everything else
 * (comments, order, anchors, quoting, spacing) stays byte for byte: the
 * document is parsed only to find the scalars, and just their path prefix is
 * replaced in the original text.
 */
import { isMap, isScalar, isSeq, parseDocument, type Scalar } from 'yaml';
import { InvalidInputError } from '../errors.js';

export interface RewrittenCompose {
  readonly text: string;
  /** Each change, "old → new". */
  readonly changes: readonly string[];
}

export function rewriteComposePaths(text: string, fromPrefix: string, toPrefix: string): RewrittenCompose {
  const document = parseDocument(text);
  if (document.errors.length > 0) throw new InvalidInputError('compose file', '(stack)', document.errors.map((e) => e.message).join('; '));
  const changes: string[] = [];
  const edits: { start: number; end: number; replacement: string }[] = [];
  const edit = (node: Scalar<string>, updated: string) => {
    const [start, end] = node.range ?? [];
    if (start === undefined || end === undefined) return;
    const raw = text.slice(start, end);
    const at = raw.indexOf(fromPrefix);
    if (at < 0) throw new InvalidInputError('compose file', node.value, 'has an escaped path docker-mcp cannot rewrite safely');
    edits.push({ start: start + at, end: start + at + fromPrefix.length, replacement: toPrefix });
    changes.push(`${node.value} → ${updated}`);
  };
  const moved = (source: string): string | null => {
    if (source === fromPrefix) return toPrefix;
    return source.startsWith(`${fromPrefix}/`) ? `${toPrefix}${source.slice(fromPrefix.length)}` : null;
  };
  const services = document.get('services');
  if (!isMap(services)) throw new InvalidInputError('compose file', '(stack)', 'has no "services" mapping');
  for (const service of services.items) {
    if (!isMap(service.value)) continue;
    const volumes = service.value.get('volumes', true);
    if (!isSeq(volumes)) continue;
    for (const entry of volumes.items) {
      if (isScalar(entry) && typeof entry.value === 'string') {
        const [source, ...rest] = entry.value.split(':');
        const target = source === undefined ? null : moved(source);
        if (target !== null) edit(entry as Scalar<string>, [target, ...rest].join(':'));
      } else if (isMap(entry)) {
        const sourceNode = entry.get('source', true);
        if (isScalar(sourceNode) && typeof sourceNode.value === 'string') {
          const target = moved(sourceNode.value);
          if (target !== null) edit(sourceNode as Scalar<string>, target);
        }
      }
    }
  }
  // Named volumes that are binds in disguise (driver_opts device).
  const volumes = document.get('volumes');
  if (isMap(volumes)) {
    for (const volume of volumes.items) {
      if (!isMap(volume.value)) continue;
      const options = volume.value.get('driver_opts', true);
      if (!isMap(options)) continue;
      const device = options.get('device', true);
      if (isScalar(device) && typeof device.value === 'string') {
        const target = moved(device.value);
        if (target !== null) edit(device as Scalar<string>, target);
      }
    }
  }
  let rewritten = text;
  for (const { start, end, replacement } of edits.sort((a, b) => b.start - a.start)) {
    rewritten = rewritten.slice(0, start) + replacement + rewritten.slice(end);
  }
  return { text: rewritten, changes };
}

/**
 * The `.env` for the target: in the lines that set `variables`, a value under
 * `fromPrefix` is moved to `toPrefix`. Every other byte (comments, order,
 * quoting, other variables) stays as it was.
 */
export function rewriteEnvPaths(text: string, fromPrefix: string, toPrefix: string, variables: ReadonlySet<string>): RewrittenCompose {
  const changes: string[] = [];
  const lines = text.split('\n').map((line) => {
    const match = /^(\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*["']?)(.*)$/.exec(line);
    if (!match || !variables.has(match[2] as string)) return line;
    const [, head = '', name = '', value = ''] = match;
    if (value !== fromPrefix && !value.startsWith(`${fromPrefix}/`) && !value.startsWith(`${fromPrefix}"`) && !value.startsWith(`${fromPrefix}'`)) return line;
    const updated = `${head}${toPrefix}${value.slice(fromPrefix.length)}`;
    changes.push(`${name}: ${line.trim()} → ${updated.trim()}`);
    return updated;
  });
  return { text: lines.join('\n'), changes };
}

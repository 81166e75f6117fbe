/**
 * The Python tool's `options` of docker_compose, turned into the compose
 * flags they name. A key this action does not know, or a value it cannot
 * take, is refused with the keys it does know: never silently dropped.
 */
import { InvalidInputError } from '../../errors.js';
import { validateServiceName } from '../../names/validate.js';

export type ComposeOptions = Readonly<Record<string, string | number | boolean>>;

type OptionRule = { readonly kind: 'switch'; readonly flag: string } | { readonly kind: 'value'; readonly flag: string; readonly check: (value: string) => boolean; readonly expected: string };

const PULL_POLICIES = ['always', 'missing', 'never', 'build'];
const wholeSeconds = (value: string) => /^\d{1,4}$/.test(value);

/** The keys the Python tool reads for each action (its `_build_*_args`), and the flag each one means. */
const RULES: Readonly<Record<string, Readonly<Record<string, OptionRule>>>> = {
  up: {
    force_recreate: { kind: 'switch', flag: '--force-recreate' },
    build: { kind: 'switch', flag: '--build' },
    pull: { kind: 'switch', flag: '--pull' },
    pull_policy: { kind: 'value', flag: '--pull', check: (v) => PULL_POLICIES.includes(v), expected: PULL_POLICIES.join('|') },
  },
  down: {
    volumes: { kind: 'switch', flag: '--volumes' },
    remove_orphans: { kind: 'switch', flag: '--remove-orphans' },
  },
  restart: { timeout: { kind: 'value', flag: '--timeout', check: wholeSeconds, expected: 'whole seconds' } },
  pull: { ignore_pull_failures: { kind: 'switch', flag: '--ignore-pull-failures' } },
  build: {
    no_cache: { kind: 'switch', flag: '--no-cache' },
    pull: { kind: 'switch', flag: '--pull' },
  },
  ps: {},
};

export interface ComposeArguments {
  /** Flags after the compose subcommand. */
  readonly flags: readonly string[];
  /** `services`: only these services (the Python tool's service filter). */
  readonly services: readonly string[];
}

export function composeArguments(action: string, options: ComposeOptions | undefined): ComposeArguments {
  const rules = RULES[action];
  const entries = Object.entries(options ?? {});
  if (!rules) {
    if (entries.length > 0) throw new InvalidInputError('options', JSON.stringify(options), `are not taken by ${action}`);
    return { flags: [], services: [] };
  }
  const flags: string[] = [];
  let services: string[] = [];
  let pullPolicy: string | undefined;
  let pull = false;
  for (const [key, raw] of entries) {
    const value = String(raw).trim();
    if (key === 'services') {
      services = value.split(',').map((name) => validateServiceName(name.trim())).filter(Boolean);
      continue;
    }
    const rule = rules[key];
    if (!rule) {
      const known = [...Object.keys(rules), 'services'].join(', ');
      throw new InvalidInputError(`options.${key}`, value, `is not an option of ${action}; it takes: ${known}`);
    }
    if (rule.kind === 'value') {
      if (!rule.check(value)) throw new InvalidInputError(`options.${key}`, value, `must be ${rule.expected}`);
      if (action === 'up' && key === 'pull_policy') pullPolicy = value;
      else flags.push(rule.flag, value);
      continue;
    }
    if (!switchValue(key, value)) continue;
    if (action === 'up' && key === 'pull') pull = true;
    else flags.push(rule.flag);
  }
  // As the Python tool: `pull` asks for a pull, `pull_policy` says which (default always).
  if (pull || pullPolicy !== undefined) flags.push('--pull', pullPolicy ?? 'always');
  return { flags, services };
}

/** "true"/"false" (the Python schema's strings) or a boolean; anything else is refused, not read as true. */
function switchValue(key: string, value: string): boolean {
  const lower = value.toLowerCase();
  if (['true', '1', 'yes'].includes(lower)) return true;
  if (['false', '0', 'no', ''].includes(lower)) return false;
  throw new InvalidInputError(`options.${key}`, value, 'must be true or false');
}

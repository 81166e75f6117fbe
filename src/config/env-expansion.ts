/**
 * `$VAR` and `${VAR}` in hosts.yml values. Only a short list of harmless
 * variables is expanded (the Python docker-mcp keeps a similar allowlist):
 * expanding any variable would let a value such as `${AWS_SECRET_ACCESS_KEY}`
 * show a secret in `list` or send it to DNS as part of a hostname. Others are
 * left as written. `$$` is a literal `$`, which is how values the tool itself
 * writes (some chosen by MCP clients) are stored: never expanded.
 */
export const EXPANDED_VARIABLES: readonly string[] = [
  'HOME',
  'USER',
  'LOGNAME',
  'XDG_CONFIG_HOME',
  'XDG_DATA_HOME',
  'COMPOSE_PATH',
  'APPDATA_PATH',
  'SSH_CONFIG_PATH',
];

const REFERENCE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/** Expand the allowed variables in every string of a parsed YAML value. */
export function expandEnvironment(value: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string') return expandString(value, env);
  if (Array.isArray(value)) return value.map((item) => expandEnvironment(item, env));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandEnvironment(item, env)]));
  }
  return value;
}

/** A string as hosts.yml must hold it to read back exactly, unexpanded. */
export function literal(value: string): string {
  return value.replaceAll('$', () => '$$');
}

function expandString(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(REFERENCE, (match, braced?: string, bare?: string) => {
    if (match === '$$') return '$';
    const name = (braced ?? bare) as string;
    return EXPANDED_VARIABLES.includes(name) ? (env[name] ?? match) : match;
  });
}

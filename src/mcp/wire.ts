/**
 * What the MCP layer sends: the engine's typed results with every field name
 * in snake_case (the Python docker-mcp's style, which its clients read), as
 * compact JSON, and a field without a value (null) left out rather than
 * spelled out: what a model reads costs tokens. Keys that are data rather than field names stay as they are:
 * label and variable names, and anything that is not a plain identifier
 * ("80/tcp", "com.docker.compose.project").
 */

/** Fields whose value is a map of the user's own names (labels, variables, compose options): never renamed. */
const DATA_MAPS = new Set(['labels', 'environment', 'options', 'env']);

export function toWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toWire);
  if (value instanceof Date) return value.toISOString();
  if (value === null || typeof value !== 'object') return value;
  const wire: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    if (field === undefined || field === null) continue;
    const name = snakeCase(key);
    wire[name] = DATA_MAPS.has(name) ? field : toWire(field);
  }
  return wire;
}

/** `roundTripMs` → `round_trip_ms`, `IPAddress` → `ip_address`; anything but a plain identifier is returned as is. */
export function snakeCase(key: string): string {
  if (!/^[A-Za-z][A-Za-z0-9]*$/.test(key)) return key;
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** Compact JSON: what a model reads costs tokens, and indentation is most of a nested answer. */
export function wireText(value: unknown): string {
  return JSON.stringify(value);
}

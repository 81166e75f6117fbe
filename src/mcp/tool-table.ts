/**
 * The tools of one server, and the answer to `tools/call`. The SDK lists the
 * tools from their zod schemas; the calls are answered here, so that a call
 * whose arguments fail the input schema is a failure like any other: a tool
 * error with structured content naming each bad parameter, not plain text.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolRequestSchema, type CallToolResult, type ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { DockerMcpError, type ErrorKind } from '../errors.js';
import { log } from '../log.js';
import { auditedArguments, type AuditRecord } from './audit.js';
import { confirmationOf } from './confirm.js';
import type { ToolExtra } from './progress.js';
import { toolFailure } from './tool-result.js';

export interface ToolDefinition<Shape extends z.ZodRawShape> {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly inputShape: Shape;
  readonly outputSchema: z.ZodObject;
  readonly annotations: ToolAnnotations;
  readonly run: (input: z.output<z.ZodObject<Shape>>, extra: ToolExtra) => Promise<CallToolResult>;
}

/** Arguments that do not match the tool's input schema: nothing was run. */
export class InvalidArgumentsError extends DockerMcpError {
  readonly kind = 'bad-input' as const;

  constructor(tool: string, problems: readonly string[]) {
    super(`input validation error for ${tool}: ${problems.join('; ')}`);
  }
}

interface Entry {
  readonly schema: z.ZodObject;
  readonly run: (input: unknown, extra: ToolExtra) => Promise<CallToolResult>;
}

export class ToolTable {
  private readonly tools = new Map<string, Entry>();

  /** `audit`: where each call's record goes (the audit file; a test's list). */
  constructor(
    private readonly server: McpServer,
    private readonly audit?: (record: AuditRecord) => Promise<void>,
  ) {}

  add<Shape extends z.ZodRawShape>(tool: ToolDefinition<Shape>): void {
    const { name, title, description, inputShape, outputSchema, annotations } = tool;
    const run = (input: unknown, extra: ToolExtra) => tool.run(input as z.output<z.ZodObject<Shape>>, extra);
    // Registered with the SDK for tools/list; calls come to `serve`'s handler, which runs the same function.
    this.server.registerTool(name, { title, description, inputSchema: inputShape, outputSchema, annotations }, run as never);
    this.tools.set(name, { schema: z.object(inputShape), run });
  }

  /** Answer tools/call here from now on (after every tool is added). */
  serve(): void {
    this.server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      const started = Date.now();
      const args = request.params.arguments ?? {};
      const result = await this.call(request.params.name, args, extra);
      // A record that cannot be written is a warning, not a failed call: the action is done by now.
      await this.audit?.(auditRecord(request.params.name, args, result, extra, Date.now() - started)).catch((error: unknown) =>
        log.warn(`the audit record of a ${request.params.name} call was not written: ${(error as Error).message}`),
      );
      return result;
    });
  }

  private async call(name: string, args: Record<string, unknown>, extra: ToolExtra): Promise<CallToolResult> {
    const action = typeof args.action === 'string' ? args.action : undefined;
    const hostId = typeof args.host_id === 'string' && args.host_id !== '' ? args.host_id : undefined;
    const tool = this.tools.get(name);
    if (!tool) return toolFailure(action, hostId, new InvalidArgumentsError(name, [`no tool of that name; there are ${[...this.tools.keys()].join(', ')}`]));
    const parsed = tool.schema.safeParse(args);
    if (!parsed.success) return toolFailure(action, hostId, new InvalidArgumentsError(name, parsed.error.issues.map((issue) => describeIssue(issue, args))));
    return tool.run(parsed.data, extra);
  }
}

function auditRecord(tool: string, args: Record<string, unknown>, result: CallToolResult, extra: ToolExtra, durationMs: number): AuditRecord {
  const confirmation = confirmationOf(extra);
  const failure = result.isError ? (result.structuredContent as { kind?: ErrorKind } | undefined) : undefined;
  const outcome = !result.isError ? 'ok' : confirmation === 'declined' || confirmation === 'cancelled' ? confirmation : (failure?.kind ?? 'failed');
  return {
    at: new Date().toISOString(),
    tool,
    action: typeof args.action === 'string' ? args.action : null,
    ...auditedArguments(args),
    outcome,
    duration_ms: durationMs,
    confirmed_by: confirmation === 'user' || confirmation === 'model' ? confirmation : 'none',
  };
}

/** `invalid limit "x": expected number`: the parameter, what was sent (shortened), why. */
function describeIssue(issue: z.core.$ZodIssue, args: Record<string, unknown>): string {
  const name = issue.path.map(String).join('.');
  if (name === '') return issue.message;
  const sent = issue.path.reduce<unknown>((value, key) => (value !== null && typeof value === 'object' ? (value as Record<PropertyKey, unknown>)[key] : undefined), args);
  const shown = sent === undefined ? '' : ` ${shorten(JSON.stringify(sent))}`;
  return `invalid ${name}${shown}: ${issue.message}`;
}

function shorten(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

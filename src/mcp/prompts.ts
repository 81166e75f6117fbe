/**
 * Prompts a user can pick in their client: the steps of two common jobs,
 * written for the model, in terms of this server's tools.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { GetPromptResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const name = (what: string) => z.string().max(63).describe(what);

export function registerPrompts(server: McpServer, readOnly: boolean): void {
  // On a read-only server the reading tools carry the plain names.
  const read = (tool: string) => (readOnly ? tool : `${tool}_read`);
  if (!readOnly) {
    server.registerPrompt(
      'move-stack',
      {
        title: 'Move a stack to another host',
        description: 'Plan, check and migrate a compose stack with its data from one host to another',
        argsSchema: { stack_name: name('the stack to move'), host_id: name('the host it runs on now'), target_host_id: name('the host to move it to') },
      },
      ({ stack_name, host_id, target_host_id }) =>
        userText(
          `Move the compose stack ${stack_name} from ${host_id} to ${target_host_id}.\n` +
            `1. ${read('docker_compose')} ps (host_id ${host_id}, stack_name ${stack_name}): is it running, and healthy?\n` +
            `2. docker_compose migrate with dry_run: true: read the plan (data paths, method, steps) and tell me what will move and how long the stack will be down.\n` +
            '3. Only when I say go: docker_compose migrate without dry_run (I will be asked to confirm). Report the downtime and what was verified.\n' +
            'If pre-flight refuses, tell me why and what the refusal says to do; do not use force unless I ask for it.',
        ),
    );
  }
  server.registerPrompt(
    'why-is-stack-down',
    {
      title: 'Why is this stack down?',
      description: "Find out why a compose stack is not running, from its containers' states and logs",
      argsSchema: { host_id: name('the host'), stack_name: name('the stack') },
    },
    ({ host_id, stack_name }) =>
      userText(
        `The compose stack ${stack_name} on ${host_id} is down or unhealthy. Find out why, changing nothing:\n` +
          `1. ${read('docker_compose')} ps: which containers are not running, their exit codes and health.\n` +
          `2. ${read('docker_compose')} logs (lines 200) and, for each failed container, ${read('docker_container')} info and logs.\n` +
          `3. ${read('docker_hosts')} test_connection and ports for ${host_id}: is the host reachable, is a port taken?\n` +
          'Then tell me the most likely cause, the evidence, and what you would change.',
      ),
  );
}

function userText(text: string): GetPromptResult {
  return { messages: [{ role: 'user', content: { type: 'text', text } }] };
}

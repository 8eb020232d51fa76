/**
 * The tools of PROTOCOL §4 as each runtime's tool definitions (PROTOCOL §6.3), for
 * `GET /v1/tools` and `npm run tools`. Parameters are JSON Schema generated with
 * `z.toJSONSchema` from the very schemas that validate the arguments
 * (src/tools/definitions.ts), read as *input* (`io: 'input'`: what a model may send,
 * before our transforms), descriptions in the locale's language.
 *
 * The generated schema is shaped for models, not loosened: `null` branches are left out
 * (our schemas take `null` as "not given", but a model need not be told it may send it),
 * nested `anyOf`s are flattened, and for ElevenLabs, whose tool editor takes one type per
 * property, a union keeps its first branch (a string; a number still validates).
 * @see ../../../shared/PROTOCOL.md §6.3
 */
import { z } from 'zod';
import { languageOf, type Language } from '../language/index.js';
import { toolDefinitions, type ToolName } from '../tools/definitions.js';

export const toolFormats = ['openai', 'retell', 'vapi', 'elevenlabs'] as const;
export type ToolFormat = (typeof toolFormats)[number];

export interface ToolDefinitionOptions {
  format: ToolFormat;
  locale?: string | undefined;
  /** Where runtimes reach this broker, for the URLs of HTTP runtimes' tools. */
  baseUrl?: string | undefined;
  /** The tenant the URLs are for; `{tenant}` stays as a placeholder without one. */
  tenant?: string | undefined;
}

type JsonSchema = Record<string, unknown>;

/** Flattens nested `anyOf`s and leaves out `null` branches; one branch left replaces the union. */
function forModels(schema: JsonSchema, singleType: boolean): JsonSchema {
  const branches = (node: JsonSchema): JsonSchema[] => (Array.isArray(node.anyOf) ? (node.anyOf as JsonSchema[]).flatMap(branches) : [node]);
  const walk = (node: JsonSchema): JsonSchema => {
    if (Array.isArray(node.anyOf)) {
      const { anyOf: _anyOf, ...rest } = node;
      const kept = branches(node).filter((branch) => branch.type !== 'null').map(walk);
      if (kept.length === 1 || (singleType && kept.length > 0)) return { ...rest, ...kept[0] };
      return { ...rest, anyOf: kept };
    }
    if (node.properties && typeof node.properties === 'object') {
      const properties = Object.fromEntries(Object.entries(node.properties as Record<string, JsonSchema>).map(([key, value]) => [key, walk(value)]));
      return { ...node, properties };
    }
    return node;
  };
  return walk(schema);
}

/** A tool's parameters as JSON Schema in `language`, each parameter described. */
export function parametersOf(name: ToolName, language: Language, singleType = false): JsonSchema {
  const definition = toolDefinitions[name];
  const { $schema: _schema, ...generated } = z.toJSONSchema(definition.arguments, { io: 'input' }) as JsonSchema;
  const schema = forModels(generated, singleType);
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const parameters = definition.parameters as Record<string, Record<Language, string>>;
  const described = Object.fromEntries(Object.entries(properties).map(([key, value]) => [key, parameters[key] ? { ...value, description: parameters[key][language] } : value]));
  return { type: 'object', ...schema, properties: described };
}

const names = () => Object.keys(toolDefinitions) as ToolName[];

/** The tool definitions of every tool in `format`'s shape. */
export function toolDefinitionsFor(options: ToolDefinitionOptions): unknown[] {
  const language = languageOf(options.locale);
  const base = (options.baseUrl ?? 'https://callhold.example').replace(/\/+$/, '');
  const tenant = options.tenant ?? '{tenant}';
  const description = (name: ToolName) => toolDefinitions[name].description[language];
  switch (options.format) {
    // OpenAI Realtime (session.update / call accept): flat function tools.
    case 'openai':
      return names().map((name) => ({ type: 'function', name, description: description(name), parameters: parametersOf(name, language) }));
    // Vapi function tools; every tool call goes to the tenant's server URL as a `tool-calls` message.
    case 'vapi':
      return names().map((name) => ({
        type: 'function',
        function: { name, description: description(name), parameters: parametersOf(name, language) },
        server: { url: `${base}/v1/integrations/vapi/${tenant}` },
      }));
    // Retell custom functions: one URL for all, the full payload (not "args only"), the answer spoken after.
    case 'retell':
      return names().map((name) => ({
        type: 'custom',
        name,
        description: description(name),
        url: `${base}/v1/integrations/retell/${tenant}/tools`,
        parameters: parametersOf(name, language),
        speak_during_execution: false,
        speak_after_execution: true,
        timeout_ms: 5000,
      }));
    // ElevenLabs server (webhook) tools: one URL per tool; the call's id and number ride as dynamic variables.
    case 'elevenlabs':
      return names().map((name) => {
        const parameters = parametersOf(name, language, true);
        return {
          type: 'webhook',
          name,
          description: description(name),
          api_schema: {
            url: `${base}/v1/integrations/elevenlabs/${tenant}/tools/${name}`,
            method: 'POST',
            request_headers: { Authorization: 'Bearer <tool_secret>' },
            request_body_schema: {
              ...parameters,
              description: description(name),
              properties: {
                ...(parameters.properties as object),
                conversation_id: { type: 'string', dynamic_variable: 'system__conversation_id' },
                caller_id: { type: 'string', dynamic_variable: 'system__caller_id' },
              },
              required: [...((parameters.required as string[] | undefined) ?? []), 'conversation_id', 'caller_id'],
            },
          },
        };
      });
  }
}

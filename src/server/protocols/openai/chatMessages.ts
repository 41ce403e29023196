/**
 * OpenAI chat messages as they come on the wire: checked and brought to one
 * shape (content parts joined). A conversation's tool history (an assistant's
 * tool_calls, a tool message's tool_call_id, a message's name) is kept for
 * the template, as vLLM and llama.cpp keep it; the request's own `tools` are
 * refused elsewhere, since this server cannot hold output to them.
 */
import type { ChatMessage, ToolCall } from "../../../engines/ChatTemplate.js";
import { badParam } from "../../httpErrors.js";
import { string, type Json } from "../values.js";

const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);

/** Validates OpenAI chat messages; content given as text parts is joined. */
export function readMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw badParam("messages", "must be a non-empty list of messages");
  return value.map((m, i) => {
    const where = `messages[${i}]`;
    if (!isObject(m)) throw badParam(where, "must be an object with role and content");
    const { role, content } = m;
    if (typeof role !== "string" || !ROLES.has(role)) throw badParam(`${where}.role`, `must be one of ${[...ROLES].join(", ")}`);
    return { role, content: readContent(content, `${where}.content`), ...toolFields(m, where) };
  });
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const sent = (v: unknown): boolean => v !== undefined && v !== null;

function readContent(content: unknown, where: string): string {
  if (typeof content === "string") return content;
  // An assistant message that only calls tools has content null.
  if (!sent(content)) return "";
  if (!Array.isArray(content)) throw badParam(where, "must be a string or a list of text parts");
  return content
    .map((part, j) => {
      const p = part as { type?: unknown; text?: unknown };
      if (p?.type !== "text" || typeof p.text !== "string") throw badParam(`${where}[${j}]`, "only text parts are supported");
      return p.text;
    })
    .join("");
}

type ToolFields = Pick<ChatMessage, "tool_calls" | "tool_call_id" | "name">;

/**
 * The tool fields the message sent, and only those: a key that is present
 * but undefined would still pass a template's `'tool_calls' in message`.
 */
function toolFields(m: Json, where: string): ToolFields {
  const fields: ToolFields = {};
  const calls = sent(m.tool_calls) ? readToolCalls(m.tool_calls, `${where}.tool_calls`) : [];
  // An empty list is no calls, as llama.cpp reads it (Llama 3.1's template raises on one).
  if (calls.length > 0) fields.tool_calls = calls;
  if (sent(m.tool_call_id)) fields.tool_call_id = string(m.tool_call_id, `${where}.tool_call_id`);
  if (sent(m.name)) fields.name = string(m.name, `${where}.name`);
  return fields;
}

function readToolCalls(value: unknown, where: string): ToolCall[] {
  if (!Array.isArray(value)) throw badParam(where, "must be a list of tool calls");
  return value.map((c, j) => readToolCall(c, `${where}[${j}]`));
}

/** One call in OpenAI's shape; fields beyond it are dropped. */
function readToolCall(c: unknown, where: string): ToolCall {
  if (!isObject(c)) throw badParam(where, 'must be an object with type "function" and a function');
  if (c.type !== "function") throw badParam(`${where}.type`, 'must be "function"');
  if (!isObject(c.function)) throw badParam(`${where}.function`, "must be an object with name and arguments");
  const fn = { name: string(c.function.name, `${where}.function.name`), arguments: string(c.function.arguments, `${where}.function.arguments`) };
  return { ...(sent(c.id) ? { id: string(c.id, `${where}.id`) } : {}), type: "function", function: fn };
}

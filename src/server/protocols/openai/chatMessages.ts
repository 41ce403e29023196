/** OpenAI chat messages as they come on the wire: checked and brought to one shape (content parts joined). */
import type { ChatMessage } from "../../../engines/ChatTemplate.js";
import { badParam } from "../../httpErrors.js";

const ROLES = new Set(["system", "developer", "user", "assistant", "tool"]);

/** Validates OpenAI chat messages; content given as text parts is joined. */
export function readMessages(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw badParam("messages", "must be a non-empty list of messages");
  return value.map((m, i) => {
    const where = `messages[${i}]`;
    if (m === null || typeof m !== "object" || Array.isArray(m)) throw badParam(where, "must be an object with role and content");
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== "string" || !ROLES.has(role)) throw badParam(`${where}.role`, `must be one of ${[...ROLES].join(", ")}`);
    return { role, content: readContent(content, `${where}.content`) };
  });
}

function readContent(content: unknown, where: string): string {
  if (typeof content === "string") return content;
  if (content === null || content === undefined) return "";
  if (!Array.isArray(content)) throw badParam(where, "must be a string or a list of text parts");
  return content
    .map((part, j) => {
      const p = part as { type?: unknown; text?: unknown };
      if (p?.type !== "text" || typeof p.text !== "string") throw badParam(`${where}[${j}]`, "only text parts are supported");
      return p.text;
    })
    .join("");
}

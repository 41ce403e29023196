/**
 * Turns chat messages into a prompt with the model's own chat template (the
 * Jinja template in the GGUF's tokenizer.chat_template), or, for models
 * without one (our synthetic models among them), with this plain default:
 *
 *   <|system|>\n{content}\n<|user|>\n{content}\n…<|assistant|>\n
 *
 * Templates render special tokens as text (<|im_start|>, <s>…), so prompts
 * from the model's template are tokenized with special-token parsing; the
 * default template's markers are plain text.
 */
import { Template } from "@huggingface/jinja";
import { badParam, HttpError } from "../../httpErrors.js";

export interface ChatMessage {
  role: string;
  content: string;
}

export const DEFAULT_CHAT_TEMPLATE = "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";

export class ChatTemplate {
  private readonly template: Template;

  constructor(
    source: string | undefined,
    private readonly tokens: { bos: string | null; eos: string | null },
  ) {
    this.fromModel = source !== undefined;
    try {
      this.template = new Template(source ?? DEFAULT_CHAT_TEMPLATE);
    } catch (err) {
      throw new Error(`the model's chat template does not parse: ${(err as Error).message}`);
    }
  }

  /** True when the template came from the model (its output holds special tokens as text). */
  readonly fromModel: boolean;

  render(messages: readonly ChatMessage[]): string {
    try {
      return this.template.render({ messages, add_generation_prompt: true, bos_token: this.tokens.bos ?? "", eos_token: this.tokens.eos ?? "" });
    } catch (err) {
      // Templates raise errors for conversations they do not accept (roles out of order, …).
      throw new HttpError(400, "invalid_messages", `messages: the model's chat template rejects them: ${(err as Error).message}`, "messages");
    }
  }
}

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

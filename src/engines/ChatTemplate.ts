/**
 * The engine's side of a chat: its messages become a prompt through the
 * model's own chat template (the Jinja template in the GGUF's
 * tokenizer.chat_template), or, for models without one (our synthetic models
 * among them), through this plain default:
 *
 *   <|system|>\n{content}\n<|user|>\n{content}\n…<|assistant|>\n
 *
 * Templates render special tokens as text (<|im_start|>, <s>…), so prompts
 * from the model's template are tokenized with special-token parsing; the
 * default template's markers are plain text.
 */
import { Template } from "@huggingface/jinja";
import { RequestError } from "../master/errors.js";

/**
 * A message as OpenAI's API sends it, tool fields included. The fields keep
 * their wire names: templates read them so (message.tool_calls,
 * message.tool_call_id), and a remote engine sends the messages on as they are.
 * Each optional field is absent, not undefined, when not sent: templates test
 * `'tool_calls' in message`.
 */
export interface ChatMessage {
  role: string;
  content: string;
  /** An assistant's calls to tools (its content is then often empty). */
  tool_calls?: ToolCall[];
  /** A tool's result: the call it answers. */
  tool_call_id?: string;
  name?: string;
}

export interface ToolCall {
  id?: string;
  type: "function";
  /** arguments: JSON text, as OpenAI sends it. */
  function: { name: string; arguments: string };
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
      return this.template.render({ messages: messages.map(templateMessage), add_generation_prompt: true, bos_token: this.tokens.bos ?? "", eos_token: this.tokens.eos ?? "" });
    } catch (err) {
      // Templates raise errors for conversations they do not accept (roles out of order, …).
      throw new RequestError("invalid_messages", `messages: the model's chat template rejects them: ${(err as Error).message}`, "messages");
    }
  }
}

/**
 * A message as templates read it: tool call arguments as the value their JSON
 * text holds, since templates write them with `| tojson` (Qwen's, Llama
 * 3.1's), which would quote the text again. vLLM and llama.cpp hand them over
 * parsed too; text that is not JSON stays as it is, as llama.cpp leaves it.
 */
function templateMessage(m: ChatMessage): object {
  if (!m.tool_calls) return m;
  return { ...m, tool_calls: m.tool_calls.map((c) => ({ ...c, function: { ...c.function, arguments: jsonValue(c.function.arguments) } })) };
}

function jsonValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

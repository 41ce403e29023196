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
      throw new RequestError("invalid_messages", `messages: the model's chat template rejects them: ${(err as Error).message}`, "messages");
    }
  }
}

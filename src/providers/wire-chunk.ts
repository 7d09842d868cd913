// An OpenAI stream chunk as the provider sent it: the JSON text, parsed only when one of its fields is read.
//
// Why: an OpenAI client of an OpenAI-compatible provider gets each chunk's text as it came, so most chunks never need
// their JSON parsed (a dozen or more per answer, each a parse saved). The chunks that matter are parsed at once by the
// adapter: any that mentions usage (other than the trailing `"usage":null` that include_usage adds) or an error.
import type { ChatChunk, ChatChunkChoice, OpenAIUsage } from '../core/chat-types.js';

/** What a compact chunk ends with when include_usage is on and this is not the usage chunk. */
export const nullUsageMember = ',"usage":null}';

/**
 * A chunk read lazily from `raw`. It implements ChatChunk through getters: read its fields, never spread it (spread
 * `parsed`) and never change it, since `raw` is what goes to an OpenAI client.
 */
export class WireChunk implements ChatChunk {
  [key: string]: unknown;
  #parsed: ChatChunk | undefined;

  /**
   * Whether the text has no `usage` member but, at most, the trailing `"usage":null` (then its usage is known
   * without parsing: null or absent). A `"usage"` anywhere else (a nested key, spaces around the colon) says maybe.
   * Found once here: the adapter and the OpenAI format both ask.
   */
  readonly withoutUsage: boolean;

  /** `parse` turns the text into a chunk, throwing the provider's error when it is not JSON. */
  constructor(readonly raw: string, private readonly parse: (text: string) => ChatChunk) {
    const at = raw.indexOf('"usage"');
    this.withoutUsage = at < 0 || (at === raw.length - nullUsageMember.length + 1 && raw.endsWith(nullUsageMember));
  }

  get parsed(): ChatChunk {
    this.#parsed ??= this.parse(this.raw);
    return this.#parsed;
  }

  get id(): string { return this.parsed.id; }
  get object(): 'chat.completion.chunk' { return this.parsed.object; }
  get created(): number { return this.parsed.created; }
  get model(): string { return this.parsed.model; }
  get system_fingerprint(): string | null | undefined { return this.parsed.system_fingerprint; }
  get choices(): ChatChunkChoice[] { return this.parsed.choices; }
  get usage(): OpenAIUsage | null | undefined { return this.parsed.usage; }

  toJSON(): ChatChunk {
    return this.parsed;
  }
}

// A stand-in for the Anthropic Messages API, so that a real Claude Code (`claude`, the npm dev
// dependency) runs offline against claudemesh's MCP server and hooks: ANTHROPIC_BASE_URL points at
// it. Its "model" follows a script in the prompt: a user prompt holding `CALL <tool> <json>` is
// answered with that claudemesh tool's call, anything else (a tool's result, a hook's follow-up)
// with the text "done". Every request is kept, so a test reads what Claude Code put before the
// model: hook context, tool results.

export type FakeApi = {
  url: string;
  /** The request bodies of /v1/messages, oldest first. */
  requests: any[];
  /** Everything the model was given as user text or tool results, one string per request. */
  seen(): string[];
  [Symbol.asyncDispose](): Promise<void>;
};

const textOf = (content: unknown): string =>
  typeof content === "string" ? content : Array.isArray(content) ? content.map((b) => (b.type === "text" ? b.text : b.type === "tool_result" ? textOf(b.content) : "")).join("\n") : "";

/** The streamed answer (SSE) of one message holding `block`. */
function streamed(id: string, model: string, block: { type: "text"; text: string } | { type: "tool_use"; id: string; name: string; input: unknown }): string {
  const stop = block.type === "tool_use" ? "tool_use" : "end_turn";
  const start = block.type === "text" ? { type: "text", text: "" } : { ...block, input: {} };
  const delta = block.type === "text" ? { type: "text_delta", text: block.text } : { type: "input_json_delta", partial_json: JSON.stringify(block.input) };
  const events: [string, unknown][] = [
    ["message_start", { type: "message_start", message: { id, type: "message", role: "assistant", model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } } }],
    ["content_block_start", { type: "content_block_start", index: 0, content_block: start }],
    ["content_block_delta", { type: "content_block_delta", index: 0, delta }],
    ["content_block_stop", { type: "content_block_stop", index: 0 }],
    ["message_delta", { type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: 1 } }],
    ["message_stop", { type: "message_stop" }],
  ];
  return events.map(([e, d]) => `event: ${e}\ndata: ${JSON.stringify(d)}\n\n`).join("");
}

export function startFakeAnthropic(): FakeApi {
  const requests: any[] = [];
  let n = 0;
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (req.method !== "POST" || !path.endsWith("/v1/messages")) return Response.json({ input_tokens: 1 });
      const body = await req.json();
      requests.push(body);
      // Claude Code also sends system-role entries: the prompt is the last user message.
      const last = [...(body.messages ?? [])].reverse().find((m: any) => m.role === "user");
      const answered = Array.isArray(last?.content) && last.content.some((b: any) => b.type === "tool_result");
      const call = answered ? null : textOf(last?.content).match(/CALL (\w+) (\{.*\})/);
      const id = `msg_${++n}`;
      const block = call ? ({ type: "tool_use", id: `toolu_${n}`, name: `mcp__claudemesh__${call[1]}`, input: JSON.parse(call[2]!) } as const) : ({ type: "text", text: "done" } as const);
      if (!body.stream) return Response.json({ id, type: "message", role: "assistant", model: body.model, content: [block], stop_reason: block.type === "tool_use" ? "tool_use" : "end_turn", stop_sequence: null, usage: { input_tokens: 1, output_tokens: 1 } });
      return new Response(streamed(id, body.model, block), { headers: { "content-type": "text/event-stream" } });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    seen: () => requests.map((r) => textOf([...(r.messages ?? [])].reverse().find((m: any) => m.role === "user")?.content)),
    async [Symbol.asyncDispose]() {
      await server.stop(true);
    },
  };
}

/** The environment that sends a real `claude` to `api` and keeps it off the network otherwise. */
export const claudeEnvFor = (api: FakeApi) => ({ ANTHROPIC_BASE_URL: api.url, ANTHROPIC_API_KEY: "sk-test", DISABLE_AUTOUPDATER: "1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1" });

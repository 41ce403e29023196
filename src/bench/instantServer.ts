/**
 * A simulated server for measuring the load client alone: it answers every
 * llm-serving-protocol request at once with one canned token (streamed as
 * one "sse" line or whole), doing no generation at all. Run it as its own
 * process (`node instantServer.js`) so that its work does not share the
 * client's event loop; it prints its URL on stdout.
 */
import { createServer } from "node:http";

// The shapes of llm-serving's answers (see src/server/protocols/llmServing/), reduced to what a client reads.
const TOKEN = { id: 120, text: "x", logprob: null, special: false };
const WHOLE = JSON.stringify({ generated_text: "x", finish_reason: "length", generated_tokens: 1, tokens: [TOKEN], details: null });
const STREAM = `${JSON.stringify({ event: "message", retry: 30000, data: [{ details: null, generated_text: "x", tokens: TOKEN, top_tokens: [TOKEN] }] })}\n`;

const server = createServer((req, res) => {
  const stream = req.url?.includes("stream") ?? false;
  req.resume();
  req.on("end", () => {
    res.writeHead(200, { "content-type": stream ? "text/event-stream" : "application/json" });
    res.end(stream ? STREAM : WHOLE);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object") process.stdout.write(`http://127.0.0.1:${address.port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));

// Passphrase input: from stdin (--passphrase-stdin, first line) or typed twice on a terminal with
// echo off. Never from an argument, so it does not land in shell history or `ps`.
import { UsageError } from "./output.ts";

async function readStdinLine(): Promise<string> {
  const text = await new Response(Bun.stdin.stream()).text();
  return text.split(/\r?\n/)[0] ?? "";
}

function readHidden(label: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(label);
    stdin.setRawMode?.(true);
    stdin.resume();
    let value = "";
    const onData = (buf: Buffer) => {
      for (const ch of buf.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return done(null);
        if (ch === "\u0003") return done(new UsageError("Cancelled."));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else value += ch;
      }
    };
    const done = (err: Error | null) => {
      stdin.off("data", onData);
      stdin.setRawMode?.(false);
      stdin.pause();
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    stdin.on("data", onData);
  });
}

/** The passphrase; `confirm` asks twice on a terminal (creating a backup). */
export async function getPassphrase(fromStdin: boolean, confirm: boolean): Promise<string> {
  if (fromStdin) return readStdinLine();
  if (!process.stdin.isTTY) throw new UsageError("No terminal to type a passphrase into; pipe it with --passphrase-stdin.");
  const first = await readHidden("Passphrase (12+ characters): ");
  if (confirm && (await readHidden("Again: ")) !== first) throw new UsageError("The two passphrases differ; nothing was written.");
  return first;
}

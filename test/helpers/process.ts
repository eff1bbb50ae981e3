// The broker as a real child process (the CLI's `serve`), for crash and signal tests.
import { resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");

export type BrokerProcess = { proc: ReturnType<typeof Bun.spawn>; url: string; stderr: () => string; [Symbol.asyncDispose](): Promise<void> };

/** Starts `claudemesh serve` (from source, or a compiled binary) on port 0 and waits for its URL. */
export async function spawnBroker(dataDir: string, extraArgs: string[] = [], command: string[] = ["bun", "run", `${ROOT}/src/main.ts`]): Promise<BrokerProcess> {
  const proc = Bun.spawn([...command, "serve", "--port", "0", "--data-dir", dataDir, ...extraArgs], { stdout: "pipe", stderr: "pipe", env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "info" } });
  let text = "";
  const decoder = new TextDecoder();
  const url = await new Promise<string>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`broker did not start:\n${text}`)), 15_000);
    (async () => {
      for await (const chunk of proc.stderr as ReadableStream<Uint8Array>) {
        text += decoder.decode(chunk);
        const m = /"msg":"broker listening","url":"([^"]+)"/.exec(text);
        if (m) {
          clearTimeout(timer);
          res(m[1]!);
        }
      }
      rej(new Error(`broker exited before listening (code ${await proc.exited}):\n${text}`));
    })();
  });
  return {
    proc,
    url,
    stderr: () => text,
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

// A real interactive Claude Code (the npm dev dependency, or `CLAUDEMESH_TEST_CLAUDE`) in a
// pseudo-terminal, against fake-anthropic.ts: what a person's session is, so the hooks run as they
// run for a user (asyncRewake in the background, CLAUDE_CODE_ENTRYPOINT `cli`). The home it runs in
// is marked onboarded and the project trusted, so no first-run dialog stands in the way.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { claudeEnvFor, type FakeApi } from "./fake-anthropic.ts";
import { until } from "./until.ts";

const CLAUDE_BIN = process.env.CLAUDEMESH_TEST_CLAUDE ?? resolve(import.meta.dir, "../../node_modules/.bin/claude");
const API_KEY = "sk-test-0123456789abcdefghijklmnop";

export type ClaudeTui = {
  proc: Bun.Subprocess;
  /** Everything the terminal showed so far, escape sequences removed. */
  screen(): string;
  /** Types `text` and Enter, as a person does. */
  type(text: string): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
};

/** Marks `home`'s Claude Code as onboarded, its API key approved and `project` trusted, keeping
 *  what is already in ~/.claude.json (install's MCP registration). */
function onboard(home: string, project: string): void {
  const path = join(home, ".claude.json");
  let json: Record<string, any> = {};
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    // none yet
  }
  json.hasCompletedOnboarding = true;
  json.theme = "dark";
  // Newer versions (2.1.332) first offer their fullscreen renderer, in a dialog the first Enter answers.
  json.fullscreenUpsellSeenCount = 99;
  json.customApiKeyResponses = { approved: [API_KEY.slice(-20)], rejected: [] };
  json.projects = { ...json.projects, [project]: { ...json.projects?.[project], hasTrustDialogAccepted: true, hasCompletedProjectOnboarding: true, allowedTools: [] } };
  writeFileSync(path, JSON.stringify(json, null, 2));
}

const plain = (s: string) => s.replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, "").replace(/\x1b\][^\x07]*\x07/g, "");

/** Starts `claude` in a terminal in `project`, with `home` as HOME; resolves once its prompt is up. */
export async function startClaudeTui(home: string, project: string, api: FakeApi, env: Record<string, string> = {}): Promise<ClaudeTui> {
  onboard(home, project);
  let raw = "";
  const decoder = new TextDecoder();
  const proc = Bun.spawn([CLAUDE_BIN], {
    cwd: project,
    env: { ...process.env, HOME: home, TERM: "xterm-256color", ...claudeEnvFor(api), ANTHROPIC_API_KEY: API_KEY, ...env },
    terminal: { cols: 120, rows: 40, data: (_t, d) => void (raw += decoder.decode(d, { stream: true })) },
  });
  const tui: ClaudeTui = {
    proc,
    screen: () => plain(raw),
    async type(text) {
      // One key at a time, as typed: a paste of the whole line is taken as a paste, not a prompt.
      for (const ch of text) {
        proc.terminal!.write(ch);
        await Bun.sleep(20);
      }
      await Bun.sleep(200);
      proc.terminal!.write("\r");
    },
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
  };
  // The input box's prompt sign: Claude Code is ready for typing.
  await until(() => /❯|>\s/.test(plain(raw)), `claude's prompt; the terminal shows:\n${plain(raw).slice(-2000)}`, 20_000);
  await Bun.sleep(500);
  return tui;
}

/** The processes (not the shells that started them) whose command line holds `needle` and whose
 *  environment has HOME=`home`: what a test's Claude Code started, wherever they were reparented. */
export function processesOf(home: string, needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
      if (!cmd.includes(needle) || /^(\/bin\/)?(ba|da)?sh$/.test(readFileSync(`/proc/${pid}/comm`, "utf8").trim())) continue;
      const state = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (state.slice(state.lastIndexOf(")") + 2).startsWith("Z")) continue;
      if (readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(`HOME=${home}`)) out.push(pid);
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return out;
}

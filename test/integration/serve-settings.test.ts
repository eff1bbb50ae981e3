// Settings that `serve` used to take silently in a way the operator did not mean (docs/operations.md
// "Settings"; session 19's operator review). A duration without a unit is milliseconds, and
// `CLAUDEMESH_DRAIN_TIMEOUT=30` in /etc/default/claudemesh gave a 30 ms drain: a unitless duration
// under a second is now refused with exit 2 and the value to write, from a flag, a variable or
// the config file alike. The systemd unit sets CLAUDEMESH_DATA_DIR, which beats a config file's
// dataDir: serve and serve --check now say, one line each, which file value a flag or variable
// replaced.
import { describe, expect, test } from "bun:test";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers/broker.ts";
import { cli } from "../helpers/cli.ts";
import { serveProcess } from "../helpers/process.ts";

const cfg = tempDir("cm-serve-settings-cfg-");
const files = tempDir("cm-serve-settings-files-");

/** A JSON config file holding `settings`. */
function configFile(name: string, settings: object): string {
  const path = join(files, name);
  writeFileSync(path, JSON.stringify(settings));
  return path;
}

const DRAIN_30 = "30 ms is below the minimum of 1s (a number without a unit is milliseconds); write 30s";

describe("a duration without a unit under a second stops serve with exit 2 and the value to write", () => {
  const file = configFile("drain.json", { drainTimeout: 30 });
  test.each([
    ["a flag", ["--drain-timeout", "30"], {}, `drainTimeout from --drain-timeout: ${DRAIN_30} (got "30")`],
    ["a variable", [], { CLAUDEMESH_DRAIN_TIMEOUT: "30" }, `drainTimeout from CLAUDEMESH_DRAIN_TIMEOUT: ${DRAIN_30} (got "30")`],
    ["the config file", ["--config", file], {}, `drainTimeout from ${file}: ${DRAIN_30} (got 30)`],
    ["a grace given without a unit", ["--presence-grace", "30"], {}, 'presenceGrace from --presence-grace: 30 ms is below the minimum of 1s for a number without a unit; write 30s, or 30ms if you mean milliseconds (got "30")'],
  ])("from %s", async (_, args, env, message) => {
    const data = tempDir("cm-serve-settings-data-");
    const r = await cli(cfg, ["serve", "--check", "--port", "0", "--data-dir", data, ...args], { env, timeoutMs: 15_000 });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr, touched: readdirSync(data) }).toEqual({ code: 2, stdout: "", stderr: `claudemesh serve: ${message}\n`, touched: [] });
  }, 20_000);
});

describe("a config file's value that a flag or variable replaces is named, one line each", () => {
  test("serve --check warns on stderr, reports it in --json, and is silent when both say the same", async () => {
    const [fileDir, envDir] = [tempDir("cm-serve-settings-file-dir-"), tempDir("cm-serve-settings-env-dir-")];
    const file = configFile("data-dir.json", { dataDir: fileDir, port: 7901, logLevel: "warn" });
    const env = { CLAUDEMESH_DATA_DIR: envDir, CLAUDEMESH_LOG_LEVEL: "WARN" };
    const r = await cli(cfg, ["serve", "--check", "--config", file, "--port", "0"], { env, timeoutMs: 15_000 });
    expect({ code: r.code, stderr: r.stderr, dataDir: r.stdout.split("\n")[0] }).toEqual({
      code: 0,
      stderr:
        `claudemesh serve: warning: port 7901 in ${file} is ignored: --port gives "0", and a flag beats the config file.\n` +
        `claudemesh serve: warning: dataDir ${JSON.stringify(fileDir)} in ${file} is ignored: CLAUDEMESH_DATA_DIR gives ${JSON.stringify(envDir)}, and the environment beats the config file.\n`,
      dataDir: `data dir    ${envDir}`,
    });
    const json = await cli(cfg, ["serve", "--check", "--json", "--config", file, "--port", "0"], { env, timeoutMs: 15_000 });
    expect({ code: json.code, stderr: json.stderr, ignored: json.json().ignoredFileValues }).toEqual({
      code: 0,
      stderr: "",
      ignored: [
        { key: "port", file, fileValue: 7901, from: "--port", value: "0" },
        { key: "dataDir", file, fileValue: fileDir, from: "CLAUDEMESH_DATA_DIR", value: envDir },
      ],
    });
  }, 30_000);

  test("serve logs the warning before it listens, on the directory the variable names", async () => {
    const [fileDir, envDir] = [tempDir("cm-serve-settings-file-dir-"), tempDir("cm-serve-settings-env-dir-")];
    const file = configFile("serve.json", { dataDir: fileDir, port: 0 });
    await using serve = serveProcess(["--config", file], { env: { ...process.env, CLAUDEMESH_DATA_DIR: envDir } });
    const [line] = await serve.waitFor(/\{[^\n]*"msg":"dataDir [^\n]*\n/);
    expect(JSON.parse(line)).toMatchObject({ level: "warn", key: "dataDir", file, fileValue: fileDir, from: "CLAUDEMESH_DATA_DIR", value: envDir });
    await serve.waitFor(new RegExp(`"msg":"broker listening".*"dataDir":${JSON.stringify(envDir)}`));
    expect(readdirSync(fileDir)).toEqual([]);
  }, 30_000);
});

// Operator review, session 22: a publicUrl refused for carrying a password, or one a variable
// replaced, was repeated in full on stderr (the journal, under systemd), password included. What
// is shown of a URL leaves out its user name, password, query and fragment (a token may be there).
describe("a publicUrl is never shown with its credentials, query or fragment", () => {
  const SECRET = "hunter2";
  test.each([
    ["a flag", ["--public-url", `https://admin:${SECRET}@mesh.example.com`], {}, `publicUrl from --public-url: must not carry a user name or password (got "https://***@mesh.example.com")`],
    ["a variable", [], { CLAUDEMESH_PUBLIC_URL: `https://mesh.example.com/?token=${SECRET}` }, `publicUrl from CLAUDEMESH_PUBLIC_URL: must not have a query (?) or fragment (#) (got "https://mesh.example.com/?***")`],
    ["the config file", ["--config", configFile("creds.json", { publicUrl: `admin:${SECRET}@mesh.example.com` })], {}, `publicUrl from ${join(files, "creds.json")}: must start with https:// or http://, e.g. https://mesh.example.com (got "***@mesh.example.com")`],
  ])("refused from %s: exit 2, the password not repeated", async (_, args, env, message) => {
    const data = tempDir("cm-serve-settings-data-");
    const r = await cli(cfg, ["serve", "--check", "--port", "0", "--data-dir", data, ...args], { env, timeoutMs: 15_000 });
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 2, stdout: "", stderr: `claudemesh serve: ${message}\n` });
  }, 20_000);

  test("a config file's publicUrl that a variable replaces is named without its password, in the warning and in --json", async () => {
    const file = configFile("creds-replaced.json", { publicUrl: `https://admin:${SECRET}@old.example.com/cm` });
    const env = { CLAUDEMESH_PUBLIC_URL: "https://mesh.example.com" };
    const args = ["serve", "--check", "--config", file, "--port", "0", "--data-dir", tempDir("cm-serve-settings-data-")];
    const r = await cli(cfg, args, { env, timeoutMs: 15_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 0,
      stderr: `claudemesh serve: warning: publicUrl "https://***@old.example.com/cm" in ${file} is ignored: CLAUDEMESH_PUBLIC_URL gives "https://mesh.example.com", and the environment beats the config file.\n`,
    });
    const json = await cli(cfg, [...args, "--json"], { env, timeoutMs: 15_000 });
    expect({ code: json.code, leaked: json.stdout.includes(SECRET), ignored: json.json().ignoredFileValues }).toEqual({
      code: 0,
      leaked: false,
      ignored: [{ key: "publicUrl", file, fileValue: "https://***@old.example.com/cm", from: "CLAUDEMESH_PUBLIC_URL", value: "https://mesh.example.com" }],
    });
  }, 30_000);
});

// Config precedence (flags > env > file > defaults) and validation errors that name the source.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join, relative } from "node:path";
import { ConfigError, loadBrokerConfig, parseDurationMs } from "../../src/config/load.ts";
import { SETTINGS, envName, flagName } from "../../src/config/spec.ts";
import { tempDir } from "../helpers/temp-dir.ts";

describe("the config file itself", () => {
  const dir = tempDir("cm-config-file-");
  const refusal = (configFile: string) => {
    try {
      loadBrokerConfig({ configFile, env: {} });
      return null;
    } catch (err) {
      return err instanceof ConfigError ? { message: err.message, fix: err.fix } : String(err);
    }
  };

  test("a device is refused unopened (/dev/zero never ends); a pipe is read (`--config <(…)`), both only up to 1 MiB", async () => {
    expect(refusal("/dev/zero")).toEqual({ message: "config file /dev/zero is a device, not a JSON config file", fix: "give --config (or CLAUDEMESH_CONFIG) the path of the JSON config file" });
    const big = join(dir, "big.json");
    writeFileSync(big, `{"port": 7900${" ".repeat(1024 * 1024)}}`);
    expect(refusal(big)).toMatchObject({ message: expect.stringContaining("more than a config file holds") });
    const piped = async (bytes: number) => {
      const fifo = join(dir, `pipe-${bytes}.json`);
      execFileSync("mkfifo", [fifo]);
      const writer = Bun.spawn(["sh", "-c", `printf '{"port": 7911%*s}' ${bytes} '' > ${fifo}`], { stderr: "ignore" });
      let out: unknown;
      try {
        out = loadBrokerConfig({ configFile: fifo, env: {} }).port;
      } catch (err) {
        out = err instanceof ConfigError ? { message: err.message } : String(err);
      }
      writer.kill();
      await writer.exited;
      return out;
    };
    expect(await piped(10)).toBe(7911);
    expect(await piped(2 * 1024 * 1024)).toMatchObject({ message: expect.stringContaining("more than a config file holds") });
  });

  test("a key given twice is refused, as a flag given twice is; a repeat inside a list value is not a key", () => {
    const twice = join(dir, "twice.json");
    writeFileSync(twice, '{"port": 0, "logLevel": "info", "port": 7901}');
    expect(refusal(twice)).toEqual({ message: `config file ${twice}: the key "port" is given more than once (only the last would count)`, fix: "keep one of them" });
    const escaped = join(dir, "escaped.json");
    writeFileSync(escaped, '{"port": 0, "p\\u006frt": 7901}');
    expect(refusal(escaped)).toMatchObject({ message: expect.stringContaining('the key "port" is given more than once') });
    const fine = join(dir, "fine.json");
    writeFileSync(fine, '{"trustedProxies": ["10.0.0.1", "10.0.0.1"], "publicUrl": "https://a.example/\\"port\\":"}');
    expect(refusal(fine)).toBeNull();
  });
});

describe("broker config", () => {
  const dir = tempDir("cm-config-");
  const file = join(dir, "c.json");
  writeFileSync(file, JSON.stringify({ port: 7001, sendRate: 5, messageTtl: "2d" }));

  test("defaults", () => {
    const c = loadBrokerConfig({ env: { HOME: "/home/u" } });
    expect({ host: c.host, port: c.port, dataDir: c.dataDir, maxFrameBytes: c.maxFrameBytes, synchronous: c.synchronous }).toEqual({
      host: "127.0.0.1",
      port: 7900,
      dataDir: "/home/u/.local/share/claudemesh",
      maxFrameBytes: 65536,
      synchronous: "full",
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  test("flags beat env, env beats the file, the file beats defaults", () => {
    const c = loadBrokerConfig({ flags: { port: "7003" }, env: { CLAUDEMESH_PORT: "7002", CLAUDEMESH_SEND_RATE: "9" }, configFile: file });
    expect({ port: c.port, sendRate: c.sendRate, messageTtl: c.messageTtl }).toEqual({ port: 7003, sendRate: 9, messageTtl: 2 * 86_400_000 });
  });

  test.each([
    [{ flags: { port: "70000" } }, "port from --port:"],
    [{ flags: { maxFrameBytes: "5" } }, "maxFrameBytes from --max-frame-bytes:"],
    [{ env: { CLAUDEMESH_SYNCHRONOUS: "off" } }, "synchronous from CLAUDEMESH_SYNCHRONOUS"],
    [{ env: { CLAUDEMESH_HELLO_TIMEOUT: "soon" } }, "helloTimeout from CLAUDEMESH_HELLO_TIMEOUT"],
  ])("invalid values are refused with the key and source (%#)", (src, msg) => {
    expect(() => loadBrokerConfig(src as never)).toThrow(ConfigError);
    expect(() => loadBrokerConfig(src as never)).toThrow(msg);
  });

  test("durations: plain milliseconds or a number with a unit; integers take digits only", () => {
    const c = loadBrokerConfig({ env: { CLAUDEMESH_HELLO_TIMEOUT: " 500ms ", CLAUDEMESH_PING_INTERVAL: "1.5m", CLAUDEMESH_PRESENCE_GRACE: "90000", CLAUDEMESH_DEDUP_WINDOW: "2h", CLAUDEMESH_QUEUE_QUOTA: " 42 " }, flags: { drainTimeout: 30_000 } });
    expect({ h: c.helloTimeout, p: c.pingInterval, g: c.presenceGrace, d: c.dedupWindow, q: c.queueQuota, t: c.drainTimeout }).toEqual({ h: 500, p: 90_000, g: 90_000, d: 7_200_000, q: 42, t: 30_000 });
    expect(() => loadBrokerConfig({ env: { CLAUDEMESH_HELLO_TIMEOUT: "5w" } })).toThrow("helloTimeout from CLAUDEMESH_HELLO_TIMEOUT: expected milliseconds or a duration");
    expect(() => loadBrokerConfig({ env: { CLAUDEMESH_QUEUE_QUOTA: "5m" } })).toThrow("queueQuota from CLAUDEMESH_QUEUE_QUOTA: expected an integer");
    expect([parseDurationMs("7d"), parseDurationMs("250"), parseDurationMs("0.5s"), parseDurationMs("soon"), parseDurationMs("-5s")]).toEqual([604_800_000, 250, 500, null, null]);
  });

  test("an empty flag is refused; an empty environment variable counts as unset", () => {
    expect(() => loadBrokerConfig({ flags: { port: "" } })).toThrow('port from --port: needs a value');
    expect(() => loadBrokerConfig({ flags: { publicUrl: "" } })).toThrow('publicUrl from --public-url: needs a value');
    expect(loadBrokerConfig({ env: { CLAUDEMESH_PORT: "", CLAUDEMESH_HOST: "" } })).toMatchObject({ port: 7900, host: "127.0.0.1" });
  });

  // host reaches Bun.serve({ hostname }): "" there listens on every interface.
  const hostFile = (host: unknown) => {
    const f = join(dir, "host.json");
    writeFileSync(f, JSON.stringify({ host }));
    return f;
  };
  test.each([
    ["127.0.0.1", "127.0.0.1"],
    ["0.0.0.0", "0.0.0.0"],
    ["::", "::"],
    ["[::]", "::"],
    ["[::1]", "::1"],
    ["fe80::1%eth0", "fe80::1%eth0"],
    ["localhost", "localhost"],
    ["Mesh-1.example.com.", "Mesh-1.example.com."],
  ])("host %p is accepted as %p", (raw, host) => {
    expect(loadBrokerConfig({ configFile: hostFile(raw) }).host).toBe(host);
    expect(loadBrokerConfig({ flags: { host: raw } }).host).toBe(host);
  });

  const IP_OR_NAME = "expected an IP address (127.0.0.1, 0.0.0.0, ::) or a hostname";
  test.each([
    ["file", "", `host from FILE: empty, which would listen on every interface; ${IP_OR_NAME} (got "")`],
    ["file", " ", `host from FILE: empty, which would listen on every interface; ${IP_OR_NAME} (got " ")`],
    ["flag", "not a host", `host from --host: ${IP_OR_NAME} (got "not a host")`],
    ["env", "http://0.0.0.0", `host from CLAUDEMESH_HOST: a URL; ${IP_OR_NAME} (the URL clients use goes in publicUrl) (got "http://0.0.0.0")`],
    ["flag", "0.0.0.0:7900", `host from --host: includes a port; ${IP_OR_NAME} (the port goes in port) (got "0.0.0.0:7900")`],
    ["flag", "999.1.1.1", `host from --host: ${IP_OR_NAME} (got "999.1.1.1")`],
    ["flag", "1.2.3", `host from --host: ${IP_OR_NAME} (got "1.2.3")`],
    ["flag", "[127.0.0.1]", `host from --host: ${IP_OR_NAME} (got "[127.0.0.1]")`],
    ["flag", "-bad.example.com", `host from --host: ${IP_OR_NAME} (got "-bad.example.com")`],
    ["flag", "under_score.example", `host from --host: ${IP_OR_NAME} (got "under_score.example")`],
    ["flag", `${"a".repeat(64)}.example`, `host from --host: ${IP_OR_NAME}`],
  ])("host from the %s: %p is refused", (where, raw, message) => {
    const src = where === "file" ? { configFile: hostFile(raw) } : where === "flag" ? { flags: { host: raw } } : { env: { CLAUDEMESH_HOST: raw } };
    const msg = message.replace("FILE", join(dir, "host.json"));
    expect(() => loadBrokerConfig(src)).toThrow(ConfigError);
    expect(() => loadBrokerConfig(src)).toThrow(msg);
  });

  test("a host that is not a string in the file is refused", () => {
    expect(() => loadBrokerConfig({ configFile: hostFile(80) })).toThrow(`host from ${join(dir, "host.json")}: expected a string (got 80)`);
  });

  // The dashboard's origin check and the banner's `claudemesh new --broker` use publicUrl as a URL.
  test.each(["https://mesh.example.com", "http://10.0.0.5:7900", "https://example.com/mesh/", "http://[::1]:7900"])("publicUrl %p is accepted", (url) => {
    expect(loadBrokerConfig({ env: { CLAUDEMESH_PUBLIC_URL: url } }).publicUrl).toBe(url);
  });

  test.each([
    ["mesh.example.com", "not an absolute URL; give the scheme and host, e.g. https://mesh.example.com", "mesh.example.com"],
    ["mesh.example.com:443", "must start with https:// or http://, e.g. https://mesh.example.com", "mesh.example.com:443"],
    ["wss://mesh.example.com", "must start with https:// or http://, e.g. https://mesh.example.com", "wss://mesh.example.com"],
    // What may be a secret is not repeated (session 22): these lines reach the journal.
    ["https://user:pw@mesh.example.com", "must not carry a user name or password", "https://***@mesh.example.com"],
    // Everything up to the last "@" goes: a password may hold "@", "/", "?" or "#" (the URL parser
    // then sees a host, port or path where the writer meant a password), and whitespace may come
    // before the scheme (security review, session 22: each of these was shown in part or whole).
    ["user:pw@mesh.example.com/a@b", "must start with https:// or http://, e.g. https://mesh.example.com", "***@b"],
    [" https://user:hunter2@mesh.example.com", "has spaces or line breaks around it; remove them", " https://***@mesh.example.com"],
    ["https://user:hun@ter2@mesh.example.com", "must not carry a user name or password", "https://***@mesh.example.com"],
    ["https://user:hun/ter2@mesh.example.com", "not an absolute URL; give the scheme and host, e.g. https://mesh.example.com", "https://***@mesh.example.com"],
    ["https://user:hun?ter2@mesh.example.com", "not an absolute URL; give the scheme and host, e.g. https://mesh.example.com", "https://***@mesh.example.com"],
    ["https://mesh.example.com/?a=1", "must not have a query (?) or fragment (#)", "https://mesh.example.com/?***"],
    ["https://mesh.example.com/#x", "must not have a query (?) or fragment (#)", "https://mesh.example.com/#***"],
    // Kept as given and shown in the banner and the API reference's servers entry (session 22).
    ["https://mesh.example.com ", "has spaces or line breaks around it; remove them", "https://mesh.example.com "],
    ["\thttps://mesh.example.com", "has spaces or line breaks around it; remove them", "\thttps://mesh.example.com"],
  ])("publicUrl %p is refused", (url, why, shown) => {
    expect(() => loadBrokerConfig({ flags: { publicUrl: url } })).toThrow(`publicUrl from --public-url: ${why} (got ${JSON.stringify(shown)})`);
  });

  test("an empty publicUrl in the config file means none, as by default", () => {
    const f = join(dir, "url.json");
    writeFileSync(f, JSON.stringify({ publicUrl: "" }));
    expect(loadBrokerConfig({ configFile: f }).publicUrl).toBe("");
  });

  // A relative dataDir in a file was taken from the working directory, and "" silently meant the
  // default; both depended on where and how serve was started.
  test("dataDir: relative in a config file is taken from the file's directory; from a flag or variable, from the working directory", () => {
    const f = join(dir, "data-dir.json");
    writeFileSync(f, JSON.stringify({ dataDir: "state/broker" }));
    expect(loadBrokerConfig({ configFile: f }).dataDir).toBe(join(dir, "state/broker"));
    expect(loadBrokerConfig({ configFile: relative(process.cwd(), f) }).dataDir).toBe(join(dir, "state/broker"));
    expect(loadBrokerConfig({ flags: { dataDir: "here" } }).dataDir).toBe("here");
    expect(loadBrokerConfig({ env: { CLAUDEMESH_DATA_DIR: "there" } }).dataDir).toBe("there");
  });

  test("dataDir: empty in a config file, a file, or a path through a file is refused with the key", () => {
    const f = join(dir, "empty-data-dir.json");
    writeFileSync(f, JSON.stringify({ dataDir: "" }));
    expect(() => loadBrokerConfig({ configFile: f })).toThrow(new ConfigError(`dataDir from ${f}: empty; leave the key out for the default directory (got "")`));
    const plain = join(dir, "a-file");
    writeFileSync(plain, "");
    expect(() => loadBrokerConfig({ flags: { dataDir: plain } })).toThrow(new ConfigError(`dataDir from --data-dir: ${plain} is not a directory (got ${JSON.stringify(plain)})`));
    expect(() => loadBrokerConfig({ env: { CLAUDEMESH_DATA_DIR: join(plain, "sub") } })).toThrow(new ConfigError(`dataDir from CLAUDEMESH_DATA_DIR: a part of ${join(plain, "sub")} is not a directory (got ${JSON.stringify(join(plain, "sub"))})`));
  });

  test("a config file with an unknown key is refused", () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ prot: 1 }));
    expect(() => loadBrokerConfig({ configFile: bad })).toThrow('unknown key "prot"');
  });

  test("names: env and flag are derived from the key", () => {
    expect([envName("maxFrameBytes"), flagName("maxFrameBytes")]).toEqual(["CLAUDEMESH_MAX_FRAME_BYTES", "max-frame-bytes"]);
    expect(new Set(SETTINGS.map((s) => s.key)).size).toBe(SETTINGS.length);
  });
});

// What SIGHUP (`systemctl reload claudemesh`) does to a running `serve` (docs/operations.md
// "Signals and shutdown"): it says so on stderr's JSON log whatever the broker has; it reads the
// config file again and puts in force what a running broker can take (here tlsCert and tlsKey,
// checked by the certificate a fresh TLS connection is served, and logLevel; the limits in
// serve-sighup-limits.test.ts), names every other changed setting as waiting for a restart, and
// keeps the broker as it is when the file cannot be used.
// A real `serve` on port 0 and a throwaway CA. Session 36 (docs/decisions.md, "SIGHUP, the config
// and the port's other listeners").
import { describe, expect, test } from "bun:test";
import { copyFileSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { cli, cliOwnedMesh, ok } from "../helpers/cli.ts";
import { serveProcess, type ServeProcess } from "../helpers/process.ts";
import { hangup, LISTENING, logs, serve, summary } from "../helpers/sighup.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeChainCa } from "../helpers/tls-ca.ts";
import { serialOf } from "../helpers/tls-broker.ts";
import { until } from "../helpers/until.ts";
import { startBroker } from "../helpers/broker.ts";
import { holdWriteLock } from "../helpers/write-lock.ts";

/** The serial of the certificate a new TLS connection to `port` is served (trusting `ca`). */
const servedSerial = (port: number, ca: string) =>
  new Promise<string>((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port, servername: "localhost", ca }, () => (resolve(socket.getPeerCertificate().serialNumber.toUpperCase()), socket.end()));
    socket.on("error", reject);
  });

const alive = async (s: ServeProcess, url: string, init: object = {}) => s.proc.exitCode === null && (await fetch(`${url}/health`, init)).status === 200;

describe("SIGHUP on serve", () => {
  test("without TLS and without a config file: one line says there was nothing to reload, and the broker goes on", async () => {
    await using b = await serve(["--port", "0", "--data-dir", join(tempDir("cm-hup-"), "data")], { CLAUDEMESH_LOG_LEVEL: "info" });
    for (let i = 0; i < 2; i++) {
      const after = await hangup(b.s, summary);
      expect(after.filter(summary)).toEqual([
        expect.objectContaining({ level: "info", msg: "SIGHUP: no config file to read again (flags and environment variables are read only at start); no TLS certificate to reload (this broker serves plain HTTP): nothing changed", configFile: null, tls: false }),
      ]);
    }
    expect(await alive(b.s, `http://127.0.0.1:${b.port}`)).toBe(true);
  }, 60_000);

  test("a config file's new tlsCert and tlsKey paths are served after SIGHUP; an invalid file keeps the broker as it is and says why; other changes are named as needing a restart", async () => {
    const root = tempDir("cm-hup-tls-");
    const ca = makeChainCa(root);
    const ca_ = readFileSync(ca.caFile, "utf8");
    const [first, second] = [ca.issue("first"), ca.issue("second")];
    const file = join(root, "claudemesh.json");
    const write = (o: object | string) => writeFileSync(file, typeof o === "string" ? o : JSON.stringify(o));
    const base = { host: "127.0.0.1", port: 0, dataDir: join(root, "data"), logLevel: "info", tlsCert: first.certFile, tlsKey: first.keyFile };
    write(base);
    await using b = await serve(["--config", file]);
    const served = () => servedSerial(b.port, ca_);
    expect(await served()).toBe(serialOf(first.certFile));

    // New paths in the file: served once the reload says so.
    write({ ...base, tlsCert: second.certFile, tlsKey: second.keyFile });
    let after = await hangup(b.s, (l) => l.msg === "TLS certificate reloaded");
    expect(after.find(summary)).toMatchObject({ level: "info", msg: `SIGHUP: read ${file} again: applied tlsCert ${first.certFile} → ${second.certFile}, tlsKey ${first.keyFile} → ${second.keyFile}; TLS certificate read again`, applied: ["tlsCert", "tlsKey"], restartNeeded: [] });
    expect(after.find((l) => l.msg === "TLS certificate reloaded")).toMatchObject({ certFile: second.certFile, keyFile: second.keyFile, previousSerial: serialOf(first.certFile) });
    expect(await served()).toBe(serialOf(second.certFile));

    // New paths whose files cannot be used: the files in force stay, and are the ones read next
    // time; the file's other changes wait with them (a file is put in force whole or not at all).
    write({ ...base, tlsCert: join(root, "missing.pem"), tlsKey: second.keyFile, maxConnectionsPerIp: 1 });
    after = await hangup(b.s, summary);
    expect(after.find((l) => l.level === "error")?.msg).toStartWith(`TLS certificate not reloaded: the TLS certificate file ${join(root, "missing.pem")} `);
    expect(after.find(summary)).toMatchObject({
      msg: `SIGHUP: read ${file} again: nothing applied: the new tlsCert cannot be used (see the error above), so maxConnectionsPerIp is not applied either (a file is put in force whole or not at all); TLS certificate not reloaded: the previous one is still served`,
      applied: [],
    });
    expect(await served()).toBe(serialOf(second.certFile));
    // maxConnectionsPerIp 1 was not put in force: two connections at once are taken.
    const sockets = await Promise.all([0, 1].map(() => new Promise<WebSocket>((ok, fail) => {
      const ws = new WebSocket(`wss://localhost:${b.port}/ws`, { tls: { ca: ca_ } } as never);
      ws.onopen = () => ok(ws);
      ws.onerror = () => fail(new Error("a connection was refused"));
    })));
    for (const ws of sockets) ws.close();

    // A file that cannot be used: the broker goes on with what is in force (the second
    // certificate), says why, and still reads that certificate again (a renewal must not wait for
    // the config's fix).
    for (const [bad, why] of [
      ['{"tlsCert": ', `config file ${file} is not valid JSON`],
      [{ ...base, tlsCert: first.certFile, tlsKey: "" }, `tlsCert from ${file} is given without tlsKey: serving TLS takes both`],
      [{ ...base, sendRate: "fast" }, `sendRate from ${file}: expected an integer (got "fast")`],
    ] as const) {
      write(bad);
      after = await hangup(b.s, (l) => l.msg === "TLS certificate reloaded: the files are unchanged");
      const refused = after.find((l) => l.level === "error");
      expect(refused?.msg).toStartWith(`config file not reloaded: ${why}`);
      expect(refused).toMatchObject({ msg: expect.stringContaining("; the broker goes on with the settings in force"), configFile: file, fix: expect.any(String) });
      expect(after.find(summary)?.msg).toBe(`SIGHUP: the config file ${file} could not be used (see the error above): nothing in it was applied; TLS certificate read again`);
      expect({ serial: await served(), alive: await alive(b.s, `https://localhost:${b.port}`, { tls: { ca: ca_ } }) }).toEqual({ serial: serialOf(second.certFile), alive: true });
    }

    // Settings a running broker cannot take: named, with what is in force and what the file says;
    // those it can take are put in force beside them.
    write({ ...base, tlsCert: second.certFile, tlsKey: second.keyFile, sendRate: 7, maxFrameBytes: 2048, pingInterval: "1m" });
    after = await hangup(b.s, (l) => l.msg === "TLS certificate reloaded: the files are unchanged");
    expect(after.find((l) => l.level === "warn")).toMatchObject({
      msg: `settings changed in ${file} are not in force until the broker restarts: maxFrameBytes, pingInterval`,
      settings: [{ key: "maxFrameBytes", inForce: 65536, file: 2048 }, { key: "pingInterval", inForce: 30_000, file: 60_000 }],
      fix: expect.stringContaining("systemctl restart claudemesh"),
    });
    expect(after.find(summary)).toMatchObject({ msg: `SIGHUP: read ${file} again: applied sendRate 20 → 7; maxFrameBytes, pingInterval take a restart (see the warning above); TLS certificate read again`, applied: ["sendRate"], restartNeeded: ["maxFrameBytes", "pingInterval"] });
    expect(b.s.proc.exitCode).toBe(null);
  }, 90_000);

  test("a SIGHUP while the broker starts (a renewal's reload during a restart) is honoured once it listens: the renewed certificate is served", async () => {
    const root = tempDir("cm-hup-start-");
    const ca = makeChainCa(root);
    const [old, renewed] = [ca.issue("old"), ca.issue("renewed")];
    const live = { certFile: join(root, "live-cert.pem"), keyFile: join(root, "live-key.pem") };
    const install = (p: { certFile: string; keyFile: string }) => (copyFileSync(p.certFile, live.certFile), copyFileSync(p.keyFile, live.keyFile));
    install(old);
    const dataDir = join(root, "data");
    await (await startBroker({}, { dataDir }))[Symbol.asyncDispose]();
    const file = join(root, "claudemesh.json");
    writeFileSync(file, JSON.stringify({ host: "127.0.0.1", port: 0, dataDir, logLevel: "info", tlsCert: live.certFile, tlsKey: live.keyFile }));
    // Another process's write lock holds the start after the certificate was read (up to 5 s,
    // in SQLite: the signal is handled once the start goes on).
    const lock = await holdWriteLock(join(dataDir, "claudemesh.db"));
    const s = serveProcess(["--config", file], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "" } });
    await using _ = { [Symbol.asyncDispose]: async () => (await lock.release(), await s[Symbol.asyncDispose]()) };
    const target = (fd: string) => {
      try {
        return readlinkSync(`/proc/${s.proc.pid}/fd/${fd}`);
      } catch {
        return ""; // closed since the listing
      }
    };
    const opened = () => readdirSync(`/proc/${s.proc.pid}/fd`).some((fd) => target(fd).endsWith("claudemesh.db"));
    await until(opened, "serve to open its database (the certificate was read before)");
    install(renewed);
    s.proc.kill("SIGHUP");
    await lock.release();
    const port = Number((await s.waitFor(LISTENING))[1]);
    await until(() => logs(s).some((l) => String(l.msg).startsWith("SIGHUP while the broker is starting")), "the SIGHUP to be heard");
    const served = () => servedSerial(port, readFileSync(ca.caFile, "utf8"));
    // Said once the previous listener stopped (HANDOVER_MS): from then on only the new one is served.
    await until(() => logs(s).some((l) => l.msg === "TLS certificate reloaded"), "the reload's handover to end").catch(() => {});
    expect({ served: await served(), reload: logs(s).find(summary)?.msg }).toEqual({ served: serialOf(renewed.certFile), reload: `SIGHUP: read ${file} again: no setting changed; TLS certificate read again` });
  }, 60_000);

  test("a config file that is a named pipe, read once at start, is not read again: opening it would hold the broker until something writes to it", async () => {
    const root = tempDir("cm-hup-fifo-");
    const fifo = join(root, "config.fifo");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    const s = serveProcess(["--config", fifo], { env: { ...process.env, CLAUDEMESH_LOG_LEVEL: "" } });
    await using _ = { [Symbol.asyncDispose]: s[Symbol.asyncDispose] };
    writeFileSync(fifo, JSON.stringify({ host: "127.0.0.1", port: 0, dataDir: join(root, "data") })); // waits for serve to open it
    const port = Number((await s.waitFor(LISTENING))[1]);
    const after = await hangup(s, summary);
    expect(after.find(summary)?.msg).toBe(`SIGHUP: the config file ${fifo} is a pipe, read once at start: settings change with a restart; no TLS certificate to reload (this broker serves plain HTTP): nothing changed`);
    expect(await alive(s, `http://127.0.0.1:${port}`)).toBe(true);
  }, 60_000);

  test("logLevel in the config file is applied at once: debug lines start after SIGHUP, and stop after the next; TLS turned on, or a value the environment replaces, is named", async () => {
    const root = tempDir("cm-hup-level-");
    const file = join(root, "claudemesh.json");
    const base = { host: "127.0.0.1", port: 0, dataDir: join(root, "data"), logLevel: "info" };
    writeFileSync(file, JSON.stringify(base));
    await using b = await serve(["--config", file], { CLAUDEMESH_SEND_RATE: "30" });
    await using mesh = await cliOwnedMesh(`http://127.0.0.1:${b.port}`);
    const debugLines = () => logs(b.s).filter((l) => l.level === "debug").length;
    // A member's connection, accepted and closed: two debug lines.
    const openAndClose = async () => void ok(await cli(mesh.dir, ["peers", "--json"]), "peers");
    writeFileSync(file, JSON.stringify({ ...base, logLevel: "debug" }));
    const after = await hangup(b.s, summary);
    expect(after.find(summary)).toMatchObject({ msg: `SIGHUP: read ${file} again: applied logLevel info → debug; no TLS certificate to reload (this broker serves plain HTTP)`, applied: ["logLevel"] });
    expect(after.find((l) => l.msg === "logLevel is now debug")).toMatchObject({ level: "info", previous: "info" });
    const before = debugLines();
    await openAndClose();
    await until(() => debugLines() > before, "a debug line");
    writeFileSync(file, JSON.stringify(base));
    await hangup(b.s, summary);
    const quiet = debugLines();
    await openAndClose();
    expect(debugLines()).toBe(quiet);

    // TLS turned on takes a restart (every URL's scheme changes); a value the environment gives
    // is the one in force, and the file's is said to be ignored, as at start.
    const pair = makeChainCa(root).issue("late");
    writeFileSync(file, JSON.stringify({ ...base, tlsCert: pair.certFile, tlsKey: pair.keyFile, sendRate: 9 }));
    const later = await hangup(b.s, summary);
    expect(later.filter((l) => l.level === "warn").map((l) => l.msg)).toEqual([
      `sendRate 9 in ${file} is ignored: CLAUDEMESH_SEND_RATE gives "30", and the environment beats the config file`,
      `settings changed in ${file} are not in force until the broker restarts: tlsCert, tlsKey`,
    ]);
    expect(later.find(summary)).toMatchObject({ restartNeeded: ["tlsCert", "tlsKey"], tls: false });
    expect(await alive(b.s, `http://127.0.0.1:${b.port}`)).toBe(true);
  }, 60_000);
});

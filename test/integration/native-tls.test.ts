// `claudemesh serve --tls-cert … --tls-key …` terminates TLS itself (docs/operations.md "TLS without
// a proxy"): a real `serve` process with a certificate from a throwaway CA made with openssl (a
// root and an intermediate, the certificate file holding the chain as certbot's fullchain.pem
// does), the real CLI and MCP server over https and wss trusting the root through
// NODE_EXTRA_CA_CERTS, the refusal without it, a renewal put in force by SIGHUP while a WebSocket
// stays open, a bad renewal that keeps the certificate in force, and the refusals of files that
// cannot be served (exit 2, the data directory untouched). An http:// URL for the TLS port is told
// to use https://. Session 35 (docs/decisions.md).
import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, cliStream, identities, ok } from "../helpers/cli.ts";
import { firstRunWalk } from "../helpers/https-walk.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeChainCa } from "../helpers/tls-ca.ts";
import { serialOf, servedSerial, tlsBroker, tlsPair } from "../helpers/tls-broker.ts";
import { canSwitchUser, run as runAs, serviceDir } from "../helpers/service-user.ts";
import { until } from "../helpers/until.ts";

describe("serve with tlsCert and tlsKey", () => {
  test("serves https and wss: the banner says so without the plain-HTTP warning; new, invite, join, send and inbox over it, and the MCP server, trust the root through NODE_EXTRA_CA_CERTS", async () => {
    await using b = await tlsBroker(["--host", "127.0.0.1"]);
    const banner = (await b.serve.waitFor(/Operator token[^]*\n  cmo_\S+\n/)).input;
    expect(banner).toContain(`is serving https://127.0.0.1:${b.port}\n`);
    expect(banner).toContain(`  websocket  wss://127.0.0.1:${b.port}/ws\n`);
    expect(banner).toContain(` new my-team --broker https://127.0.0.1:${b.port}\n`);
    expect(banner).not.toContain("warning:");
    expect(b.logs().find((l) => l.msg === "broker listening")?.tls).toMatchObject({ certFile: b.live.cert, names: ["localhost", "127.0.0.1"], chain: 2 });
    await using ids = identities(2);
    const { created } = await firstRunWalk(b.url, { NODE_EXTRA_CA_CERTS: b.caFile }, ids.dirs as [string, string], "over wss");
    expect(created.mesh.broker).toBe(b.url);
    // The dashboard's login over the broker's own TLS gets a Secure cookie: no proxy tells it so.
    const token = /^\s+(cmo_\S+)$/m.exec(banner)![1];
    const login = await fetch(`${b.url}/v1/dashboard/operator/login`, { method: "POST", headers: { "content-type": "application/json", origin: b.url }, body: JSON.stringify({ token }), tls: { ca: readFileSync(b.caFile, "utf8") } } as RequestInit);
    expect({ status: login.status, secure: /;\s*Secure/i.test(login.headers.get("set-cookie") ?? "") }).toEqual({ status: 200, secure: true });
  }, 90_000);

  test("without the root, every command refuses the certificate in words that say what to do, and sends nothing", async () => {
    await using b = await tlsBroker();
    await using ids = identities(1);
    const dir = ids.dirs[0]!;
    const refusal = `Cannot reach the broker at ${b.url}: its TLS certificate is not trusted here (its issuer is unknown), so nothing was sent. If it comes from a private CA, give that CA's certificate (PEM) in NODE_EXTRA_CA_CERTS, e.g. NODE_EXTRA_CA_CERTS=/path/to/ca.pem claudemesh …`;
    const r = await cli(dir, ["new", "untrusted", "--broker", b.url, "--display-name", "alice"]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 6, stderr: `claudemesh: ${refusal}\n` });
    expect(b.logs().filter((l) => l.msg === "mesh created")).toEqual([]);
    ok(await cli(dir, ["new", "untrusted", "--broker", b.url, "--display-name", "alice", "--json"], { env: { NODE_EXTRA_CA_CERTS: b.caFile } }), "new with the root");
    const peers = await cli(dir, ["peers"]);
    expect({ code: peers.code, stderr: peers.stderr }).toEqual({ code: 6, stderr: `claudemesh: ${refusal}\n` });
    // The scheme forgotten: Bun's TLS port closes a plain-HTTP connection without a word (a
    // proxy's answers 400), and the CLI says which URL to try.
    const plain = `http://127.0.0.1:${b.port}`;
    const hint = `(A broker that serves TLS itself closes plain http:// connections so: if it does, use https://127.0.0.1:${b.port}.)`;
    const plainNew = await cli(dir, ["new", "plain", "--broker", plain, "--display-name", "alice"]);
    expect({ code: plainNew.code, hinted: plainNew.stderr.includes(`The connection to the broker at ${plain} failed before it answered. Is it running, and is the URL right? ${hint}`) }).toEqual({ code: 6, hinted: true });
  }, 60_000);

  test("SIGHUP serves a renewed certificate to new connections while an open WebSocket goes on; a renewal that cannot be used keeps the one in force", async () => {
    await using b = await tlsBroker();
    await using team = await tlsPair(b, "renewing");
    const { alice, bob, env } = team;
    const first = serialOf(join(b.root, "first.leaf.pem"));
    expect(await servedSerial(b)).toBe(first);
    await using follow = cliStream(bob, ["inbox", "--follow"], { env });
    ok(await cli(alice, ["send", "bob", "before the renewal", "--json"], { env }), "send before");
    expect((await follow.lines(1))[0]).toContain("before the renewal");

    // certbot renews: new files in archive/, the links of live/ pointed at them; then SIGHUP.
    b.point(b.ca.issue("second"));
    const second = serialOf(join(b.root, "second.leaf.pem"));
    b.serve.proc.kill("SIGHUP");
    await until(() => b.logs().some((l) => l.msg === "TLS certificate reloaded"), "the reload in the log");
    expect(b.logs().find((l) => l.msg === "TLS certificate reloaded")).toMatchObject({ serial: second, previousSerial: first, certFile: b.live.cert });
    expect(await servedSerial(b)).toBe(second);
    // The socket opened under the first certificate was never dropped: it gets the next message.
    ok(await cli(alice, ["send", "bob", "after the renewal", "--json"], { env }), "send after (a new connection)");
    expect((await follow.lines(1))[0]).toContain("after the renewal");
    expect(follow.stderr()).not.toContain("Lost the connection");

    // A renewal half written: the key is not a key. The certificate in force stays, and says why.
    writeFileSync(join(b.root, "third.key"), "-----BEGIN PRIVATE KEY-----\ntruncated\n", { mode: 0o600 });
    b.point({ certFile: join(b.root, "second.pem"), keyFile: join(b.root, "third.key") });
    b.serve.proc.kill("SIGHUP");
    await until(() => b.logs().some((l) => l.msg.startsWith("TLS certificate not reloaded")), "the refusal in the log");
    const refused = b.logs().find((l) => l.msg.startsWith("TLS certificate not reloaded"))!;
    expect({ level: refused.level, msg: refused.msg, serial: refused.serial }).toEqual({ level: "error", msg: `TLS certificate not reloaded: the private key in ${b.live.key} does not parse (${refused.msg.match(/does not parse \((.*)\); still/)?.[1]}); still serving the previous one`, serial: second });
    expect(await servedSerial(b)).toBe(second);
    // The SIGHUP's own line says the certificate was not reloaded: "read again" read as a renewal
    // done to an operator checking `systemctl reload` (session 36, the operator's path walked again).
    const hangups = () => b.logs().filter((l) => String(l.msg).startsWith("SIGHUP: "));
    await until(() => hangups().length === 2, "the second SIGHUP's line");
    expect(hangups().map((l) => l.msg)).toEqual(["SIGHUP: no config file to read again (flags and environment variables are read only at start); TLS certificate read again", "SIGHUP: no config file to read again (flags and environment variables are read only at start); TLS certificate not reloaded: its files cannot be used now, and the previous one is still served (see the error above)"]);
    // A key others can read is refused the same way.
    const shared = b.ca.issue("shared");
    chmodSync(shared.keyFile, 0o644);
    b.point(shared);
    b.serve.proc.kill("SIGHUP");
    await until(() => b.logs().filter((l) => l.msg.startsWith("TLS certificate not reloaded")).length === 2, "the second refusal in the log");
    expect(b.logs().filter((l) => l.msg.startsWith("TLS certificate not reloaded"))[1]!.msg).toBe(`TLS certificate not reloaded: the TLS key file ${b.live.key} can be read by every user of this machine (mode 644), so any of them could pose as the broker; still serving the previous one`);
    expect(await servedSerial(b)).toBe(second);
    ok(await cli(alice, ["send", "bob", "still served", "--json"], { env }), "send after the refused reloads");
    expect((await follow.lines(1))[0]).toContain("still served");
    expect(b.serve.proc.exitCode).toBeNull();
  }, 90_000);
});

describe("serve refuses TLS files it cannot serve, before it touches the data directory", () => {
  const root = tempDir("cm-tls-refusals-");
  const ca = makeChainCa(root);
  const good = ca.issue("good");
  const other = ca.issue("other");
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const data = join(tempDir("cm-tls-data-"), "data");
    const r = await cli(root, ["serve", "--port", "0", "--data-dir", data, ...args], { env: { CLAUDEMESH_LOG_LEVEL: "info", ...env } });
    return { code: r.code, stderr: r.stderr, dataDir: existsSync(data) };
  };
  const keyOnly = `tlsKey from --tls-key is given without tlsCert: serving TLS takes both\n  fix: give tlsCert too (--tls-cert, CLAUDEMESH_TLS_CERT or "tlsCert" in the config file), the certificate, with its chain (certbot's fullchain.pem); or neither, to serve plain HTTP\n`;
  test.each([
    ["a certificate without its key (flag)", ["--tls-cert", good.certFile], {}, `tlsCert from --tls-cert is given without tlsKey: serving TLS takes both\n  fix: give tlsKey too (--tls-key, CLAUDEMESH_TLS_KEY or "tlsKey" in the config file), its private key (certbot's privkey.pem); or neither, to serve plain HTTP\n`],
    ["a key without its certificate (flag)", ["--tls-key", good.keyFile], {}, keyOnly],
    ["a certificate without its key (environment)", [], { CLAUDEMESH_TLS_CERT: good.certFile }, `tlsCert from CLAUDEMESH_TLS_CERT is given without tlsKey: serving TLS takes both\n  fix: give tlsKey too (--tls-key, CLAUDEMESH_TLS_KEY or "tlsKey" in the config file), its private key (certbot's privkey.pem); or neither, to serve plain HTTP\n`],
  ] as const)("%s: exit 2", async (_what, args, env, said) => {
    expect(await run([...args], env)).toEqual({ code: 2, stderr: `claudemesh serve: ${said}`, dataDir: false });
  });

  test("a key without its certificate in the config file: exit 2, naming the file", async () => {
    const file = join(root, "broker.json");
    writeFileSync(file, JSON.stringify({ tlsKey: good.keyFile }));
    expect(await run(["--config", file])).toEqual({ code: 2, stderr: `claudemesh serve: ${keyOnly.replace("from --tls-key", `from ${file}`)}`, dataDir: false });
  });

  test("files that cannot be served: each named with why and what to do, exit 2", async () => {
    const missing = join(root, "nope.pem");
    writeFileSync(join(root, "garbage.pem"), "not a certificate\n");
    const shared = join(root, "shared.key");
    writeFileSync(shared, readFileSync(good.keyFile), { mode: 0o644 });
    chmodSync(shared, 0o644);
    const cases: [string[], string][] = [
      [["--tls-cert", missing, "--tls-key", good.keyFile], `cannot start: the TLS certificate file ${missing} does not exist\n  fix: check the path given to tlsCert (--tls-cert, CLAUDEMESH_TLS_CERT or the config file)\n`],
      [["--tls-cert", join(root, "garbage.pem"), "--tls-key", good.keyFile], `cannot start: the TLS certificate file ${join(root, "garbage.pem")} holds no PEM certificate (a "-----BEGIN CERTIFICATE-----" block)\n  fix: give tlsCert the certificate file: the server's certificate first, then its chain (certbot's fullchain.pem)\n`],
      [["--tls-cert", good.keyFile, "--tls-key", good.certFile], `cannot start: the TLS certificate file ${good.keyFile} holds no PEM certificate (a "-----BEGIN CERTIFICATE-----" block): it holds a private key; are tlsCert and tlsKey swapped?\n  fix: give tlsCert the certificate file: the server's certificate first, then its chain (certbot's fullchain.pem)\n`],
      [["--tls-cert", good.certFile, "--tls-key", other.keyFile], `cannot start: the key in ${other.keyFile} is not the private key of the certificate in ${good.certFile} (CN=localhost)\n  fix: give the key made with that certificate: certbot's privkey.pem from the same live/ directory as its fullchain.pem\n`],
      [["--tls-cert", good.certFile, "--tls-key", shared], `cannot start: the TLS key file ${shared} can be read by every user of this machine (mode 644), so any of them could pose as the broker\n  fix: chmod o-rwx ${shared} (600, or 640 with a group the broker's user is in)\n`],
    ];
    for (const [args, said] of cases) expect(await run(args)).toEqual({ code: 2, stderr: `claudemesh serve: ${said}`, dataDir: false });
  }, 60_000);

  test.skipIf(!canSwitchUser)("a key file the broker's user may not read (certbot's, root's alone): exit 77, with how to give it access", async () => {
    const { dataDir, home } = serviceDir();
    const shared = tempDir("cm-tls-root-");
    chmodSync(shared, 0o711);
    const cert = join(shared, "fullchain.pem");
    const key = join(shared, "privkey.pem");
    writeFileSync(cert, readFileSync(good.certFile), { mode: 0o644 });
    writeFileSync(key, readFileSync(good.keyFile), { mode: 0o600 });
    const r = await runAs("service", ["serve", "--port", "0", "--data-dir", dataDir, "--tls-cert", cert, "--tls-key", key], home);
    expect({ code: r.code, stderr: r.stderr }).toEqual({
      code: 77,
      stderr: `claudemesh serve: cannot start: cannot read the TLS key file ${key}: permission denied (${key} belongs to uid 0, mode 600; claudemesh runs as uid 12345)\n  fix: give the broker's user read access to ${key} (certbot's /etc/letsencrypt/{live,archive} are root's alone: a deploy hook that copies the files for it, or a group it is in; docs/operations.md, "TLS without a proxy")\n`,
    });
  }, 60_000);

  test("serve --check shows the certificate, the https public URL and where tlsCert and tlsKey came from; a bad key fails it as serve would", async () => {
    const data = join(tempDir("cm-tls-check-"), "data");
    const text = await cli(root, ["serve", "--check", "--port", "0", "--data-dir", data, "--tls-cert", good.certFile], { env: { CLAUDEMESH_TLS_KEY: good.keyFile } });
    expect(text.code).toBe(0);
    const serial = serialOf(join(root, "good.leaf.pem"));
    expect(text.stdout).toContain("public URL  (none: links and banners use https://127.0.0.1:0)\n");
    expect(text.stdout).toMatch(new RegExp(`\\nTLS         localhost, 127\\.0\\.0\\.1 \\(issuer CN=claudemesh test intermediate CA\\), serial ${serial}, \\S+ to \\S+, 2 certificates in ${good.certFile}; key ${good.keyFile}\\n`));
    expect(text.stdout).toMatch(new RegExp(`\\n  tlsCert +${good.certFile} +--tls-cert\\n  tlsKey +${good.keyFile} +CLAUDEMESH_TLS_KEY\\n`));
    const json = (await cli(root, ["serve", "--check", "--json", "--port", "0", "--data-dir", data, "--tls-cert", good.certFile, "--tls-key", good.keyFile])).json();
    expect({ cert: json.settings.tlsCert, key: json.settings.tlsKey, tls: json.tls }).toEqual({
      cert: { value: good.certFile, source: "flag", from: "--tls-cert" },
      key: { value: good.keyFile, source: "flag", from: "--tls-key" },
      tls: expect.objectContaining({ certFile: good.certFile, keyFile: good.keyFile, serial, names: ["localhost", "127.0.0.1"], chain: 2, issuer: "CN=claudemesh test intermediate CA" }),
    });
    const bad = await cli(root, ["serve", "--check", "--json", "--port", "0", "--data-dir", data, "--tls-cert", good.certFile, "--tls-key", other.keyFile]);
    expect({ code: bad.code, ok: bad.json().ok, error: bad.json().error }).toEqual({ code: 2, ok: false, error: `the key in ${other.keyFile} is not the private key of the certificate in ${good.certFile} (CN=localhost)` });
  }, 60_000);
});

// tlsCert and tlsKey: the config takes both or neither, paths made absolute (src/config/load.ts), and
// the files are checked before Bun's TLS layer sees them (src/config/tls-files.ts), each refusal
// naming the file, why and what to do. Files made with openssl (test/helpers/tls-ca.ts). The
// integration side (serve's exit codes, SIGHUP) is test/integration/native-tls.test.ts.
import { describe, expect, test } from "bun:test";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, loadBrokerConfig } from "../../src/config/load.ts";
import { readTlsFiles, TlsFileError, validityProblem } from "../../src/config/tls-files.ts";
import { tempDir } from "../helpers/temp-dir.ts";
import { makeChainCa, requireTool } from "../helpers/tls-ca.ts";

const dir = tempDir("cm-tls-files-");
const ca = makeChainCa(dir);
const good = ca.issue("good");
const other = ca.issue("other");
const write = (name: string, text: string, mode = 0o600) => {
  const path = join(dir, name);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  return path;
};
const refusal = (cert: string, key: string) => {
  try {
    readTlsFiles(cert, key);
    return null;
  } catch (err) {
    return err instanceof TlsFileError ? { message: err.message, kind: err.kind } : String(err);
  }
};

describe("the config's tlsCert and tlsKey", () => {
  const load = (flags: Record<string, unknown>, env: Record<string, string> = {}) => loadBrokerConfig({ flags: flags as never, env });

  test("neither: plain HTTP; both: absolute paths, a relative one taken from the working directory", () => {
    expect([load({}).tlsCert, load({}).tlsKey]).toEqual(["", ""]);
    const c = load({ tlsCert: "live/fullchain.pem" }, { CLAUDEMESH_TLS_KEY: "/etc/ssl/key.pem" });
    expect([c.tlsCert, c.tlsKey]).toEqual([join(process.cwd(), "live/fullchain.pem"), "/etc/ssl/key.pem"]);
  });

  test("one alone is refused, naming where it came from and the other's three spellings", () => {
    const err = (() => {
      try {
        load({}, { CLAUDEMESH_TLS_KEY: "/k.pem" });
      } catch (e) {
        return e as ConfigError;
      }
    })();
    expect({ message: err?.message, fix: err?.fix }).toEqual({
      message: "tlsKey from CLAUDEMESH_TLS_KEY is given without tlsCert: serving TLS takes both",
      fix: `give tlsCert too (--tls-cert, CLAUDEMESH_TLS_CERT or "tlsCert" in the config file), the certificate, with its chain (certbot's fullchain.pem); or neither, to serve plain HTTP`,
    });
  });

  test("in a config file, a relative path is taken from the file's directory, and \"\" is none", () => {
    const file = write("broker.json", JSON.stringify({ tlsCert: "live/fullchain.pem", tlsKey: "live/privkey.pem" }));
    const c = loadBrokerConfig({ configFile: file, env: {} });
    expect([c.tlsCert, c.tlsKey]).toEqual([join(dir, "live/fullchain.pem"), join(dir, "live/privkey.pem")]);
    const none = write("none.json", JSON.stringify({ tlsCert: "", tlsKey: "" }));
    expect(loadBrokerConfig({ configFile: none, env: {} }).tlsCert).toBe("");
  });
});

describe("readTlsFiles", () => {
  test("a certificate with its chain and its key: both texts, and what the certificate says", () => {
    const m = readTlsFiles(good.certFile, good.keyFile);
    expect(m.cert).toBe(readFileSync(good.certFile, "utf8"));
    expect(m.certificate).toMatchObject({ subject: "CN=localhost", issuer: "CN=claudemesh test intermediate CA", names: ["localhost", "127.0.0.1"], chain: 2 });
    expect(validityProblem(m.certificate, Date.now())).toBeNull();
    expect(validityProblem(m.certificate, Date.parse(m.certificate.notAfter) + 1)).toBe(`the TLS certificate expired on ${m.certificate.notAfter}: clients refuse it; renew it, then send the broker SIGHUP`);
  });

  test("one file holding the certificate and the key (tlsCert and tlsKey naming it) is served, and held to the key's mode", () => {
    const both = write("both.pem", readFileSync(good.certFile, "utf8") + readFileSync(good.keyFile, "utf8"));
    expect(readTlsFiles(both, both).certificate.chain).toBe(2);
    chmodSync(both, 0o644);
    expect(refusal(both, both)).toEqual({ message: `the TLS key file ${both} can be read by every user of this machine (mode 644), so any of them could pose as the broker`, kind: "setting" });
  });

  test("a key its group may read is served (Debian's ssl-cert group; the documented certbot hook's 640)", () => {
    const grouped = write("grouped.key", readFileSync(good.keyFile, "utf8"), 0o640);
    expect(refusal(good.certFile, grouped)).toBeNull();
  });

  test("the chain in the wrong order: the key's certificate must come first", () => {
    const [leaf, intermediate] = readFileSync(good.certFile, "utf8").match(/-----BEGIN CERTIFICATE-----[^]*?-----END CERTIFICATE-----\n/g)!;
    const reversed = write("reversed.pem", intermediate! + leaf!, 0o644);
    expect(refusal(reversed, good.keyFile)).toEqual({ message: `the key in ${good.keyFile} belongs to certificate 2 of 2 in ${reversed}, not to the first one`, kind: "setting" });
  });

  test("a key with a passphrase, a key that is no key, a certificate that does not parse", () => {
    const encrypted = join(dir, "encrypted.key");
    Bun.spawnSync([requireTool("openssl", "openssl"), "pkey", "-in", good.keyFile, "-aes128", "-passout", "pass:secret", "-out", encrypted]);
    expect(refusal(good.certFile, encrypted)).toEqual({ message: `the TLS key file ${encrypted} is encrypted with a passphrase, which the broker has no way to ask for`, kind: "setting" });
    const certAsKey = write("cert-as-key.pem", readFileSync(good.certFile, "utf8"), 0o644);
    expect(refusal(good.certFile, certAsKey)).toEqual({ message: `the TLS key file ${certAsKey} holds no PEM private key (a "-----BEGIN PRIVATE KEY-----" block): it holds a certificate; are tlsCert and tlsKey swapped?`, kind: "setting" });
    const broken = write("broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", 0o644);
    expect(refusal(broken, good.keyFile)).toMatchObject({ message: expect.stringMatching(new RegExp(`^certificate 1 of 1 in ${broken} does not parse \\(.+\\)$`)), kind: "setting" });
    expect(refusal(good.certFile, other.keyFile)).toEqual({ message: `the key in ${other.keyFile} is not the private key of the certificate in ${good.certFile} (CN=localhost)`, kind: "setting" });
  });

  test("what is no file to read: a directory, a device, nothing", () => {
    expect(refusal(dir, good.keyFile)).toEqual({ message: `the TLS certificate file ${dir} is a directory`, kind: "setting" });
    expect(refusal("/dev/zero", good.keyFile)).toEqual({ message: "the TLS certificate file /dev/zero is not a regular file", kind: "setting" });
    expect(refusal(good.certFile, join(dir, "gone.key"))).toEqual({ message: `the TLS key file ${join(dir, "gone.key")} does not exist`, kind: "setting" });
  });
});

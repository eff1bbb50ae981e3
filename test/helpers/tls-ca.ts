// A throwaway certificate authority and a server certificate it signed, made with openssl at test
// time, for a TLS proxy in front of the broker (test/helpers/real-proxy.ts) or for the broker
// itself (makeChainCa, with an intermediate as a public CA has): what an operator with a private
// CA has. The certificates name `localhost` and 127.0.0.1, so clients on this machine verify
// them by name.
import { join } from "node:path";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";

export type TestCa = {
  /** The CA's certificate (PEM): what a client is told to trust (NODE_EXTRA_CA_CERTS). */
  caFile: string;
  /** The server's certificate and key (PEM), for the proxy's configuration. */
  certFile: string;
  keyFile: string;
};

/** Fails with the package to install when a tool the test drives is missing: CI installs it
 *  (scripts/test-tools.sh), so a missing one is a broken machine, never a reason to skip. */
export function requireTool(name: string, debianPackage: string): string {
  const path = Bun.which(name) ?? Bun.which(name, { PATH: "/usr/sbin:/usr/bin:/sbin:/bin" });
  if (!path) throw new Error(`${name} is not installed: this test needs Debian's \`${debianPackage}\` package (apt-get install ${debianPackage}; scripts/test-tools.sh lists it)`);
  return path;
}

function openssl(args: string[], cwd: string): void {
  const r = Bun.spawnSync([requireTool("openssl", "openssl"), ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl ${args.join(" ")} exited ${r.exitCode}: ${r.stderr.toString()}`);
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** Makes the CA and the server certificate in `dir` (valid for a day, P-256 keys); `names`: the
 *  certificate's subjectAltName (another host's, for a certificate that does not fit the URL). */
export function makeTestCa(dir: string, names = "DNS:localhost,IP:127.0.0.1"): TestCa {
  openssl(["req", "-x509", ...EC, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1", "-subj", "/CN=claudemesh test CA"], dir);
  openssl(["req", ...EC, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"], dir);
  writeFileSync(join(dir, "server.ext"), `subjectAltName=${names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "1", "-extfile", "server.ext"], dir);
  return { caFile: join(dir, "ca.pem"), certFile: join(dir, "server.pem"), keyFile: join(dir, "server.key") };
}

/** A self-signed certificate for `localhost` in `dir` (no CA): `{ certFile, keyFile }`. */
export function makeSelfSigned(dir: string): Omit<TestCa, "caFile"> {
  openssl(["req", "-x509", ...EC, "-keyout", "self.key", "-out", "self.pem", "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"], dir);
  return { certFile: join(dir, "self.pem"), keyFile: join(dir, "self.key") };
}

/** A certificate authority as a public one is: a root, and an intermediate it signed that signs
 *  the servers' certificates (Let's Encrypt's fullchain.pem is the server's certificate, then the
 *  intermediate's). `caFile` holds the root alone, so a client verifies a server only when that
 *  serves its chain. */
export type ChainCa = {
  caFile: string;
  /** A server certificate for `names` (subjectAltName) with a key of its own, as certbot writes a
   *  renewal: `certFile` the certificate then the intermediate's, `keyFile` the key (0600). `name`
   *  prefixes the files, one set per name. */
  issue(name: string, names?: string): { certFile: string; keyFile: string };
};

export function makeChainCa(dir: string): ChainCa {
  openssl(["req", "-x509", ...EC, "-keyout", "root.key", "-out", "root.pem", "-days", "1", "-subj", "/CN=claudemesh test root CA"], dir);
  openssl(["req", ...EC, "-keyout", "int.key", "-out", "int.csr", "-subj", "/CN=claudemesh test intermediate CA"], dir);
  writeFileSync(join(dir, "int.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n");
  openssl(["x509", "-req", "-in", "int.csr", "-CA", "root.pem", "-CAkey", "root.key", "-CAcreateserial", "-out", "int.pem", "-days", "1", "-extfile", "int.ext"], dir);
  return {
    caFile: join(dir, "root.pem"),
    issue(name, names = "DNS:localhost,IP:127.0.0.1") {
      openssl(["req", ...EC, "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", "/CN=localhost"], dir);
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${names}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
      openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "int.pem", "-CAkey", "int.key", "-CAcreateserial", "-out", `${name}.leaf.pem`, "-days", "1", "-extfile", `${name}.ext`], dir);
      const certFile = join(dir, `${name}.pem`);
      writeFileSync(certFile, readFileSync(join(dir, `${name}.leaf.pem`), "utf8") + readFileSync(join(dir, "int.pem"), "utf8"));
      chmodSync(join(dir, `${name}.key`), 0o600);
      return { certFile, keyFile: join(dir, `${name}.key`) };
    },
  };
}

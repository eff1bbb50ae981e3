// A throwaway certificate authority and a server certificate it signed, made with openssl at test
// time, for a TLS proxy in front of the broker (test/helpers/real-proxy.ts): what an operator with
// a private CA has. The certificate names `localhost` and 127.0.0.1, so clients on this machine
// verify it by name.
import { join } from "node:path";
import { writeFileSync } from "node:fs";

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

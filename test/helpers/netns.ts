// Real machines on a real network, for the faults loopback never shows: Linux network namespaces
// joined by veth pairs (iproute2). A "vps" namespace holds a bridge with the broker's address;
// each laptop is a namespace with one veth end on that bridge. A laptop's link can go down inside
// its namespace: packets then vanish both ways, and neither end gets a FIN or an RST.
// Needs root and `ip` (Debian's iproute2, listed in scripts/test-tools.sh); without them it throws
// naming what is missing, so a test never skips silently.
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";

/** `claudemesh` from source, as a command line. */
const CLAUDEMESH = [process.execPath, "run", resolve(import.meta.dir, "../../src/main.ts")];

export type Host = {
  /** The namespace's name. */
  ns: string;
  /** Its address on the lab network. */
  ip: string;
  /** `argv` run inside this host's namespace (`ip netns exec` execs it: the pid is the program's). */
  wrap(argv: string[]): string[];
  /** `claudemesh` from source, run on this host. */
  claudemesh: string[];
};

export type Laptop = Host & {
  /** Takes the laptop's link down (inside its namespace; its peer on the bridge loses carrier). */
  linkDown(): void;
  linkUp(): void;
  /** Drops every packet the vps sends to this laptop while the link stays up (a pfifo queue of
   *  length 0 on the vps end of the veth): no route goes away, the laptop's packets still arrive,
   *  and no answer comes back, as behind a NAT that forgot the flow. A connect hangs at its SYN.
   *  (Dropping on the laptop's own end too would make its connects fail at once with ENOBUFS, a
   *  local error no far-away fault gives.) `clear()` undoes it. */
  blackhole(): void;
  clear(): void;
};

export type NetLab = { vps: Host; laptops: Laptop[]; [Symbol.asyncDispose](): Promise<void> };

/** Runs `ip …`; throws with its stderr when it fails. */
function ip(...args: string[]): void {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.error) throw new Error(`\`ip\` could not run (${r.error.message}): install iproute2 (scripts/test-tools.sh)`);
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")} failed (exit ${r.status}): ${r.stderr.trim()}`);
}

/** Runs `tc …` inside namespace `ns`; throws with its stderr when it fails. */
function tc(ns: string, ...args: string[]): void {
  const r = spawnSync("ip", ["netns", "exec", ns, "tc", ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tc ${args.join(" ")} in ${ns} failed (exit ${r.status}): ${(r.stderr || r.error?.message || "").trim()}; tc comes with iproute2 (scripts/test-tools.sh)`);
}

/** A vps and `n` laptops (10.<net>.0.1 and .2, .3, …). Names carry the pid so that parallel test
 *  processes never share a namespace; everything is deleted at the end of the `await using` scope. */
export function netLab(n: number): NetLab {
  if (process.getuid?.() !== 0) throw new Error("network namespaces need root: run this test as root (CI does)");
  const tag = `cm${process.pid}`;
  const net = 100 + (process.pid % 150);
  const host = (ns: string, addr: string): Host => ({
    ns,
    ip: addr,
    wrap: (argv) => ["ip", "netns", "exec", ns, ...argv],
    claudemesh: ["ip", "netns", "exec", ns, ...CLAUDEMESH],
  });
  const made: string[] = [];
  const dispose = async () => {
    for (const ns of made.splice(0)) spawnSync("ip", ["netns", "del", ns]);
  };
  try {
    const vps = host(`${tag}v`, `10.${net}.0.1`);
    ip("netns", "add", vps.ns);
    made.push(vps.ns);
    ip("-n", vps.ns, "link", "set", "lo", "up");
    ip("-n", vps.ns, "link", "add", "br0", "type", "bridge");
    ip("-n", vps.ns, "addr", "add", `${vps.ip}/24`, "dev", "br0");
    ip("-n", vps.ns, "link", "set", "br0", "up");
    const laptops = Array.from({ length: n }, (_, i): Laptop => {
      const h = host(`${tag}l${i}`, `10.${net}.0.${i + 2}`);
      ip("netns", "add", h.ns);
      made.push(h.ns);
      ip("-n", h.ns, "link", "set", "lo", "up");
      // Made in the laptop's namespace, its peer moved to the vps: names only need to be unique there.
      ip("-n", h.ns, "link", "add", "eth0", "type", "veth", "peer", "name", `l${i}`, "netns", vps.ns);
      ip("-n", vps.ns, "link", "set", `l${i}`, "master", "br0");
      ip("-n", vps.ns, "link", "set", `l${i}`, "up");
      ip("-n", h.ns, "addr", "add", `${h.ip}/24`, "dev", "eth0");
      ip("-n", h.ns, "link", "set", "eth0", "up");
      return {
        ...h,
        linkDown: () => ip("-n", h.ns, "link", "set", "eth0", "down"),
        linkUp: () => ip("-n", h.ns, "link", "set", "eth0", "up"),
        blackhole: () => tc(vps.ns, "qdisc", "replace", "dev", `l${i}`, "root", "pfifo", "limit", "0"),
        clear: () => tc(vps.ns, "qdisc", "del", "dev", `l${i}`, "root"),
      };
    });
    return { vps, laptops, [Symbol.asyncDispose]: dispose };
  } catch (err) {
    void dispose();
    throw err;
  }
}

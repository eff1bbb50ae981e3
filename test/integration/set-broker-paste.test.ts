// The commands claudemesh prints for the user to paste carry text a broker chose: the public URL
// its hello_ack states (protocol §2.6; over plain http:// anyone on the way can write it) and the
// ids of the invites set-broker lists. A broker is untrusted (DESIGN §2): pasted into a shell,
// such a command must run `claudemesh` with that text as one argument and nothing else, whatever
// the text holds (`$(…)`, `;`, quotes). Each printed command is run here by `sh` with `claudemesh`
// a function that prints its arguments, and a marker file shows whether anything else ran.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startBroker, tempDir } from "../helpers/broker.ts";
import { cli, cliMesh, identities, ok } from "../helpers/cli.ts";
import { Conn } from "../../src/broker/conn.ts";

/** What `sh` makes of `line` (a printed claudemesh command): the arguments claudemesh gets. */
async function pasted(line: string): Promise<string[]> {
  const proc = Bun.spawn(["sh", "-c", `claudemesh() { printf '%s\\n' "$@"; }\n${line}`], { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  return out.split("\n").slice(0, -1);
}

/** A public URL the broker's config takes, which a shell would run `touch <marker>` for. */
const hostileUrl = (marker: string) => `https://mesh.example.com/x$(touch$IFS${marker})`;

describe("commands printed with a broker's words in them", () => {
  test("the public URL note and doctor's line: the set-broker command pastes as one argument", async () => {
    const dataDir = tempDir("cm-paste-");
    const marker = join(dataDir, "pwned");
    await using ids = identities(1);
    const [alice] = ids.dirs as [string];
    const first = await startBroker({}, { dataDir });
    const { slug } = await cliMesh(first.url, [[alice, "alice"]]);
    await first.stop();
    await using b = await startBroker({ port: first.port, publicUrl: hostileUrl(marker) }, { dataDir });
    const stated = new URL(hostileUrl(marker)).toString();

    const note = (await cli(alice, ["peers"])).stderr;
    const noteCommand = /switch now: (claudemesh set-broker .*?) It came over plain http:\/\//.exec(note)?.[1];
    expect(noteCommand).toBeDefined();
    const args = await pasted(noteCommand!);
    expect(existsSync(marker)).toBe(false);
    expect(args).toEqual(["set-broker", stated]);

    const doctor = (await cli(alice, ["doctor", "--json"])).json().checks.find((c: { check: string }) => c.check === `${slug}: broker`);
    const doctorCommand = /to use that: (claudemesh set-broker .*)\)\. It came over/.exec(doctor.detail)?.[1];
    expect(doctorCommand).toBeDefined();
    expect(await pasted(doctorCommand!)).toEqual(["set-broker", stated]);
    expect(existsSync(marker)).toBe(false);
    void b;
  }, 60_000);

  test("set-broker and an invite id the broker made up: refused as malformed, nothing printed runs it", async () => {
    const root = tempDir("cm-paste-invite-");
    const marker = join(root, "pwned");
    await using b = await startBroker();
    await using ids = identities(1);
    const [alice] = ids.dirs as [string];
    await cliMesh(b.url, [[alice, "alice"]]);
    ok(await cli(alice, ["invite"]));
    // The broker lists the invite under an id of its own making (a result's data is not checked
    // by the codec: any JSON).
    const made = `abc$(touch$IFS${marker})`;
    // A request's result is written as text (Conn.sendRaw), its length checked first.
    const real = Conn.prototype.sendRaw;
    Conn.prototype.sendRaw = function (this: Conn, text: string): boolean {
      const f = text.startsWith('{"type":"result"') ? (JSON.parse(text) as { data?: { invites?: { inviteId: string }[] } }) : null;
      if (f && Array.isArray(f.data?.invites)) return real.call(this, JSON.stringify({ ...f, data: { ...f.data, invites: f.data.invites.map((i) => ({ ...i, inviteId: made })) } }));
      return real.call(this, text);
    };
    try {
      // Another name of the same broker: a move, as set-broker sees it.
      const other = b.url.replace("127.0.0.1", "localhost");
      const moved = ok(await cli(alice, ["set-broker", other]));
      // The answer check (result-schemas.ts) refuses an id outside the protocol's form before a
      // command is made of it; shellWord quotes any text that gets that far (shell-word.test.ts).
      expect(moved.stdout).toContain("The open invites could not be listed");
      expect(moved.stdout + moved.stderr).not.toContain(made);
      const printed = moved.stdout.match(/claudemesh [^;\n]*/g) ?? [];
      expect(printed.length).toBeGreaterThan(0);
      for (const line of printed) await pasted(line);
      expect(existsSync(marker)).toBe(false);
    } finally {
      Conn.prototype.sendRaw = real;
    }
  }, 60_000);
});

// `inbox --follow` runs until it is stopped, and what stops it is a signal: Ctrl-C (SIGINT), a
// service manager or `kill` (SIGTERM), a terminal or ssh session that closes (SIGHUP). Each stops it
// the same clean way: what stdout took is recorded and acked, what it did not take stays unread, a
// write its reader is not taking (a pipe whose reader paused) does not hold the stop, the
// connection is closed normally, and it exits 0. Before, SIGTERM and SIGHUP killed it outright and
// Ctrl-C waited for the stuck write: the lines stdout had taken were shown again by the next
// `inbox`. The one-shot `inbox`, interrupted while its reader pauses, likewise. Session 36, "long-running commands end cleanly
// on every signal" (docs/decisions.md). `inbox --all --follow` stopped while it shows the history
// (messages read before) stops the same way, and each phase says how many lines stdout took when
// the stop cut them short; before, a signal then had its default effect (exit 130, 143, 129, and
// no word). Session 37, "the CLI's leftovers". The real CLI in a shell pipeline against a real broker.
import { expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MAIN, cli, cliEnv, cliStream, cliTeam, ok, until, useBroker } from "../helpers/cli.ts";
import { linkProxy } from "../helpers/tcp-proxy.ts";
import { alive } from "../helpers/process.ts";
import { linkedTeam, shell } from "../helpers/cli-pipe.ts";

/** The round-and-number labels (`r1-m7`) of the messages in `text`, in order. */
const labels = (text: string) => [...text.matchAll(/\b(r\d+-m\d+) x/g)].map((m) => m[1]!);
const bodies = (r: { json(): { messages: { body: string }[]; alreadyRead?: number } }) => r.json().messages.map((m) => m.body.split(" ")[0]!);

/** The close codes the broker logged for `pubkey`'s connections, oldest first. */
const closeCodes = (logs: string[], pubkey: string) =>
  logs
    .map((l) => JSON.parse(l) as { msg: string; pubkey?: string; code?: number })
    .filter((l) => l.msg === "connection closed" && l.pubkey === pubkey)
    .map((l) => l.code);

/** A reader for `shell` that takes part of the first line, touches `<dir>-got`, and pauses until
 *  `<dir>-go` exists; then it takes the rest into `<dir>-out`. */
const pausedReader = (dir: string) => `| { dd bs=3000 count=1 2>/dev/null; touch '${dir}-got'; while [ ! -e '${dir}-go' ]; do sleep 0.05; done; cat; } > '${dir}-out'`;

/** `claudemesh <args>` for bob with 40 messages of 3 KB coming (with --all: read before, so they
 *  are the history it shows), its stdout a pipe whose reader takes part of the first line and then
 *  pauses (the pipe fills with 16 lines, the next write waits), stopped by `signal` then. What it
 *  printed (all of it reaches `out` once the reader goes on), how it ended and what it said, what
 *  its history and the next inbox hold after, and the close code of its connection. */
async function stuck(args: string[], signal: NodeJS.Signals) {
  await using t = await linkedTeam();
  const N = 40;
  const dir = join(t.root, "r1");
  const reader = pausedReader(dir);
  const send = async () => {
    for (let i = 0; i < N; i++) await t.send(`r1-m${i} ${"x".repeat(3000)}`);
  };
  const read = args.includes("--all");
  if (!args.includes("--follow") || read) await send();
  if (read) ok(await cli(t.bob, ["inbox"]), "reading the messages into the history");
  await using run = shell(t.bob, t.root, args, reader);
  let ended = false;
  let closesBefore = 0;
  try {
    if (args.includes("--follow") && !read) {
      await until(() => run.stderr().includes("Following"), "the follower to start");
      await send();
    }
    await until(() => existsSync(`${dir}-got`), "the reader to take the first line");
    await Bun.sleep(500); // the pipe fills, the command waits on its next write
    closesBefore = closeCodes(t.b.logs, t.bobKey).length;
    process.kill(run.pid(), signal);
    // It ends by itself, with its stdout still stuck.
    ended = await until(run.ended, `claudemesh ${args.join(" ")} to end on ${signal} while its reader pauses`, 10_000).then(() => true, () => false);
  } finally {
    writeFileSync(`${dir}-go`, ""); // the reader goes on (and ends with the CLI), whatever failed
  }
  const { code, stderr } = await run.done();
  const printed = labels(readFileSync(`${dir}-out`, "utf8"));
  const history = bodies(ok(await cli(t.bob, ["inbox", "--all", "--limit", "500", "--json"])));
  const next = ok(await cli(t.bob, ["inbox", "--json"]));
  const all = Array.from({ length: N }, (_, i) => `r1-m${i}`);
  return { ended, code, stderr, printed, history, unread: bodies(next), alreadyRead: next.json().alreadyRead, all, closeCode: closeCodes(t.b.logs, t.bobKey)[closesBefore] };
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  test(`${signal} stops a follower whose stdout is stuck: what stdout took is read, the rest unread, a normal close, exit 0`, async () => {
    const r = await stuck(["inbox", "--follow"], signal);
    expect(r.printed.length).toBeGreaterThan(1);
    // What stdout took is in the history once; the rest comes with the next inbox, not shown
    // again and not lost (no repeat dropped as already read: the acks were committed). The
    // follower's connection was the first to close after the signal: normally.
    expect({ ended: r.ended, code: r.code, stderr: r.stderr, history: r.history, unread: r.unread, alreadyRead: r.alreadyRead, closeCode: r.closeCode }).toEqual({
      ended: true,
      code: 0,
      stderr: `Following team-x; Ctrl-C to stop.\nclaudemesh: warning: stdout took ${r.printed.length} message(s) before the stop; the rest stay unread for the next \`claudemesh inbox\`.\n`,
      history: r.printed,
      unread: r.all.slice(r.printed.length),
      alreadyRead: undefined,
      closeCode: 1000,
    });
  }, 60_000);
}

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  test(`${signal} during inbox --all --follow's history stops it as in the follow phase: exit 0, the count said, nothing read or left unread`, async () => {
    const r = await stuck(["inbox", "--all", "--follow", "--limit", "500"], signal);
    expect(r.printed.length).toBeGreaterThan(1);
    // It stopped before it connected: the history is the same 40 and nothing is unread.
    expect({ ended: r.ended, code: r.code, stderr: r.stderr, printed: r.printed, history: r.history, unread: r.unread }).toEqual({
      ended: true,
      code: 0,
      stderr: `Stopped during the history: stdout took ${r.printed.length} of its 40 message(s), all read before and still in this machine's log; no new message was read.\n`,
      printed: r.all.slice(0, r.printed.length),
      history: r.all,
      unread: [],
    });
  }, 60_000);
}

// nohup starts it with SIGHUP ignored so that it outlives its terminal: the history's stop leaves
// that alone, as the follow phase does (nohup.test.ts).
test("under nohup, a SIGHUP during inbox --all --follow's history stays ignored: all of it is shown and it follows on", async () => {
  await using t = await linkedTeam();
  for (let i = 0; i < 40; i++) await t.send(`r1-m${i} ${"x".repeat(3000)}`);
  ok(await cli(t.bob, ["inbox"]));
  const dir = join(t.root, "r1");
  await using run = shell(t.bob, t.root, ["inbox", "--all", "--follow", "--limit", "500"], pausedReader(dir), { nohup: true });
  await until(() => existsSync(`${dir}-got`), "the reader to take the first line");
  await Bun.sleep(500); // the pipe fills, the command waits on its next write
  process.kill(run.pid(), "SIGHUP");
  await Bun.sleep(1000);
  const endedOnHup = run.ended();
  writeFileSync(`${dir}-go`, "");
  await until(() => run.stderr().includes("Following"), "the follower to follow on after its history");
  process.kill(run.pid(), "SIGTERM");
  const { code, stderr } = await run.done();
  expect({ endedOnHup, code, stderr, printed: labels(readFileSync(`${dir}-out`, "utf8")).length }).toEqual({ endedOnHup: false, code: 0, stderr: "Following team-x; Ctrl-C to stop.\n", printed: 40 });
}, 60_000);

// The one-shot inbox runs as long as its reader pauses (`claudemesh inbox | less` left on a page):
// interrupted then, it keeps what stdout took as read and exits as the signal would.
test("SIGINT to an inbox whose stdout is stuck: what stdout took is read, the rest unread, exit 130", async () => {
  const r = await stuck(["inbox"], "SIGINT");
  expect(r.printed.length).toBeGreaterThan(1);
  expect({ ended: r.ended, code: r.code, history: r.history, unread: r.unread, alreadyRead: r.alreadyRead }).toEqual({
    ended: true,
    code: 130,
    history: r.printed,
    unread: r.all.slice(r.printed.length),
    alreadyRead: undefined,
  });
}, 60_000);

// `script` (util-linux) gives the follower a real terminal to lose.
test.skipIf(!Bun.which("script"))("a terminal that closes stops the follower cleanly: exit 0 and a normal close, not death by SIGHUP", async () => {
  await using t = await linkedTeam();
  const code = join(t.root, "code");
  const words = [process.execPath, "run", MAIN, "inbox", "--follow"].map((w) => `'${w}'`).join(" ");
  // `script` gives the follower a terminal; killing `script` closes it: the kernel sends SIGHUP to
  // the terminal's session leader (the outer shell, which dies of it) and then to its foreground
  // process group, the follower. The subshell waits for the follower and says its code.
  const run = join(t.root, "run.sh");
  const pid = join(t.root, "pid");
  writeFileSync(run, `( trap : HUP; sh -c 'echo $$ > "$0"; exec "$@"' '${pid}' ${words}; echo $? > '${code}' )\n`);
  const term = Bun.spawn(["script", "-qfec", `sh '${run}'`, "/dev/null"], { env: cliEnv(t.bob), stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  let seen = "";
  void (async () => {
    for await (const chunk of term.stdout) seen += new TextDecoder().decode(chunk);
  })();
  try {
    await until(() => seen.includes("Following"), "the follower to start in its terminal");
    await t.send("r1-m0 x shown before the terminal closed");
    await until(() => seen.includes("r1-m0"), "the follower to show the message");
    const closesBefore = closeCodes(t.b.logs, t.bobKey).length;
    term.kill("SIGKILL"); // the terminal window is gone
    await until(() => existsSync(code) && readFileSync(code, "utf8").endsWith("\n"), "the follower to end", 10_000);
    expect(Number(readFileSync(code, "utf8"))).toBe(0);
    await until(() => closeCodes(t.b.logs, t.bobKey).length > closesBefore, "the broker to see the connection close");
    expect(closeCodes(t.b.logs, t.bobKey)[closesBefore]).toBe(1000);
  } finally {
    term.kill("SIGKILL");
    if (existsSync(pid) && alive(Number(readFileSync(pid, "utf8")))) process.kill(Number(readFileSync(pid, "utf8")), "SIGKILL");
  }
  // It was read: the next inbox has nothing new.
  expect(ok(await cli(t.bob, ["inbox"])).stdout).toBe("No new messages.\n");
}, 60_000);

test("a follower stopped while it connects ends at once with exit 0, not after the handshake's 15 s", async () => {
  await using team = await cliTeam(["alice", "bob"]);
  const [, bob] = team.dirs;
  using proxy = linkProxy(team.b.port, () => false); // nothing the broker answers arrives
  useBroker(bob, proxy.url);
  await using follow = cliStream(bob, ["inbox", "--follow"], { env: { CLAUDEMESH_DEBUG: "1" } });
  await until(() => follow.stderr().includes("[debug] connecting to"), "the follower to connect");
  follow.proc.kill("SIGINT");
  await until(() => follow.proc.exitCode !== null, "the follower to end", 5_000);
  expect(follow.proc.exitCode).toBe(0);
}, 60_000);

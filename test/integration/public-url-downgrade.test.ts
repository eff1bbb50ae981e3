// A broker states its publicUrl in hello_ack (protocol §2.6) and the CLI says once, `doctor` each
// time, that it differs from the URL in use, with the command that switches. Reached over https,
// a broker whose publicUrl is plain http:// (an operator's slip, or an old setting left behind)
// must not be offered as a switch: that command would drop TLS, after which anyone on the way can
// read and rewrite the link. The note says so and offers no command. A real `serve` terminating
// TLS itself (tls-broker.ts). (Session 36, "set-broker's leftovers".)
import { expect, test } from "bun:test";
import { cli, identities, ok } from "../helpers/cli.ts";
import { tlsBroker } from "../helpers/tls-broker.ts";

const STATED = "http://mesh.example.com";

test("a public URL that would drop TLS: said as a downgrade, with no command to switch, by commands, set-broker and doctor", async () => {
  await using b = await tlsBroker(["--host", "127.0.0.1", "--public-url", STATED]);
  await using ids = identities(1);
  const [alice] = ids.dirs as [string];
  const env = { NODE_EXTRA_CA_CERTS: b.caFile };
  const slug = ok(await cli(alice, ["new", "Team", "--broker", b.url, "--display-name", "alice", "--json"], { env })).json().mesh.slug as string;
  const why = `It is plain http://, which anyone between this machine and the broker can read and alter, while ${b.url} is https://: do not switch to it. If the broker's operator did move the broker there, ask them for its https:// URL (its publicUrl may be set wrong).`;
  const note = `claudemesh: warning: The broker of ${slug} gives ${STATED} as its public URL, and this machine reaches it at ${b.url}. ${why}\n`;

  // The first command that connects says it (once per value: the next one does not).
  const first = await cli(alice, ["peers"], { env });
  const second = await cli(alice, ["peers"], { env });
  expect({ first: [first.code, first.stderr], second: [second.code, second.stderr] }).toEqual({ first: [0, note], second: [0, ""] });

  const set = await cli(alice, ["set-broker", b.url, "--json"], { env });
  expect({ code: set.code, changed: set.json().changed, stderr: set.stderr }).toEqual({ code: 0, changed: false, stderr: note });

  const doctor = (await cli(alice, ["doctor", "--json"], { env })).json().checks.find((c: { check: string }) => c.check === `${slug}: broker`);
  expect(doctor).toEqual({ check: `${slug}: broker`, ok: true, detail: `${b.url} accepts you as alice (owner); it gives ${STATED} as its public URL. ${why}`, fix: null });
}, 90_000);

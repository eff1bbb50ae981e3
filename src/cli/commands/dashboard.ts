// claudemesh dashboard: the mesh dashboard, served from this machine until Ctrl-C. The page comes
// from this claudemesh on 127.0.0.1 (cli/dashboard-server.ts), never from the broker, and its link
// carries a one-time login signed here with the member key (valid 5 minutes, once) and, in the
// #fragment, the member key and the mesh keys, which never expire: the page reads and posts in
// #general end to end and (owners, admins) signs invites. The broker gets neither the fragment nor
// the page that reads it. The link is secret: it is opened through a private file (never on a
// command line) and printed only when asked for with --no-open, under a warning.
import { join } from "node:path";
import { randomId } from "../../crypto/hash.ts";
import { dashboardLink } from "../../client/dashboard-link.ts";
import { choosePlan, handOffLink, HANDOFF_KEEP_MS } from "../../client/local/browser-handoff.ts";
import type { LocalConfig, MeshEntry } from "../../client/local/config-file.ts";
import { command, savedBroker, type CommonArgs } from "../context.ts";
import { UsageError } from "../output.ts";
import { onStop } from "../../local-file/interrupt.ts";
import { meshOption } from "../mesh-named.ts";
import { wholeNumber } from "../number-arg.ts";
import { startLocalDashboard, type LocalDashboard } from "../dashboard-server.ts";

/** What anyone holding the link could do, said wherever the link is shown. */
function linkWarning(mesh: MeshEntry): string {
  const can =
    mesh.role === "owner"
      ? "act as the mesh owner (read, post, invite, remove members) for the life of the mesh: an owner key cannot be replaced"
      : `${mesh.role === "admin" ? "read, post, invite and remove members" : "read and post"} as ${mesh.displayName} until you are removed from the mesh and it is rekeyed`;
  return [
    `WARNING: this link also carries your secret member key and the mesh keys, which never expire. Whoever gets it can ${can}.`,
    "Open it only in your own browser; never paste it into a chat, an issue, a shared terminal or a log.",
  ].join("\n");
}

/** The command that prints the link, with the --mesh it needs when several meshes are joined. */
const printCommand = (cfg: LocalConfig, mesh: MeshEntry) => `claudemesh dashboard${meshOption(cfg, mesh)} --no-open`;

/** Exit 2 without the link: printing it unasked would put the key where the user did not expect.
 *  The fix is the command that prints it (`printCommand`), not the generic --help. */
const noBrowser = (reason: string, print: string) =>
  new UsageError(`No browser was opened: ${reason}. \`${print}\` prints the link instead; it carries your secret member key, which never expires, so open it only in your own browser.`, { fix: print });

/** --port: where the page is served (0, the default: any free port). */
function portArg(raw: string | undefined): number {
  if (raw === undefined) return 0;
  const port = wholeNumber(raw);
  if (port === null || port < 1 || port > 65535) throw new UsageError(`--port takes a port number (1–65535), not "${raw}".`);
  return port;
}

function serveLocally(brokerUrl: string, port: number): LocalDashboard {
  try {
    return startLocalDashboard(brokerUrl, port);
  } catch (err) {
    if ((err as { code?: string }).code === "EADDRINUSE") throw new UsageError(`Port ${port} on 127.0.0.1 is in use. Pick another with --port, or leave --port out for any free port.`);
    throw err;
  }
}

/** `stopped` resolves at Ctrl-C (SIGINT), SIGTERM, or SIGHUP (its terminal closed), each of which
 *  stops it cleanly; `signal` is aborted then too, for the step under way (the browser handoff). */
function untilStopped(): { stopped: Promise<null>; signal: AbortSignal } {
  const stop = new AbortController();
  const stopped = new Promise<null>((resolve) => onStop(() => (stop.abort(), resolve(null))));
  return { stopped, signal: stop.signal };
}

/** Said when a stop came during the handoff: no opener was started after it, the one running was
 *  stopped and the page removed, so no browser opens a dashboard that has stopped. */
const STOPPED_BEFORE_OPEN = "Stopped before the browser was opened; nothing was left for it to open.";

/** `open: false` is how citty hands over `--no-open` (it reads `--no-x` as x = false). */
export async function run(args: CommonArgs & { open?: boolean; "no-open"?: boolean; port?: string }): Promise<void> {
  const printOnly = args.open === false || args["no-open"] === true;
  await command(args, async (ctx) => {
    const port = portArg(args.port);
    const mesh = ctx.mesh({ namedInResult: true }); // "Dashboard of …" and its JSON name it
    const brokerUrl = savedBroker(ctx.config(), mesh);
    // A member hello, not only the broker's health: a removed member is refused here, with the
    // reason and its record in the config as every command gives it, not by the page it opens.
    (await ctx.connect(mesh)).close();
    const local = serveLocally(brokerUrl, port);
    const { stopped, signal } = untilStopped(); // before anything is printed: a Ctrl-C right after it is ours
    try {
      const keys = { publicKey: mesh.publicKey, secretKey: mesh.secretKey, meshKeys: mesh.meshKeys, brokerUrl, slug: mesh.slug, name: mesh.name, ownerPubkey: mesh.ownerPubkey };
      const { url, login } = dashboardLink({ ...mesh, brokerUrl: local.base }, { nonce: randomId(), nowMs: Date.now(), keys });
      const about = { meshId: mesh.meshId, slug: mesh.slug, memberId: mesh.memberId, role: mesh.role, expiresAt: login.expiresAt, withKeys: true, local: `${local.base}/`, broker: brokerUrl };
      const who = `Dashboard of "${mesh.name}" as ${mesh.displayName} (${mesh.role})`;
      const serving = `Served from this machine at ${local.base}/ (the broker never gets the page's keys), until you press Ctrl-C.`;
      if (printOnly) {
        const warning = linkWarning(mesh);
        ctx.out.result({ url, ...about, opened: false, warning }, () => [url, "", `${who}: the login in this link works once, within 5 minutes.`, warning, serving].join("\n"));
      } else {
        // Asking for the default browser may take seconds (xdg-settings): a stop meanwhile ends it.
        const plan = await Promise.race([choosePlan({ override: ctx.env.browser ?? undefined, desktop: ctx.env.desktop, home: ctx.env.home, runDir: join(ctx.env.configDir, "run") }), stopped]);
        if (plan === null) return ctx.out.note(STOPPED_BEFORE_OPEN);
        const print = printCommand(ctx.config(), mesh);
        if (!("openers" in plan)) throw noBrowser(plan.reason, print);
        const handoff = await handOffLink(url, plan, { stop: signal });
        if (!handoff.opened && handoff.stopped) return ctx.out.note(STOPPED_BEFORE_OPEN);
        if (!handoff.opened) throw noBrowser(handoff.reason, print);
        const { doubt } = plan;
        ctx.out.result({ ...about, opened: true }, () =>
          [
            `${who}: ${doubt ? `handed to ${handoff.via} to open in your browser` : "opened in your browser"}. The login works once, within 5 minutes.`,
            `The link carries your secret member key and the mesh keys, which never expire; the browser got it through a file only you can read (removed within ${HANDOFF_KEEP_MS / 1000} s), never on a command line.`,
            doubt
              ? `Not confirmed: ${doubt}. If the browser shows an access error instead of the dashboard (snap and flatpak browsers cannot read hidden folders), run \`${print}\` and open the link it prints yourself, or set CLAUDEMESH_BROWSER to a command that opens a file in a browser that can read it.`
              : `If the dashboard does not appear, \`${print}\` prints the link for you to open yourself.`,
            serving,
          ].join("\n"),
        );
      }
      await stopped;
    } finally {
      await local.stop();
    }
  });
}

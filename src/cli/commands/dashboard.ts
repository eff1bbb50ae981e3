// claudemesh dashboard: a one-time login link to the mesh dashboard, signed here with the member
// key (valid 5 minutes, once). The link's #fragment also carries the member key and the mesh keys,
// so that the page can read and post in #general end to end and (owners, admins) sign invites; the
// fragment never reaches the broker (see docs/security.md for what that costs).
import { randomId } from "../../crypto/hash.ts";
import { httpBase } from "../../client/http.ts";
import { dashboardLink } from "../../client/dashboard-link.ts";
import { command, type CommonArgs } from "../context.ts";

/** Starts the desktop's browser on `url`; false when there is none. Never waits for it. */
function openBrowser(url: string): boolean {
  const opener = process.platform === "darwin" ? "open" : Bun.which("xdg-open");
  if (!opener) return false;
  try {
    Bun.spawn([opener, url], { stdin: "ignore", stdout: "ignore", stderr: "ignore" }).unref();
    return true;
  } catch {
    return false;
  }
}

export async function run(args: CommonArgs & { "no-open"?: boolean }): Promise<void> {
  await command(args, async (ctx) => {
    const mesh = ctx.mesh();
    const brokerUrl = httpBase(mesh.brokerUrl);
    const keys = { publicKey: mesh.publicKey, secretKey: mesh.secretKey, meshKeys: mesh.meshKeys, brokerUrl, slug: mesh.slug, name: mesh.name, ownerPubkey: mesh.ownerPubkey };
    const { url, login } = dashboardLink({ ...mesh, brokerUrl }, { nonce: randomId(), nowMs: Date.now(), keys });
    const opened = !args["no-open"] && ctx.env.desktop && openBrowser(url);
    ctx.out.result({ url, meshId: mesh.meshId, slug: mesh.slug, memberId: mesh.memberId, role: mesh.role, expiresAt: login.expiresAt, withKeys: true, opened }, () =>
      [
        url,
        "",
        `Dashboard of "${mesh.name}" as ${mesh.displayName} (${mesh.role}): the link works once, within 5 minutes.${opened ? " Opened in your browser." : ""}`,
        "Its #fragment carries your member key and the mesh keys (for end-to-end #general and invites in the page); it never reaches the broker. Open it only in your own browser.",
      ].join("\n"),
    );
  });
}

// A broker whose operator gave it a `publicUrl` states it in `hello_ack` (protocol §2.6). A team
// that began on http://<address>:7900 and later put a TLS proxy in front learns the new URL that
// way while the old address still works: the CLI says it once for each new value, with the command
// that moves to it, and `doctor` says it whenever it runs. Nothing switches by itself: which URL
// this machine uses is its user's choice (a LAN address may be meant), and a broker is not trusted
// to send its members elsewhere.
import { brokerBase } from "./broker-url.ts";
import { changeMesh, type ConfigChange, type MeshEntry } from "./local/config-file.ts";
import { shellWord } from "./shell-word.ts";

/** The broker's stated public URL as an http(s) base when it is not `inUse` (the base this machine
 *  reached it at); null when none was stated, it is no broker URL, or it is the one in use. */
export function otherPublicUrl(stated: string | undefined, inUse: string): string | null {
  if (stated === undefined) return null;
  try {
    const { base } = brokerBase(stated);
    return base === inUse ? null : base;
  } catch {
    return null;
  }
}

/** otherPublicUrl, when `entry` was not told of it yet (its `brokerPublicUrl`): the CLI says it once. */
export const newPublicUrl = (entry: MeshEntry | undefined, stated: string | undefined, inUse: string): string | null => {
  const other = otherPublicUrl(stated, inUse);
  return entry && other !== null && entry.brokerPublicUrl !== other ? other : null;
};

/** Records that the user was told of `url`, the broker's public URL for mesh `meshId`. */
export const recordPublicUrl = (meshId: string, url: string): ConfigChange => changeMesh(meshId, (e) => (e.brokerPublicUrl === url ? null : { ...e, brokerPublicUrl: url }));

/** The command that moves a mesh to `url` (`meshOpt`: its ` --mesh …`, "" with one mesh); the URL
 *  is quoted for the shell where it needs to be (a broker's stated one can hold anything a URL's
 *  path may: `$(…)`, `;`, `'`). */
export const setBrokerCommand = (url: string, meshOpt: string) => `claudemesh set-broker ${shellWord(url)}${meshOpt}`;

/** What a public URL is worth when it came over `inUse`: over plain http:// nothing
 *  authenticates the broker, so anyone on the way could have put an address of theirs there, and
 *  set-broker's check passes a relay to the real broker too (docs/security.md, limitation 15). */
export const plainHttpCaution = (inUse: string): string =>
  inUse.startsWith("http://") ? " It came over plain http://, which anyone between this machine and the broker can alter: switch only to an address the broker's operator gives you." : "";

/** Why not to switch to `url`, a public URL stated over `inUse`, when it would drop the TLS that
 *  `inUse` has (https:// to http://; bases are http(s), brokerBase); null when it would not. Such a
 *  URL is an operator's slip or a setting left behind more often than a move, and the switch
 *  would hand the link to anyone on the way: no command to switch is offered for it. */
export const tlsDropped = (url: string, inUse: string): string | null =>
  inUse.startsWith("https://") && url.startsWith("http://")
    ? `It is plain http://, which anyone between this machine and the broker can read and alter, while ${inUse} is https://: do not switch to it. If the broker's operator did move the broker there, ask them for its https:// URL (its publicUrl may be set wrong).`
    : null;

/** What the user is told of a public URL other than the one in use. */
export const publicUrlNote = (slug: string, url: string, inUse: string, meshOpt: string): string => {
  const said = `The broker of ${slug} gives ${url} as its public URL, and this machine reaches it at ${inUse}.`;
  const dropped = tlsDropped(url, inUse);
  return dropped ? `${said} ${dropped}` : `${said} If that address is to stop working (the broker moved behind a TLS proxy, say), switch now: ${setBrokerCommand(url, meshOpt)}${plainHttpCaution(inUse)}`;
};

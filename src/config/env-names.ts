// Every CLAUDEMESH_* environment variable anything of ours reads, so that `serve` and the CLI can
// say which ones they ignore: a typo in /etc/default/claudemesh (CLAUDEMESH_PROT=80) used to leave the broker
// on its default silently, while a mistyped flag or config key stops it.
import { nearestName } from "../did-you-mean.ts";
import { SETTINGS, envName } from "./spec.ts";

/** Read by the client side (src/config/client.ts), install.sh, the release scripts (COMMIT and
 *  VERSION are also their build-time defines) and the dashboard tests (CHROMIUM, docs/dashboard.md):
 *  not settings of `serve`, but not mistakes either when found in its environment or the CLI's. */
const OTHERS = ["CLAUDEMESH_CONFIG", "CLAUDEMESH_CONFIG_DIR", "CLAUDEMESH_BROKER_URL", "CLAUDEMESH_MESH", "CLAUDEMESH_DEBUG", "CLAUDEMESH_TIMEOUT", "CLAUDEMESH_SESSION_ID", "CLAUDEMESH_BROWSER", "CLAUDEMESH_INSTALL_DIR", "CLAUDEMESH_DOWNLOAD_URL", "CLAUDEMESH_VERSION", "CLAUDEMESH_COMMIT", "CLAUDEMESH_BUN_RUNTIMES", "CLAUDEMESH_CHROMIUM"];

export const KNOWN_ENV = new Set([...SETTINGS.map((s) => envName(s.key)), ...OTHERS]);

/** The CLAUDEMESH_* names in `env` that nothing reads, each with the known name it most likely
 *  meant (or null). */
export function unknownEnv(env: Record<string, string | undefined>): { name: string; meant: string | null }[] {
  const known = [...KNOWN_ENV];
  const tail = (n: string) => n.slice("CLAUDEMESH_".length).toLowerCase().replaceAll("_", "-");
  return Object.keys(env)
    .filter((n) => n.startsWith("CLAUDEMESH_") && !KNOWN_ENV.has(n))
    .sort()
    .map((name) => {
      const near = nearestName(tail(name), known.map(tail));
      return { name, meant: near === null ? null : known.find((k) => tail(k) === near)! };
    });
}

/** One sentence for an unknown name, said by `serve` (a log line) and `serve --check`. */
export const unknownEnvText = (u: { name: string; meant: string | null }): string =>
  `${u.name} is set but is not a claudemesh variable, so it is ignored${u.meant ? ` (did you mean ${u.meant}?)` : ""}`;

// A broker served under /cm by test/helpers/prefix-proxy.ts, its publicUrl the proxy's address
// (prefix-pass.test.ts, dashboard-prefix.test.ts): the proxy and the broker; for the dashboard, also
// a mesh "shop" owned by "alice", a real browser on the proxy's origin and the owner's login link.
// Everything stops at the end of the `await using` scope: browser, broker, then proxy.
import { startBroker, type TestBroker } from "./broker.ts";
import { createTestMesh } from "./mesh.ts";
import { launchBrowser, type TestBrowser } from "./browser.ts";
import { prefixProxy, type PrefixProxy } from "./prefix-proxy.ts";
import { dashboardLink } from "../../src/client/dashboard-link.ts";
import { randomId } from "../../src/crypto/hash.ts";

export type PrefixedOptions = {
  /** How the proxy forwards (prefix-proxy.ts): strips /cm by default. */
  proxy?: Parameters<typeof prefixProxy>[1];
  /** Broker settings beside publicUrl. */
  broker?: Parameters<typeof startBroker>[0];
  /** publicUrl with a trailing slash (the broker must not double the one each route starts with). */
  slash?: boolean;
};

/** The proxy at /cm forwarding to a new broker whose publicUrl is the proxy's `base`. */
export async function prefixedBroker(opts: PrefixedOptions = {}): Promise<{ proxy: PrefixProxy; b: TestBroker; [Symbol.asyncDispose](): Promise<void> }> {
  const proxy = prefixProxy("/cm", opts.proxy);
  let b: TestBroker;
  try {
    b = await startBroker({ publicUrl: `${proxy.base}${opts.slash ? "/" : ""}`, ...opts.broker });
  } catch (err) {
    await proxy[Symbol.asyncDispose]();
    throw err;
  }
  proxy.forwardTo(b.url);
  return {
    proxy,
    b,
    async [Symbol.asyncDispose]() {
      await b[Symbol.asyncDispose]();
      await proxy[Symbol.asyncDispose]();
    },
  };
}

/** prefixedBroker, a mesh "shop" created through the proxy by its owner "alice", a browser on the
 *  proxy's origin, and the owner's dashboard login link (publicUrl's path in it). */
export async function prefixedDashboard(opts: PrefixedOptions = {}) {
  const served = await prefixedBroker(opts);
  let br: TestBrowser;
  let owner: Awaited<ReturnType<typeof createTestMesh>>["owner"];
  try {
    ({ owner } = await createTestMesh(served.proxy.base, "alice", "shop"));
    br = await launchBrowser(served.proxy.origin);
  } catch (err) {
    await served[Symbol.asyncDispose]();
    throw err;
  }
  const link = dashboardLink({ brokerUrl: served.proxy.base, meshId: owner.meshId, memberId: owner.memberId, secretKey: owner.keys.secretKey }, { nonce: randomId(), nowMs: Date.now() }).url;
  return {
    ...served,
    owner,
    br,
    link,
    async [Symbol.asyncDispose]() {
      await br[Symbol.asyncDispose]();
      await served[Symbol.asyncDispose]();
    },
  };
}

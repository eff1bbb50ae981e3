// The hooks' status as an MCP server passes it on (src/mcp/hook-status.ts): one post at a time,
// the latest status last; one not passed on (not connected, or refused) is posted again at the
// next connect, and only then; one the broker took is not posted again, except `working` to a new
// presence (the broker starts one `idle`: a laptop that slept past the grace, mid-turn).
import { expect, test } from "bun:test";
import { HookStatus } from "../../src/mcp/hook-status.ts";
import type { Status } from "../../src/protocol/fields.ts";

function link() {
  const posts: { status: Status; answer: PromiseWithResolvers<unknown> }[] = [];
  let open = false;
  const failures: Status[] = [];
  const hook = new HookStatus(
    (status) => {
      if (!open) return null;
      const answer = Promise.withResolvers<unknown>();
      posts.push({ status, answer });
      return answer.promise;
    },
    (status) => void failures.push(status),
  );
  return { hook, posts, failures, setOpen: (o: boolean) => void (open = o), sent: () => posts.map((p) => p.status) };
}

test("not connected: nothing is posted until the connection opens, then the latest status once", async () => {
  const l = link();
  await l.hook.say("working");
  await l.hook.say("idle");
  expect(l.sent()).toEqual([]);
  l.setOpen(true);
  l.hook.opened(true);
  expect(l.sent()).toEqual(["idle"]);
  l.posts[0]!.answer.resolve({});
  await Bun.sleep(0);
  l.hook.opened(true); // a later reconnect: the broker took it
  expect(l.sent()).toEqual(["idle"]);
});

test("posts go one at a time, and a hook during a post is posted after it", async () => {
  const l = link();
  l.setOpen(true);
  const first = l.hook.say("working");
  const second = l.hook.say("idle");
  expect(l.sent()).toEqual(["working"]);
  l.posts[0]!.answer.resolve({});
  await Bun.sleep(0);
  expect(l.sent()).toEqual(["working", "idle"]);
  l.posts[1]!.answer.resolve({});
  await Promise.all([first, second]);
  l.hook.opened(true);
  expect(l.sent()).toEqual(["working", "idle"]);
});

test("a refused post is said again at the next connect; a hook during the refused post is tried at once", async () => {
  const l = link();
  l.setOpen(true);
  const refused = l.hook.say("idle");
  l.posts[0]!.answer.reject(new Error("draining"));
  await refused; // never rejects
  expect({ sent: l.sent(), failures: l.failures }).toEqual({ sent: ["idle"], failures: ["idle"] });
  l.hook.opened(true);
  expect(l.sent()).toEqual(["idle", "idle"]);
  l.posts[1]!.answer.resolve({});
  await Bun.sleep(0);

  const working = l.hook.say("working");
  void l.hook.say("idle");
  l.posts[2]!.answer.reject(new Error("unknown token"));
  await Bun.sleep(0);
  expect(l.sent()).toEqual(["idle", "idle", "working", "idle"]);
  l.posts[3]!.answer.resolve({});
  await working;
  l.hook.opened(true);
  expect(l.sent()).toHaveLength(4);
});

test("working, taken, is said again when the broker made a new presence, and only then", async () => {
  const l = link();
  l.setOpen(true);
  void l.hook.say("working");
  l.posts[0]!.answer.resolve({});
  await Bun.sleep(0);
  l.hook.opened(true); // back within the grace: the broker kept it
  expect(l.sent()).toEqual(["working"]);
  l.hook.opened(false); // back after it: a new presence, idle
  expect(l.sent()).toEqual(["working", "working"]);
  l.posts[1]!.answer.resolve({});
  await Bun.sleep(0);
  void l.hook.say("idle"); // the turn ended: nothing to say again
  l.posts[2]!.answer.resolve({});
  await Bun.sleep(0);
  l.hook.opened(false);
  expect(l.sent()).toEqual(["working", "working", "idle"]);
});

test("a working status the session set itself (mesh_status) is said again to a new presence; a later one replaces it", async () => {
  const l = link();
  l.setOpen(true);
  l.hook.noted("working");
  l.hook.opened(false);
  expect(l.sent()).toEqual(["working"]);
  l.posts[0]!.answer.resolve({});
  await Bun.sleep(0);
  l.hook.noted("dnd"); // stored by the broker, kept for a new presence: nothing to say
  l.hook.opened(false);
  expect(l.sent()).toEqual(["working"]);
});

test("a new presence while a status is owed: the owed one, once", async () => {
  const l = link();
  await l.hook.say("working");
  await l.hook.say("idle"); // not connected: owed
  l.setOpen(true);
  l.hook.opened(false);
  expect(l.sent()).toEqual(["idle"]);
});

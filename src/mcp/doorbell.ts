// The channel doorbell of one session, rate-limited. Every channel notification lands in the
// model's context, so a peer sending priority-`now` messages in a loop could otherwise fill it
// (299 notifications, 1.34 M characters in 10 s). A message that does not get a notification is
// not lost: it stays pending in its MeshLink until mesh_inbox or a hook shows it, exactly like a
// message whose notification Claude Code dropped (channels off). The doorbell only decides what is
// rung.
import { channelMeta, frameMessage } from "./framing.ts";
import type { Pending } from "./mesh-link.ts";

/** Most notifications rung in a burst, and per minute once the burst is spent (a token bucket). */
export const DOORBELL_NOTIFICATIONS_PER_MINUTE = 10;
/** Most characters of notification content per minute, with the same burst: about nine full
 *  4,000-character previews. */
export const DOORBELL_CHARS_PER_MINUTE = 40_000;

/** Told to the model, once, when a message is not rung: the others wait for mesh_inbox. */
export const DOORBELL_NOTICE =
  "claudemesh: more peer messages are waiting but are not pushed here, to keep this conversation small while a peer sends many. Nothing is lost: call mesh_inbox to read them (hooks also show them).";

export type Ring = (content: string, meta: Record<string, string>) => void;

export class Doorbell {
  private notifications = DOORBELL_NOTIFICATIONS_PER_MINUTE;
  private chars = DOORBELL_CHARS_PER_MINUTE;
  private refilledAt: number;
  /** The notice was sent and the model has not read since: it is not repeated. */
  private noticed = false;

  constructor(
    private readonly ring: Ring,
    private readonly now: () => number = Date.now,
  ) {
    this.refilledAt = now();
  }

  /** Rings for `m` if the budget allows; otherwise sends the notice, once until `read()`. True if
   *  the notification carried `m` itself (its sender, id and text, a long body cut), not the notice. */
  message(m: Pending): boolean {
    this.refill();
    const content = frameMessage(m, "preview");
    if (this.notifications >= 1 && this.chars >= content.length) {
      this.notifications -= 1;
      this.chars -= content.length;
      this.ring(content, channelMeta(m));
      return true;
    }
    if (this.noticed) return false;
    this.noticed = true;
    this.ring(DOORBELL_NOTICE, {});
    return false;
  }

  /** The model read messages (a tool or a hook showed them): a later overflow is told again. */
  read(): void {
    this.noticed = false;
  }

  private refill(): void {
    const t = this.now();
    const minutes = (t - this.refilledAt) / 60_000;
    this.refilledAt = t;
    this.notifications = Math.min(DOORBELL_NOTIFICATIONS_PER_MINUTE, this.notifications + minutes * DOORBELL_NOTIFICATIONS_PER_MINUTE);
    this.chars = Math.min(DOORBELL_CHARS_PER_MINUTE, this.chars + minutes * DOORBELL_CHARS_PER_MINUTE);
  }
}
